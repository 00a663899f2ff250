import Foundation
import GRDB
import Testing
@testable import EventLog

@Suite("Deciding inside the write transaction")
struct TransactTests {
    struct Refused: Error, Equatable { var reason: String }

    @Test("decisions read the streams as they are, so concurrent deciders never collide")
    func consistentDecisions() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await log.transact { reader in
                        // A counter: the next number is one more than the events so far.
                        let version = try reader.version(of: "counter-1")
                        #expect(try reader.read(stream: "counter-1").count == Int(version))
                        return [event("counter-1", "Counted", expected: .exactly(version), data: #"{"n":\#(version + 1)}"#)]
                    }
                }
            }
            try await group.waitForAll()
        }
        let counted = try await log.read(stream: "counter-1").map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(counted == (1...40).map { #"{"n":\#($0)}"# })
        #expect(try await log.verify().isIntact)
    }

    @Test("a decision that refuses writes nothing and reports its own error; others go on")
    func refusal() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append(event("batch-L1", "BatchRecalled"))
        let refused = Task {
            try await log.transact { reader in
                let history = try reader.read(stream: "batch-L1")
                if history.contains(where: { $0.type == "BatchRecalled" }) { throw Refused(reason: "lot L1 is recalled") }
                return [event("client-1", "SessionRecorded")]
            }
        }
        let accepted = Task { try await log.transact { _ in [event("client-2", "SessionRecorded")] } }
        await #expect(throws: Refused(reason: "lot L1 is recalled")) { try await refused.value }
        #expect(try await accepted.value.count == 1)
        #expect(try await log.streamVersion("client-1") == 0)
        #expect(try await log.head().position == 2)
    }

    @Test("a reader kept past its decision refuses to read")
    func readerExpires() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        let kept = Kept()
        try await log.transact { reader in
            kept.reader = reader
            return [event("client-1")]
        }
        #expect(throws: EventLogError.self) { try kept.reader?.version(of: "client-1") }
    }

    final class Kept: @unchecked Sendable {
        // Only touched by the test, one step after another.
        var reader: TransactionReader?
    }
}

@Suite("Tables beside the log")
struct TablesBesideTheLogTests {
    @Test("a log waits for the disk from its first write, created or opened (GRDB's WAL set-up would leave it at NORMAL)")
    func durableFromTheStart() async throws {
        let folder = try TemporaryFolder("stipple-tables")
        let created = try EventLog.create(at: folder.file("log.sqlite"))
        #expect(try await created.writeTables { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
        try created.close()
        let opened = try EventLog(path: folder.file("log.sqlite"))
        #expect(try await opened.writeTables { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
    }

    @Test("a non-durable write of one's own tables leaves the writer durable for the appends that follow")
    func nonDurableWriteRestoresFull() async throws {
        let folder = try TemporaryFolder("stipple-tables")
        let log = try EventLog.create(at: folder.file("log.sqlite"))
        let during = try await log.writeTables(durable: false) { db in
            try db.execute(sql: "CREATE TABLE mine (x INTEGER)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        #expect(during == 1)
        #expect(try await log.writeTables { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
        // Also after a failing body.
        await #expect(throws: (any Error).self) {
            try await log.writeTables(durable: false) { db in try db.execute(sql: "INSERT INTO nowhere VALUES (1)") }
        }
        #expect(try await log.writeTables { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
        // The log's own rows refuse changes from here too.
        try await log.append(NewEvent(stream: "s-1", type: "T", expectedVersion: .any, payload: Array("{}".utf8)))
        await #expect(throws: (any Error).self) {
            try await log.writeTables { db in try db.execute(sql: "DELETE FROM events") }
        }
        #expect(try await log.head().position == 1)
    }
}
