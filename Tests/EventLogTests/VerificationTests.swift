import Foundation
import GRDB
import Testing
@testable import EventLog

/// Tampering done with raw SQL, behind the triggers' back, is found by `verify` with
/// the right position and kind.
@Suite("Verification finds tampering")
struct VerificationTests {
    /// A closed log of 20 events over 4 streams; returns its path.
    func tamperableLog(_ folder: TemporaryFolder) async throws -> String {
        let log = try makeLog(folder) { $0.autoTrainThreshold = 10 }
        for index in 0..<20 {
            try await log.append(NewEvent(
                stream: "client-\(index % 4)", type: "SessionRecorded",
                metadata: EventMetadata(actor: "tech-\(index % 3)"), payload: sessionPayload(index)))
        }
        let report = try await log.verify()
        #expect(report.isIntact)
        #expect(report.eventCount == 20)
        try log.close()
        return folder.file("log.sqlite")
    }

    /// Verifies in one part and in four parts at once; both must find the same.
    func verify(_ path: String) async throws -> VerificationReport {
        let log = try EventLog(path: path)
        let whole = try await log.verify()
        let parts = try await log.verify(progress: nil, eventsPerPart: 5, maxParts: 4)
        #expect(whole.firstBreak == parts.firstBreak)
        #expect(whole.missingTriggers == parts.missingTriggers)
        #expect(whole.eventCount == parts.eventCount)
        return whole
    }

    static let dropTriggers = """
        DROP TRIGGER events_are_immutable_update; DROP TRIGGER events_are_immutable_delete;
        """

    @Test("an intact log verifies, with its head hash")
    func intact() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        let report = try await verify(path)
        #expect(report.isIntact)
        #expect(report.head.position == 20)
        #expect(report.head.hash.count == 32)
        #expect(report.head.hash != ChainHasher.genesis)
    }

    @Test("dropped triggers are reported")
    func triggersDropped() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers)
        let report = try await verify(path)
        #expect(!report.isIntact)
        #expect(report.firstBreak == nil)
        #expect(report.missingTriggers == ["events_are_immutable_update", "events_are_immutable_delete"])
    }

    @Test("a changed payload byte is found as altered at its position")
    func byteChanged() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        var payload = try #require(try rawQuery(path) { db in
            try Data.fetchOne(db, sql: "SELECT payload FROM events WHERE position = 7")
        })
        payload[payload.startIndex + 5] ^= 0x01
        try rawSQL(path, Self.dropTriggers)
        try rawSQL(path, "UPDATE events SET payload = ? WHERE position = 7", arguments: [payload])
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 7)
        #expect(report.firstBreak?.kind == .altered)
    }

    @Test("a changed metadata, type or stream name is found as altered")
    func otherColumnsChanged() async throws {
        for (sql, position) in [
            ("UPDATE events SET recorded_at = recorded_at + 1 WHERE position = 3", Int64(3)),
            ("UPDATE events SET metadata = NULL WHERE position = 12", 12),
            ("UPDATE events SET schema_version = 2 WHERE position = 20", 20),
        ] {
            let folder = try TemporaryFolder()
            let path = try await tamperableLog(folder)
            try rawSQL(path, Self.dropTriggers + sql)
            let report = try await verify(path)
            #expect(report.firstBreak?.position == position, "\(sql)")
            #expect(report.firstBreak?.kind == .altered, "\(sql)")
        }
        // A renamed stream changes every event of it: the first one breaks.
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, "DROP TRIGGER streams_keep_their_name; UPDATE streams SET name = 'client-99' WHERE name = 'client-2'")
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 3)
        #expect(report.firstBreak?.kind == .altered)
    }

    @Test("a read of an event whose stream is missing from the catalogue names the event")
    func streamMissing() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + "UPDATE events SET stream_id = 9999 WHERE position = 7")
        let log = try EventLog(path: path)
        await #expect(throws: EventLogError.corruptEvent(position: 7, reason: "its stream or type is missing from the catalogue")) {
            _ = try await log.readAll(from: 1, limit: 100)
        }
        // Events before it still read.
        #expect(try await log.readAll(from: 1, limit: 6).count == 6)
    }

    @Test("stream names come from the log at each read, not from a process-wide cache of every stream")
    func streamNamesPerRead() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        let log = try EventLog(path: path)
        #expect(try await log.readAll(from: 1, limit: 100).filter { $0.stream == "client-2" }.count == 5)
        try rawSQL(path, "DROP TRIGGER streams_keep_their_name; UPDATE streams SET name = 'client-99' WHERE name = 'client-2'")
        let renamed = try await log.readAll(from: 1, limit: 100)
        #expect(renamed.filter { $0.stream == "client-99" }.map(\.position) == [3, 7, 11, 15, 19])
        #expect(!renamed.contains { $0.stream == "client-2" })
    }

    @Test("values too wide for the hash, and empty metadata, are found as altered (no crash)", arguments: [
        "UPDATE events SET raw_length = raw_length + 4294967296 WHERE position = 7",
        "UPDATE events SET schema_version = schema_version + 4294967296, codec = codec + 4294967296 WHERE position = 7",
        "UPDATE events SET metadata = x'' WHERE position = 7",
        "UPDATE events SET raw_length = 2000000000 WHERE position = 7",
    ])
    func outOfRange(sql: String) async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + sql)
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 7)
        #expect(report.firstBreak?.kind == .altered)
        _ = try await EventLog(path: path).stats()
    }

    @Test("a dictionary changed while a process has the log open is still found")
    func dictionaryChangedUnderAnOpenLog() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        let log = try EventLog(path: path)
        #expect(try await log.verify().isIntact)
        try rawSQL(path, """
            DROP TRIGGER codecs_are_immutable_update;
            UPDATE codecs SET dictionary = zeroblob(length(dictionary)) WHERE id = 2;
            """)
        let report = try await log.verify()
        #expect(report.firstBreak?.kind == .altered)
    }

    @Test("a deleted row is found as missing at its position")
    func rowDeleted() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + "DELETE FROM events WHERE position = 9")
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 9)
        #expect(report.firstBreak?.kind == .missing)
    }

    @Test("the newest row deleted is found through its stream's version")
    func lastRowDeleted() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + "DELETE FROM events WHERE position = 20")
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 20)
        #expect(report.firstBreak?.kind == .missing)
    }

    @Test("a deleted row with the rest moved down is found as missing")
    func rowDeletedAndRenumbered() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + """
            DELETE FROM events WHERE position = 9;
            UPDATE events SET position = position - 1 WHERE position > 9;
            """)
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 9)
        #expect(report.firstBreak?.kind == .missing)
    }

    @Test("two swapped rows are found as reordered", arguments: [(Int64(5), Int64(14)), (6, 7)])
    func rowsSwapped(first: Int64, second: Int64) async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + """
            UPDATE events SET position = -1 WHERE position = \(first);
            UPDATE events SET position = \(first) WHERE position = \(second);
            UPDATE events SET position = \(second) WHERE position = -1;
            """)
        let report = try await verify(path)
        #expect(report.firstBreak?.position == first)
        #expect(report.firstBreak?.kind == .reordered)
    }

    @Test("a row put in between is found as inserted")
    func rowInserted() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        try rawSQL(path, Self.dropTriggers + """
            UPDATE events SET position = position + 1000 WHERE position >= 11;
            UPDATE events SET position = position - 999 WHERE position >= 1011;
            INSERT INTO events (position, event_id, stream_id, stream_version, type_id, schema_version, recorded_at,
                                metadata, codec, raw_length, payload, hash)
            SELECT 11, randomblob(16), stream_id, 99, type_id, 1, recorded_at, NULL, 0, 2, CAST('{}' AS BLOB), randomblob(32)
            FROM events WHERE position = 10;
            """)
        let report = try await verify(path)
        #expect(report.firstBreak?.position == 11)
        #expect(report.firstBreak?.kind == .inserted)
    }

    @Test("a changed dictionary breaks the chain of every event using it")
    func dictionaryChanged() async throws {
        let folder = try TemporaryFolder()
        let path = try await tamperableLog(folder)
        let firstUser = try rawQuery(path) { db in try Int64.fetchOne(db, sql: "SELECT min(position) FROM events WHERE codec >= 2") }
        let position = try #require(firstUser)
        try rawSQL(path, """
            DROP TRIGGER codecs_are_immutable_update;
            UPDATE codecs SET dictionary = CAST(upper(CAST(dictionary AS TEXT)) AS BLOB) WHERE id = 2;
            """)
        let report = try await verify(path)
        #expect(report.firstBreak?.position == position)
        #expect(report.firstBreak?.kind == .altered)
    }
}
