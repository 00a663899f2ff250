import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing
@testable import EventLog

@Suite("WAL checkpoints: in the writer for appends, off it during bulk runs")
struct CheckpointTests {
    /// One transaction writing about `pages` pages of 4 KiB (one row of 3,000 random bytes each).
    static func fill(_ log: EventLog, pages: Int) async throws {
        try await log.writeTables { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS filler (b BLOB)")
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(pages))
                INSERT INTO filler SELECT randomblob(3000) FROM n
                """)
        }
    }

    struct NeverHappened: Error {}

    /// Waits for `condition`, 20 s at most (then the test fails instead of hanging).
    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<4_000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw NeverHappened()
    }

    /// Starts a transaction that holds the log's writer (it has written a row of `filler`)
    /// until the function returned is called; that function says whether the transaction
    /// was held until then (`false`: it gave up after 20 s, so what ran meanwhile waited
    /// for it).
    static func holdWriter(_ log: EventLog) async throws -> @Sendable () async throws -> Bool {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let held = Task {
            try await log.writeTables { db in
                try db.execute(sql: "INSERT INTO filler VALUES (x'00')")
                started.signal()
                return release.wait(timeout: .now() + 20) == .success
            }
        }
        try await waitUntil { started.wait(timeout: .now()) == .success }
        return {
            release.signal()
            return try await held.value
        }
    }

    static func walBytes(_ log: EventLog) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: log.path + "-wal")
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    @Test("outside a bulk run a commit past 1,000 WAL pages checkpoints at once, so the WAL starts over and stays one transaction long")
    func appendsCheckpointInTheWriter() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.bulkCheckpointPages = 500 }
        try await Self.fill(log, pages: 1_200)
        let one = try Self.walBytes(log)
        for _ in 0..<3 { try await Self.fill(log, pages: 1_200) }
        try await log.append(event("client-1"))
        #expect(try Self.walBytes(log) < one * 3 / 2)
        // The writer copied everything: nothing is left for a bulk run's checkpoint.
        #expect(try await log.checkpointIfDue() == nil)
        #expect(try await log.verify().isIntact)
    }

    @Test("in a bulk run no commit checkpoints; checkpointIfDue copies the whole WAL once it is past the limit, and the WAL starts over")
    func bulkRunsCheckpointBetweenTransactions() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.bulkCheckpointPages = 3_000 }
        try await log.bulkWrites {
            try await Self.fill(log, pages: 1_200)
            let one = try Self.walBytes(log)
            try await Self.fill(log, pages: 1_200)
            try await log.append(event("client-1"))
            // Past SQLite's threshold twice, yet nothing was copied: the WAL holds both.
            #expect(try Self.walBytes(log) > one * 3 / 2)
            // Under the run's limit: not due.
            #expect(try await log.checkpointIfDue() == nil)
            try await Self.fill(log, pages: 1_200)
            let grown = try Self.walBytes(log)
            let copied = try #require(try await log.checkpointIfDue())
            #expect(copied > 3_000)
            // Everything was copied: the next transactions write the WAL from its start.
            #expect(try await log.checkpointIfDue() == nil)
            try await Self.fill(log, pages: 1_200)
            #expect(try Self.walBytes(log) == grown)
        }
        let events = try await allEvents(log)
        #expect(events.map(\.stream) == ["client-1"])
        #expect(try await log.verify().isIntact)
    }

    @Test("a bulk run's checkpoint does not wait for the writer: it finishes while a transaction holds it")
    func checkpointBesideTheWriter() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.bulkCheckpointPages = 500 }
        try await log.bulkWrites {
            try await Self.fill(log, pages: 1_200)
            let finish = try await Self.holdWriter(log)
            let copied = try await log.checkpointIfDue()
            #expect(try await finish())
            #expect((copied ?? 0) >= 1_200)
        }
    }

    @Test("a bulk run's checkpoint that meets another connection's checkpoint leaves it to that one and says none ran")
    func checkpointBusyElsewhere() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder) { $0.bulkCheckpointPages = 500 }
        try await log.bulkWrites {
            try await Self.fill(log, pages: 1_200)
            // Another process's checkpoint: a FULL one waits for the write lock this log's
            // writer holds, holding the checkpoint lock meanwhile.
            let finish = try await Self.holdWriter(log)
            let waiting = Atomic(false)
            var configuration = GRDB.Configuration()
            configuration.busyMode = .callback { _ in
                waiting.store(true, ordering: .sequentiallyConsistent)
                usleep(1_000)
                return true
            }
            let other = try DatabaseQueue(path: log.path, configuration: configuration)
            let outsider = Task { try await other.writeWithoutTransaction { db in try db.checkpoint(.full) } }
            try await Self.waitUntil { waiting.load(ordering: .sequentiallyConsistent) }
            #expect(try await log.checkpointIfDue() == nil)
            #expect(try await finish())
            let (_, copied) = try await outsider.value
            #expect(copied >= 1_200)
            try other.close()
        }
        #expect(try await log.verify().isIntact)
    }
}
