import Foundation
import GRDB
import Testing
@testable import EventLog

@Suite("Refusals leave the log exactly as it was")
struct RefusalTests {
    @Test("a wrong expected version names the stream, the expected and the actual version")
    func versionConflict() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append([event("client-1"), event("client-1")])
        let before = try await log.head()
        do {
            try await log.append(event("client-1", expected: .exactly(1)))
            Issue.record("expected a conflict")
        } catch let error as EventLogError {
            #expect(error == .versionConflict(stream: "client-1", expected: .exactly(1), actual: 2))
            #expect(error.description.contains("\"client-1\""))
            #expect(error.description.contains("expected version 1"))
            #expect(error.description.contains("at version 2"))
        }
        await #expect(throws: EventLogError.versionConflict(stream: "client-1", expected: .noStream, actual: 2)) {
            try await log.append(event("client-1", expected: .noStream))
        }
        #expect(try await log.head() == before)
    }

    @Test("re-sending an event id with the same content returns the original position")
    func idempotentAppend() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let original = event("client-1", expected: .noStream)
        let first = try await log.append(original)
        try await log.append(event("client-1"))
        let again = try await log.append(original)
        #expect(again.position == first.position)
        #expect(again.streamVersion == 1)
        #expect(again.wasAlreadyStored)
        #expect(try await log.head().position == 2)
        // A retried batch in which every event is already stored.
        let batch = [event("client-2"), event("client-2")]
        let stored = try await log.append(batch)
        let retried = try await log.append(batch)
        #expect(retried.map(\.position) == stored.map(\.position))
        #expect(retried.allSatisfy { $0.wasAlreadyStored })
    }

    @Test("re-sending an event id with other content is refused, naming the difference")
    func eventIdReused() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let id = UUID.v7()
        try await log.append(event("client-1", id: id, data: #"{"a":1}"#))
        let before = try await log.head()
        do {
            try await log.append(event("client-1", id: id, data: #"{"a":2}"#))
            Issue.record("expected a refusal")
        } catch let EventLogError.eventIdReused(reused, position, difference) {
            #expect(reused == id)
            #expect(position == 1)
            #expect(difference == "other payload")
        }
        await #expect(throws: EventLogError.self) {
            try await log.append(event("client-2", "Other", id: id, data: #"{"a":1}"#))
        }
        #expect(try await log.head() == before)
    }

    @Test("a payload over the limit is refused with its size and the limit")
    func payloadTooLarge() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.limits.maxPayloadBytes = 1_000 }
        try await log.append(event("client-1"))
        let big = NewEvent(stream: "client-1", type: "Big", payload: [UInt8](repeating: 0x41, count: 1_001))
        await #expect(throws: EventLogError.tooLarge(id: big.id, field: "payload", size: 1_001, limit: 1_000)) {
            try await log.append([event("client-1"), big])
        }
        #expect(try await log.head().position == 1)
    }

    @Test("metadata over the limit, empty names and bad schema versions are refused")
    func invalidEvents() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.limits.maxMetadataBytes = 100 }
        let noStream = event("")
        await #expect(throws: EventLogError.invalidEvent(id: noStream.id, field: "stream", reason: "must be 1 to 200 bytes long")) {
            try await log.append(noStream)
        }
        var badSchema = event("client-1")
        badSchema.schemaVersion = 0
        await #expect(throws: EventLogError.invalidEvent(id: badSchema.id, field: "schemaVersion", reason: "must be 1 or more, not 0")) {
            try await log.append(badSchema)
        }
        let chatty = event("client-1", metadata: EventMetadata(extra: ["note": .string(String(repeating: "x", count: 200))]))
        await #expect(throws: EventLogError.self) { try await log.append(chatty) }
        #expect(try await log.head().position == 0)
    }

    @Test("names with a NUL character are refused (SQLite would cut them short)")
    func nulInNames() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append(event("a"))
        let sneaky = event("a\u{0}b")
        await #expect(throws: EventLogError.invalidEvent(id: sneaky.id, field: "stream", reason: "must not contain the NUL character")) {
            try await log.append(sneaky)
        }
        let badType = event("a", "Session\u{0}Recorded")
        await #expect(throws: EventLogError.invalidEvent(id: badType.id, field: "type", reason: "must not contain the NUL character")) {
            try await log.append(badType)
        }
        #expect(try await log.head().position == 1)
        #expect(try await log.verify().isIntact)
    }

    @Test("names are told apart by their bytes, as the database does, not by Unicode equivalence")
    func namesAreBytes() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let composed = "client-caf\u{E9}"
        let decomposed = "client-cafe\u{301}"
        #expect(composed == decomposed)  // Swift says equal…
        let appended = try await log.append([event(composed, expected: .noStream), event(decomposed, expected: .noStream)])
        #expect(appended.map(\.streamVersion) == [1, 1])  // …the log keeps two streams.
        #expect(try await log.read(stream: decomposed).count == 1)
        #expect(try await log.verify().isIntact)
    }

    @Test("the database itself refuses to update or delete events")
    func triggersGuardTheEvents() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append(event("client-1"))
        try log.close()
        let path = folder.file("log.sqlite")
        for sql in ["UPDATE events SET type_id = 2", "DELETE FROM events", "UPDATE streams SET name = 'x'",
                    "DELETE FROM codecs WHERE id = 1", "UPDATE codecs SET dictionary = x'00'"] {
            do {
                try rawSQL(path, sql)
                Issue.record("\(sql) was not refused")
            } catch let error as DatabaseError {
                #expect(error.message?.contains("immutable") == true || error.message?.contains("cannot") == true
                    || error.message?.contains("keep their name") == true, "\(sql): \(error.message ?? "")")
            }
        }
        let reopened = try EventLog(path: path)
        #expect(try await reopened.verify().isIntact)
    }

    @Test("a full disk (page limit) is reported as such and nothing is written")
    func diskFull() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.maxPageCount = 40; $0.autoTrainThreshold = 0 }
        try await log.append(event("client-1"))
        let before = try await log.head()
        let big = (0..<400).map { index in
            NewEvent(stream: "client-\(index)", type: "Bulk", payload: (0..<600).map { _ in UInt8.random(in: 0...255) })
        }
        await #expect(throws: EventLogError.diskFull(path: folder.file("log.sqlite"))) {
            try await log.append(big)
        }
        #expect(try await log.head() == before)
        // The log still works and verifies.
        try await log.append(event("client-1"))
        #expect(try await log.verify().isIntact)
    }

    @Test("a log opened read-only refuses appends")
    func readOnly() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append(event("client-1"))
        var configuration = EventLog.Configuration()
        configuration.readOnly = true
        let reader = try EventLog(path: folder.file("log.sqlite"), configuration: configuration)
        await #expect(throws: EventLogError.readOnly(path: folder.file("log.sqlite"))) {
            try await reader.append(event("client-1"))
        }
        #expect(try await reader.read(stream: "client-1").count == 1)
    }
}

@Suite("Opening files")
struct OpeningTests {
    @Test("a missing file is not created by opening")
    func missing() throws {
        let folder = try TemporaryFolder()
        #expect(throws: EventLogError.noLog(path: folder.file("none.sqlite"))) {
            try EventLog(path: folder.file("none.sqlite"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("none.sqlite")))
    }

    @Test("files that are not Stipple logs are refused and left untouched", arguments: [
        ("text", Array("hello, clinic\n".utf8), "it is not an SQLite database"),
        ("empty", [], "the file is empty"),
    ])
    func notALog(name: String, bytes: [UInt8], reason: String) throws {
        let folder = try TemporaryFolder()
        let path = folder.file(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: EventLogError.notAStippleLog(path: path, reason: reason)) { try EventLog(path: path) }
        #expect(throws: EventLogError.self) { try EventLog.create(at: path) }
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))
    }

    @Test("another application's SQLite database is refused without being modified")
    func otherDatabase() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("other.sqlite")
        try rawSQL(path, "CREATE TABLE patients (name TEXT); INSERT INTO patients VALUES ('x')")
        let before = FileManager.default.contents(atPath: path)
        #expect(throws: EventLogError.notAStippleLog(path: path, reason: "it is an SQLite database without Stipple's application id")) {
            try EventLog(path: path)
        }
        #expect(FileManager.default.contents(atPath: path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
