import Foundation
import GRDB
import Testing
@testable import EventLog

@Suite("Appending and reading")
struct AppendAndReadTests {
    @Test("positions are gapless from 1 and versions gapless per stream")
    func positionsAndVersions() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let first = try await log.append([event("client-1"), event("client-2"), event("client-1")])
        #expect(first.map(\.position) == [1, 2, 3])
        #expect(first.map(\.streamVersion) == [1, 1, 2])
        let second = try await log.append(event("client-2"))
        #expect(second.position == 4)
        #expect(second.streamVersion == 2)
        #expect(try await log.head().position == 4)
        #expect(try await log.streamVersion("client-1") == 2)
        #expect(try await log.streamVersion("nobody") == 0)
    }

    @Test("an event reads back exactly as appended")
    func roundTrip() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let id = UUID.v7()
        let metadata = EventMetadata(actor: "tech-1", clinic: "brampton", correlationId: "c-1", causationId: "k-9", extra: ["flag": .bool(true)])
        let appended = try await log.append(NewEvent(
            id: id, stream: "client-9", type: "ConsentSigned", schemaVersion: 2, metadata: metadata, payload: sessionPayload(3)))
        let read = try #require(try await log.read(stream: "client-9").first)
        #expect(read.position == appended.position)
        #expect(read.id == id)
        #expect(read.stream == "client-9")
        #expect(read.type == "ConsentSigned")
        #expect(read.schemaVersion == 2)
        #expect(read.payload == sessionPayload(3))
        #expect(try read.metadata() == metadata)
        #expect(read.recordedAtMicros == 1_764_000_000_123_456)
    }

    @Test("a stream reads forward and backward from a version, with a limit")
    func streamReads() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        for _ in 0..<5 { try await log.append(event("client-1")) }
        try await log.append(event("client-2"))
        #expect(try await log.read(stream: "client-1").map(\.streamVersion) == [1, 2, 3, 4, 5])
        #expect(try await log.read(stream: "client-1", from: 3, limit: 2).map(\.streamVersion) == [3, 4])
        #expect(try await log.read(stream: "client-1", direction: .backward, limit: 2).map(\.streamVersion) == [5, 4])
        #expect(try await log.read(stream: "client-1", from: 2, direction: .backward).map(\.streamVersion) == [2, 1])
        #expect(try await log.read(stream: "nobody").isEmpty)
    }

    @Test("the whole log reads in pages and as an async sequence")
    func readAll() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append((0..<250).map { event("client-\($0 % 7)") })
        #expect(try await log.readAll(from: 101, limit: 50).map(\.position) == Array(101...150))
        let all = try await allEvents(log)
        #expect(all.map(\.position) == Array(1...250))
        #expect(try await log.readAll(from: Int64.max - 10, limit: 100).isEmpty)
        #expect(try await log.readAll(from: Int64.max - 10, limit: 10_000).isEmpty)
        var pages: [[Int64]] = []
        for try await page in log.pages(from: 21, pageSize: 100) { pages.append(page.map(\.position)) }
        #expect(pages == [Array(21...120), Array(121...220), Array(221...250)])
        var fromTail: [Int64] = []
        for try await event in log.events(from: 240, pageSize: 3) { fromTail.append(event.position) }
        #expect(fromTail == Array(240...250))
    }

    @Test("stream names by prefix: by their bytes, from a range of the name index")
    func namesByPrefix() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let names = ["clinic", "clinic-a", "clinic-b", "clinic.", "clinicx", "client-1", "clinic-é", "clinic-\u{10FFFF}", "Clinic-c"]
        try await log.append(names.map { NewEvent(stream: $0, type: "ClinicOpened", payload: [1]) })
        #expect(try await log.streamNames(prefix: "clinic-") == ["clinic-a", "clinic-b", "clinic-é", "clinic-\u{10FFFF}"])
        #expect(try await log.streamNames(prefix: "clinic") == ["clinic", "clinic-a", "clinic-b", "clinic-é", "clinic-\u{10FFFF}", "clinic.", "clinicx"])
        #expect(try await log.streamNames(prefix: "").count == names.count)
        let plan = try await log.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT name FROM streams WHERE name >= ? AND name < CAST(? AS TEXT)", arguments: ["clinic-", Data("clinic.".utf8)])
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING COVERING INDEX") }, "\(plan)")
    }

    @Test("a large page, read as two halves on two connections, comes back whole and in order")
    func largePages() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append((0..<9_001).map { NewEvent(stream: "client-\($0 % 97)", type: "SessionRecorded", payload: sessionPayload($0)) })
        let page = try await log.readAll(from: 2, limit: 5_000)
        #expect(page.map(\.position) == Array(2...5_001))
        #expect(page.enumerated().allSatisfy { $0.element.payload == sessionPayload($0.offset + 1) })
        #expect(try await log.readAll(from: 8_000, limit: 5_000).map(\.position) == Array(8_000...9_001))
    }

    @Test("a batch to several streams lands whole, and a refused batch leaves nothing")
    func atomicBatch() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append([event("client-1", expected: .noStream), event("batch-L1", expected: .noStream)])
        await #expect(throws: EventLogError.versionConflict(stream: "batch-L1", expected: .noStream, actual: 1)) {
            try await log.append([event("client-1", expected: .exactly(1)), event("client-3"), event("batch-L1", expected: .noStream)])
        }
        #expect(try await log.head().position == 2)
        #expect(try await log.streamVersion("client-1") == 1)
        #expect(try await log.streamVersion("client-3") == 0)
        #expect(try await log.verify().isIntact)
    }

    @Test("the log lists every (type, schema version) it holds, and nothing of a refused append")
    func storedTypeVersions() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        var second = event("client-1", "SessionRecorded")
        second.schemaVersion = 2
        try await log.append([event("client-1", "SessionRecorded"), second, event("batch-1", "BatchRecalled")])
        var refused = event("client-1", "Painted", expected: .exactly(99))
        refused.schemaVersion = 7
        await #expect(throws: EventLogError.self) { try await log.append(refused) }
        let pairs = try await log.storedTypeVersions().map { "\($0.type)@\($0.version)" }
        #expect(pairs == ["BatchRecalled@1", "SessionRecorded@1", "SessionRecorded@2"])
    }

    @Test("events appended by another process are seen (no stale cache)")
    func twoProcessesShareTheFile() async throws {
        let folder = try TemporaryFolder()
        let first = try makeLog(folder)
        try await first.append(event("client-1"))
        let second = try EventLog(path: folder.file("log.sqlite"))
        try await second.append(event("client-1", expected: .exactly(1)))
        let third = try await first.append(event("client-1", expected: .exactly(2)))
        #expect(third.position == 3)
        #expect(try await first.verify().isIntact)
    }

    @Test("a read statement by statement sees what another connection committed between two statements; a read in one snapshot does not")
    func statementByStatement() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append(NewEvent(stream: "client-1", type: "SessionRecorded", payload: sessionPayload(1)))
        let path = folder.file("log.sqlite")
        let seen: @Sendable (String) -> @Sendable (Database) throws -> [Int] = { table in
            { db in
                let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? -1
                try rawSQL(path, "CREATE TABLE \(table) (x)")
                let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = ?", arguments: [table]) ?? -1
                return [events, tables]
            }
        }
        #expect(try await log.readTablesStatementByStatement(seen("side_one")) == [1, 1])
        #expect(try await log.readTables(seen("side_two")) == [1, 0])
    }
}
