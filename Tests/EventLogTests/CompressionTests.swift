import CLZ4
import Foundation
import GRDB
import Testing
@testable import EventLog

@Suite("Compression")
struct CompressionTests {
    @Test("the log trains a dictionary at its threshold; older events keep their codec")
    func automaticTraining() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.autoTrainThreshold = 100 }
        try await log.append((0..<99).map { NewEvent(stream: "client-\($0 % 9)", type: "SessionRecorded", payload: sessionPayload($0)) })
        #expect(try await log.stats().codecs.count == 2)
        try await log.append(NewEvent(stream: "client-1", type: "SessionRecorded", payload: sessionPayload(99)))
        let trained = try await log.stats()
        #expect(trained.codecs.count == 3)
        #expect(trained.currentCodec == 2)
        #expect(trained.codecs[2].events == 0)
        try await log.append((100..<300).map { NewEvent(stream: "client-\($0 % 9)", type: "SessionRecorded", payload: sessionPayload($0)) })
        let stats = try await log.stats()
        let plain = try #require(stats.codecs.first { $0.id == Codec.plainLZ4ID })
        let dictionary = try #require(stats.codecs.first { $0.id == 2 })
        #expect(plain.events == 100)
        #expect(dictionary.events == 200)
        #expect(dictionary.ratio < 0.35, "dictionary ratio \(dictionary.ratio)")
        #expect(dictionary.ratio < plain.ratio / 2)
        // Everything still reads back and verifies.
        let all = try await allEvents(log)
        #expect(all.enumerated().allSatisfy { $0.element.payload == sessionPayload($0.offset) })
        #expect(try await log.verify().isIntact)
    }

    @Test("training by hand makes a new codec and reports the ratios")
    func trainingByHand() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.autoTrainThreshold = 0 }
        #expect(try await log.trainDictionary() == nil)
        try await log.append((0..<50).map { NewEvent(stream: "client-\($0)", type: "SessionRecorded", payload: sessionPayload($0)) })
        let report = try #require(try await log.trainDictionary())
        #expect(report.codecID == 2)
        #expect(report.samples == 50)
        #expect(report.ratioAfter < report.ratioBefore)
        let second = try #require(try await log.trainDictionary())
        #expect(second.codecID == 3)
    }

    @Test("a stored payload decodes with the stock LZ4 library and the stored dictionary")
    func stockLZ4Decodes() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.autoTrainThreshold = 20 }
        try await log.append((0..<20).map { NewEvent(stream: "client-\($0)", type: "SessionRecorded", payload: sessionPayload($0)) })
        try await log.append(NewEvent(
            stream: "client-x", type: "SessionRecorded", metadata: EventMetadata(actor: "tech-3"), payload: sessionPayload(77)))
        try log.close()
        // What the sqlite3 shell would show: the row and its codec's dictionary.
        let (payload, metadata, rawLength, dictionary, kind) = try rawQuery(folder.file("log.sqlite")) { db in
            let row = try #require(try Row.fetchOne(db, sql: """
                SELECT e.payload, e.metadata, e.raw_length, c.dictionary, c.kind
                FROM events e JOIN codecs c ON c.id = e.codec WHERE e.position = 21
                """))
            return (Array(row[0] as Data), Array(row[1] as Data), row[2] as Int, Array(row[3] as Data), row[4] as String)
        }
        #expect(kind == "lz4-dict")
        #expect(payload.count < rawLength / 2)
        // Straight through liblz4's C API, not the Swift codec.
        func decompress(_ source: [UInt8], capacity: Int) -> [UInt8] {
            var output = [UInt8](repeating: 0, count: capacity)
            let written = source.withUnsafeBytes { src in
                dictionary.withUnsafeBytes { dict in
                    output.withUnsafeMutableBytes { dst in
                        LZ4_decompress_safe_usingDict(
                            src.baseAddress!.assumingMemoryBound(to: CChar.self), dst.baseAddress!.assumingMemoryBound(to: CChar.self),
                            Int32(src.count), Int32(capacity), dict.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(dict.count))
                    }
                }
            }
            return written >= 0 ? Array(output.prefix(Int(written))) : []
        }
        #expect(decompress(payload, capacity: rawLength) == sessionPayload(77))
        #expect(String(decoding: decompress(metadata, capacity: 65_536), as: UTF8.self) == #"{"actor":"tech-3"}"#)
    }

    @Test("the trainer keeps what recurs and stays within its size")
    func trainer() {
        let samples = (0..<500).map { sessionPayload($0) }
        let dictionary = DictionaryTrainer.train(samples: samples, size: 4_096)
        #expect(dictionary.count <= 4_096)
        #expect(dictionary.count > 3_000)
        #expect(DictionaryTrainer.train(samples: [], size: 4_096).isEmpty)
        #expect(DictionaryTrainer.train(samples: samples, size: 4_096) == dictionary)
    }

    @Test("a large job, compressed on a helper thread, stores the same bytes as one event at a time")
    func parallelEncoding() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.autoTrainThreshold = 100 }
        try await log.append((0..<100).map { NewEvent(stream: "client-\($0 % 9)", type: "SessionRecorded", payload: sessionPayload($0)) })
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let big = (0..<1_000).map { index in
            NewEvent(
                stream: "client-\(index % 13)", type: "SessionRecorded",
                metadata: index % 3 == 0 ? EventMetadata() : EventMetadata(actor: "tech-\(index % 7)", extra: ["n": .int(Int64(index))]),
                payload: index == 500 ? noise : sessionPayload(index))
        }
        #expect(big.count >= Appender.parallelEncodingThreshold)
        try await log.append(big)
        // The same events, one job each, into a second log trained on the same history.
        let twin = try makeLog(folder, name: "twin.sqlite") { $0.autoTrainThreshold = 100 }
        try await twin.append((0..<100).map { NewEvent(stream: "client-\($0 % 9)", type: "SessionRecorded", payload: sessionPayload($0)) })
        for event in big.prefix(200) { try await twin.append(event) }
        let stored = try await log.readAll(from: 101, limit: 1_000)
        #expect(stored.map(\.payload) == big.map(\.payload))
        #expect(try stored.map { try $0.metadata() } == big.map(\.metadata))
        let single = try await twin.readAll(from: 101, limit: 200)
        #expect(single.map(\.payload) == stored.prefix(200).map(\.payload))
        let sizes = { (path: String) in
            try rawQuery(path) { db in try Row.fetchAll(db, sql: "SELECT codec, length(payload), length(metadata) FROM events WHERE position BETWEEN 101 AND 300 ORDER BY position").map { "\($0[0] as Int)/\($0[1] as Int)/\(($0[2] as Int?) ?? -1)" } }
        }
        #expect(try sizes(folder.file("log.sqlite")) == sizes(folder.file("twin.sqlite")))
        #expect(try await log.verify().isIntact)
        #expect(try await log.stats().codecs[0].events == 1)
    }

    @Test("incompressible payloads are stored raw under codec 0")
    func rawWhenNotSmaller() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try await log.append(NewEvent(stream: "s", type: "Noise", payload: noise))
        let stats = try await log.stats()
        #expect(stats.codecs[0].events == 1)
        #expect(try await log.read(stream: "s").first?.payload == noise)
    }
}

@Suite("Canonical JSON")
struct CanonicalJSONTests {
    @Test("keys are sorted, white space dropped, numbers kept exact")
    func canonical() throws {
        let value = try JSONValue.parse(#" { "b" : [1, 2.5, -3, 1e2], "a": {"z": null, "y": true}, "c": "é\n\"" } "#)
        #expect(value.canonicalString == #"{"a":{"y":true,"z":null},"b":[1,2.5,-3,100],"c":"é\n\""}"#)
        #expect(try JSONValue.parse(value.canonicalBytes) == value)
    }

    @Test("text that is not JSON is refused with the parser's reason")
    func invalid() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse("{\"a\":") }
    }
}
