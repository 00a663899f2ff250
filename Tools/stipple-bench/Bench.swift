import EventLog
import Foundation
import GRDBSQLite
import Recording
import SwiftProtobuf
import Treatment

/// The benchmark proper.
struct Bench {
    let folder: String

    func all(clients: Int, batchClients: Int, singles: Int, tasks: Int, perTask: Int, streamReads: Int) async throws {
        // Encode everything before any clock starts.
        var workload = W1(seed: 42)
        var bulkEvents: [NewEvent] = []
        bulkEvents.reserveCapacity(clients * 7)
        for index in 0..<clients { bulkEvents.append(contentsOf: workload.client(index)) }
        var batches: [[NewEvent]] = []
        for index in 0..<batchClients { batches.append(workload.client(clients + index)) }
        var singleEvents: [NewEvent] = []
        var next = clients + batchClients
        while singleEvents.count < singles {
            singleEvents.append(contentsOf: workload.client(next))
            next += 1
        }
        singleEvents = Array(singleEvents.prefix(singles))
        var concurrentEvents: [[NewEvent]] = []
        for _ in 0..<tasks {
            var own: [NewEvent] = []
            while own.count < perTask {
                own.append(contentsOf: workload.client(next))
                next += 1
            }
            concurrentEvents.append(Array(own.prefix(perTask)))
        }

        // append-bulk: 10,000 events per transaction.
        let bulkPath = folder + "/bulk.sqlite"
        var configuration = EventLog.Configuration()
        let log = try EventLog.create(at: bulkPath, configuration: configuration)
        let bulkSeconds = try await measure {
            var start = 0
            while start < bulkEvents.count {
                let end = min(start + 10_000, bulkEvents.count)
                try await log.append(Array(bulkEvents[start..<end]))
                start = end
            }
        }

        // The baseline inserts the very rows the log stored, through a bare statement.
        let rows = try StoredRows.load(path: bulkPath)
        let baselineBulk = try Baseline.run(rows: rows, perTransaction: 10_000, path: folder + "/baseline-bulk.sqlite")
        let baselineBatch = try Baseline.run(rows: rows.prefix(batchClients * 7), perTransaction: 7, path: folder + "/baseline-batch.sqlite")
        let baselineSingle = try Baseline.run(rows: rows.prefix(singles), perTransaction: 1, path: folder + "/baseline-single.sqlite")
        Figure(name: "sqlite-baseline-bulk", events: rows.count, seconds: baselineBulk).print()
        Figure(name: "sqlite-baseline-batch7", events: min(rows.count, batchClients * 7), seconds: baselineBatch).print()
        Figure(name: "sqlite-baseline-single", events: min(rows.count, singles), seconds: baselineSingle).print()
        let baselineBulkRate = Double(rows.count) / baselineBulk
        Figure(name: "append-bulk", events: bulkEvents.count, seconds: bulkSeconds, extra: [
            "ratioToBaseline": round3(Double(bulkEvents.count) / bulkSeconds / baselineBulkRate),
        ]).print()

        // Durable small transactions on a second log (trained on the way, like a real one).
        configuration.autoTrainThreshold = 1_000
        let small = try EventLog.create(at: folder + "/small.sqlite", configuration: configuration)
        let batchSeconds = try await measure {
            for batch in batches { try await small.append(batch) }
        }
        Figure(name: "append-batch7", events: batches.count * 7, seconds: batchSeconds, extra: [
            "ratioToBaseline": round3((Double(batches.count * 7) / batchSeconds) / (Double(min(rows.count, batchClients * 7)) / baselineBatch)),
        ]).print()
        let singleSeconds = try await measure {
            for event in singleEvents { try await small.append(event) }
        }
        let singleRate = Double(singleEvents.count) / singleSeconds
        Figure(name: "append-single", events: singleEvents.count, seconds: singleSeconds, extra: [
            "ratioToBaseline": round3(singleRate / (Double(min(rows.count, singles)) / baselineSingle)),
        ]).print()
        try await commandFigure(count: singles, singleRate: singleRate)
        let concurrentSeconds = try await measure {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for own in concurrentEvents {
                    group.addTask { for event in own { try await small.append(event) } }
                }
                try await group.waitForAll()
            }
        }
        let concurrentCount = tasks * perTask
        Figure(name: "append-concurrent", events: concurrentCount, seconds: concurrentSeconds, extra: [
            "tasks": .int(Int64(tasks)),
            "ratioToSingle": round3((Double(concurrentCount) / concurrentSeconds) / singleRate),
        ]).print()

        // Reads and verification over the big log.
        var verified: Int64 = 0
        let verifySeconds = try await measure {
            let report = try await log.verify()
            guard report.isIntact else { throw BenchError.notIntact(report.firstBreak?.description ?? "triggers") }
            verified = report.eventCount
        }
        Figure(name: "verify", events: Int(verified), seconds: verifySeconds).print()

        try await ReplayFigures.readAll(log, extra: [:]).print()

        var generator = SplitMix64(seed: 7)
        var latencies: [Double] = []
        latencies.reserveCapacity(streamReads)
        var streamEvents = 0
        let clock = ContinuousClock()
        let streamSeconds = try await measure {
            for _ in 0..<streamReads {
                let stream = bulkEvents[generator.int(0...(bulkEvents.count - 1))].stream
                let start = clock.now
                let events = try await log.read(stream: stream)
                let elapsed = clock.now - start
                latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                streamEvents += events.count
            }
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        Figure(name: "stream-read", events: streamEvents, seconds: streamSeconds, extra: [
            "reads": .int(Int64(streamReads)), "logEvents": .int(Int64(bulkEvents.count)),
            "p50Ms": round3(percentile(0.50)), "p99Ms": round3(percentile(0.99)),
        ]).print()

        let stats = try await log.stats()
        let payloadRatio = stats.codecs.reduce((0.0, 0.0)) { ($0.0 + Double($1.storedBytes), $0.1 + Double($1.rawBytes)) }
        Figure(name: "bytes-per-event", events: Int(stats.events), seconds: 0, extra: [
            "bytesPerEvent": round3(stats.bytesPerEvent), "payloadRatio": round3(payloadRatio.0 / max(payloadRatio.1, 1)),
            "rawPayloadBytesPerEvent": round3(payloadRatio.1 / Double(max(stats.events, 1))),
            "codecs": .int(Int64(stats.codecs.count)),
        ]).print()

        try log.close()
        try small.close()
        try await protobufFigures(bulkEvents)
        Figure(name: "peak-rss", events: 0, seconds: 0, extra: ["megabytes": round3(Double(peakRSSKilobytes()) / 1024)]).print()
    }

    /// `command-session`: a session decided against its client, technician and two lots
    /// inside the write transaction, then appended durably, one command at a time.
    func commandFigure(count: Int, singleRate: Double) async throws {
        let log = try EventLog.create(at: folder + "/commands.sqlite")
        let recorder = Recorder(log: log)
        let staff = EventMetadata(actor: "admin-1", clinic: "toronto")
        try await recorder.record(Stipple_V1_TechnicianRegistered(), type: "TechnicianRegistered", stream: "technician-17", metadata: staff)
        var granted = Stipple_V1_CertificationGranted()
        granted.certificationID = "C-1"
        granted.level = .certified
        granted.issuedOn = "2025-01-01"
        granted.expiresOn = "2028-01-01"
        try await recorder.record(granted, type: "CertificationGranted", stream: "technician-17", metadata: staff)
        var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
        training.completedOn = "2026-01-05"
        try await recorder.record(training, type: "BloodbornePathogensTrainingRecorded", stream: "technician-17", metadata: staff)
        for (lot, kind) in [("PB-1187", Stipple_V1_BatchKind.pigment), ("NC-0412", .cartridge)] {
            var received = Stipple_V1_BatchReceived()
            received.lot = lot
            received.kind = kind
            received.expiry = "2027-12-31"
            if kind == .cartridge {
                received.configuration = .needleConfiguration3Rl
                received.diameterMm = 0.25
            }
            try await recorder.record(received, type: "BatchReceived", stream: "batch-" + lot, metadata: staff)
        }
        var setup: [NewEvent] = []
        for client in 0..<count {
            var registered = Stipple_V1_ClientRegistered()
            registered.clientID = String(client)
            registered.clinicID = "toronto"
            var consent = Stipple_V1_ConsentSigned()
            consent.coversProcedure = true
            setup.append(try Recorder.newEvent(registered, type: "ClientRegistered", stream: "client-\(client)", expected: .any, metadata: staff))
            setup.append(try Recorder.newEvent(consent, type: "ConsentSigned", stream: "client-\(client)", expected: .any, metadata: staff))
        }
        try await log.append(setup)
        var session = Stipple_V1_SessionRecordedV2()
        session.sessionNumber = 1
        session.clinicID = "toronto"
        session.technicianID = "17"
        session.startedAt.seconds = 1_773_482_400  // 2026-03-14T10:00Z
        session.endedAt.seconds = 1_773_493_200
        session.areas = [.hairline, .crown]
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = "PB-1187"
        pigment.dilutionPercent = 30
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = "NC-0412"
        cartridge.configuration = .needleConfiguration3Rl
        cartridge.diameterMm = 0.25
        session.pigments = [pigment]
        session.cartridges = [cartridge]
        session.depthMm = 0.9
        let seconds = try await measure {
            for client in 0..<count {
                try await recorder.recordSession(client: String(client), session, metadata: staff)
            }
        }
        Figure(name: "command-session", events: count, seconds: seconds, extra: [
            "ratioToAppendSingle": round3(Double(count) / seconds / singleRate),
        ]).print()
        try log.close()
    }

    /// The treatment domain's figures: the same W1 facts as Protocol Buffers messages.
    func protobufFigures(_ events: [NewEvent]) async throws {
        // Parsed into messages before the clock: the figure counts encoding, not parsing.
        var messages: [(event: NewEvent, message: any SwiftProtobuf.Message)] = []
        messages.reserveCapacity(events.count)
        for event in events {
            let schema = try EventCatalogue.resolve(type: event.type, version: nil)
            messages.append((event, try PayloadCodec.message(fromJSON: event.payload, schema: schema)))
        }
        let log = try EventLog.create(at: folder + "/protobuf.sqlite")
        let seconds = try await measure {
            var start = 0
            while start < messages.count {
                let end = min(start + 10_000, messages.count)
                var batch: [NewEvent] = []
                batch.reserveCapacity(end - start)
                for (event, message) in messages[start..<end] {
                    var encoded = event
                    encoded.schemaVersion = EventCatalogue.newest(type: event.type)!.version
                    encoded.payload = try message.serializedBytes()
                    batch.append(encoded)
                }
                try await log.append(batch)
                start = end
            }
        }
        Figure(name: "append-bulk-encoded", events: messages.count, seconds: seconds).print()
        messages = []

        // Replay: read, decompress, decode every event into its message, fold trivially.
        try await ReplayFigures.replayDecode(log, extra: [:]).print()

        let stats = try await log.stats()
        let payloads = stats.codecs.reduce((0.0, 0.0)) { ($0.0 + Double($1.storedBytes), $0.1 + Double($1.rawBytes)) }
        Figure(name: "bytes-per-event-protobuf", events: Int(stats.events), seconds: 0, extra: [
            "bytesPerEvent": round3(stats.bytesPerEvent), "payloadRatio": round3(payloads.0 / max(payloads.1, 1)),
            "rawPayloadBytesPerEvent": round3(payloads.1 / Double(max(stats.events, 1))),
        ]).print()
        try log.close()
    }
}

/// Decodes a page on both cores; counts the events and the sessions among them.
func decodeInParallel(_ page: [RecordedEvent]) throws -> (decoded: Int, sessions: Int) {
    let results = DecodeResults()
    DispatchQueue.concurrentPerform(iterations: 2) { worker in
        let half = (page.count + 1) / 2
        var decoded = 0, sessions = 0
        var failure: (any Error)?
        for event in page[(worker * half)..<min(page.count, (worker + 1) * half)] {
            do {
                let schema = try EventCatalogue.resolve(type: event.type, version: event.schemaVersion)
                let message = try PayloadCodec.message(fromBinary: event.payload, schema: schema)
                if let session = message as? Stipple_V1_SessionRecordedV2, session.sessionNumber > 0 { sessions += 1 }
                decoded += 1
            } catch {
                failure = error
                break
            }
        }
        results.add(decoded: decoded, sessions: sessions, failure: failure)
    }
    return try results.totals()
}

/// Totals of the decoding workers.
final class DecodeResults: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var decoded = 0, sessions = 0
    private var failure: (any Error)?

    func add(decoded: Int, sessions: Int, failure: (any Error)?) {
        lock.lock()
        defer { lock.unlock() }
        self.decoded += decoded
        self.sessions += sessions
        if let failure { self.failure = failure }
    }

    func totals() throws -> (decoded: Int, sessions: Int) {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        return (decoded, sessions)
    }
}

enum BenchError: Error { case notIntact(String), sqlite(String), failed(String) }

/// The process's peak RSS so far (VmHWM), in kilobytes.
func peakRSSKilobytes() -> Int { procStatusKilobytes("VmHWM") }

/// The rows of the events table, as stored.
struct StoredRows {
    var integers: [(Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64)]
    var blobs: [([UInt8], [UInt8]?, [UInt8], [UInt8])]
    var count: Int { integers.count }

    func prefix(_ n: Int) -> StoredRows {
        StoredRows(integers: Array(integers.prefix(n)), blobs: Array(blobs.prefix(n)))
    }

    static func load(path: String) throws -> StoredRows {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else { throw BenchError.sqlite("open \(path)") }
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        sqlite3_prepare_v2(db, """
            SELECT position, stream_id, stream_version, type_id, schema_version, recorded_at, codec, raw_length,
                   event_id, metadata, payload, hash FROM events ORDER BY position
            """, -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        var rows = StoredRows(integers: [], blobs: [])
        func blob(_ index: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let base = sqlite3_column_blob(statement, index) else { return [] }
            return Array(UnsafeRawBufferPointer(start: base, count: count))
        }
        while sqlite3_step(statement) == SQLITE_ROW {
            let i = { (index: Int32) in sqlite3_column_int64(statement, index) }
            rows.integers.append((i(0), i(1), i(2), i(3), i(4), i(5), i(6), i(7)))
            rows.blobs.append((blob(8), sqlite3_column_type(statement, 9) == SQLITE_NULL ? nil : blob(9), blob(10), blob(11)))
        }
        return rows
    }
}

/// Inserts stored rows through one bare prepared statement, in the same table layout and
/// with the same `synchronous=FULL` and WAL as the log.
enum Baseline {
    static func run(rows: StoredRows, perTransaction: Int, path: String) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError.sqlite("open \(path)") }
        defer { sqlite3_close(db) }
        let setup = """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
            CREATE TABLE events (position INTEGER PRIMARY KEY, event_id BLOB NOT NULL, stream_id INTEGER NOT NULL,
              stream_version INTEGER NOT NULL, type_id INTEGER NOT NULL, schema_version INTEGER NOT NULL,
              recorded_at INTEGER NOT NULL, metadata BLOB, codec INTEGER NOT NULL, raw_length INTEGER NOT NULL,
              payload BLOB NOT NULL, hash BLOB NOT NULL);
            CREATE UNIQUE INDEX events_by_id ON events(event_id);
            CREATE UNIQUE INDEX events_by_stream ON events(stream_id, stream_version);
            """
        guard sqlite3_exec(db, setup, nil, nil, nil) == SQLITE_OK else { throw BenchError.sqlite(String(cString: sqlite3_errmsg(db))) }
        var insert: OpaquePointer?
        sqlite3_prepare_v2(db, """
            INSERT INTO events (position, stream_id, stream_version, type_id, schema_version, recorded_at, codec, raw_length,
                                event_id, metadata, payload, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, -1, &insert, nil)
        defer { sqlite3_finalize(insert) }
        // The blobs outlive each step, so they are bound without a copy (SQLITE_STATIC),
        // as the log binds them.
        let transient: sqlite3_destructor_type? = nil
        let clock = ContinuousClock()
        let start = clock.now
        var index = 0
        while index < rows.count {
            sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            let end = min(index + perTransaction, rows.count)
            for row in index..<end {
                let ints = rows.integers[row]
                let values = [ints.0, ints.1, ints.2, ints.3, ints.4, ints.5, ints.6, ints.7]
                for (offset, value) in values.enumerated() { sqlite3_bind_int64(insert, Int32(offset + 1), value) }
                let blobs = rows.blobs[row]
                blobs.0.withUnsafeBytes { _ = sqlite3_bind_blob(insert, 9, $0.baseAddress, Int32($0.count), transient) }
                if let metadata = blobs.1 {
                    metadata.withUnsafeBytes { _ = sqlite3_bind_blob(insert, 10, $0.baseAddress, Int32($0.count), transient) }
                } else {
                    sqlite3_bind_null(insert, 10)
                }
                blobs.2.withUnsafeBytes { _ = sqlite3_bind_blob(insert, 11, $0.baseAddress, Int32($0.count), transient) }
                blobs.3.withUnsafeBytes { _ = sqlite3_bind_blob(insert, 12, $0.baseAddress, Int32($0.count), transient) }
                guard sqlite3_step(insert) == SQLITE_DONE else { throw BenchError.sqlite(String(cString: sqlite3_errmsg(db))) }
                sqlite3_reset(insert)
            }
            guard sqlite3_exec(db, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw BenchError.sqlite(String(cString: sqlite3_errmsg(db))) }
            index = end
        }
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
