import Foundation
import GRDB
import Logging
import Synchronization

/// The log's one writer: gathers appends waiting at the same moment into one durable
/// transaction (group commit), and gives each caller its own result or its own error.
///
/// While a transaction commits (its fsync is the slow part), new appends queue up;
/// the next transaction takes all of them. Each job runs in its own savepoint, so a
/// job refused for a conflict rolls back alone and the others still commit. A job
/// returns only after the transaction holding it is durable.
final class GroupCommitWriter: Sendable {
    private struct Job {
        let work: Work
        let continuation: CheckedContinuation<[AppendedEvent], any Error>
    }

    /// What a job appends: events known beforehand, or events decided inside the
    /// transaction from what the streams hold at that moment.
    enum Work: Sendable {
        case events([NewEvent])
        /// Decisions taken one after another in the same job: each sees what the ones
        /// before it appended; all land or none does.
        case decide([@Sendable (TransactionReader) throws -> [NewEvent]])
    }

    private struct Queue {
        var jobs: [Job] = []
        var draining = false
    }

    private let queue = Mutex(Queue())
    private let pool: DatabasePool
    private let appender: WriterConfined<Appender>
    private let path: String
    private let catalog: Catalog
    private let afterCommit: @Sendable (Database, Appender) -> Void

    init(pool: DatabasePool, appender: Appender, catalog: Catalog, path: String, afterCommit: @escaping @Sendable (Database, Appender) -> Void) {
        self.pool = pool
        self.catalog = catalog
        self.appender = WriterConfined(appender)
        self.path = path
        self.afterCommit = afterCommit
    }

    /// Appends one job atomically; returns once it is durable.
    func append(_ work: Work) async throws -> [AppendedEvent] {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { LogMetrics.appendLatency.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started)) }
        return try await withCheckedThrowingContinuation { continuation in
            let startDraining = queue.withLock { queue in
                queue.jobs.append(Job(work: work, continuation: continuation))
                if queue.draining { return false }
                queue.draining = true
                return true
            }
            if startDraining {
                pool.asyncWriteWithoutTransaction { db in self.drain(db) }
            }
        }
    }

    /// Runs `body` on the writer, with the appender, outside any transaction.
    func withWriter<T: Sendable>(_ body: @escaping @Sendable (Database, Appender) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in try body(db, self.appender.value) }
    }

    private func drain(_ db: Database) {
        var answered = 0
        var lastCommitNanos: UInt64 = 0
        while true {
            var jobs = queue.withLock { queue in
                let jobs = queue.jobs
                queue.jobs.removeAll(keepingCapacity: true)
                if jobs.isEmpty { queue.draining = false }
                return jobs
            }
            if jobs.isEmpty { return }
            // The callers answered last time are likely coming back with their next
            // append; when fewer than three in four are back, give them up to a quarter
            // of the last commit's time (200 µs – 2 ms) to join this transaction rather
            // than paying a commit (its fsync) for a handful: over HTTP the callers come
            // back through the network stack, later than in-process ones, and batches
            // fell to a third of the connections. A lone writer (answered 1) never waits.
            let wanted = answered * 3 / 4
            if jobs.count < wanted {
                let budget = min(2_000_000, max(200_000, lastCommitNanos / 4))
                let deadline = DispatchTime.now().uptimeNanoseconds + budget
                while jobs.count < wanted, DispatchTime.now().uptimeNanoseconds < deadline {
                    usleep(20)
                    jobs += queue.withLock { queue in
                        let more = queue.jobs
                        queue.jobs.removeAll(keepingCapacity: true)
                        return more
                    }
                }
            }
            let committing = DispatchTime.now().uptimeNanoseconds
            let results = commit(jobs, in: db)
            LogMetrics.jobsPerCommit.record(jobs.count)
            LogMetrics.eventsPerCommit.record(results.reduce(0) { count, result in count + ((try? result.get())?.count ?? 0) })
            // Before answering: a process that exits right after its append (the CLI)
            // must still get its automatic dictionary training done.
            if results.contains(where: { if case .success = $0 { return true } else { return false } }) {
                afterCommit(db, appender.value)
            }
            for (job, result) in zip(jobs, results) {
                job.continuation.resume(with: result)
            }
            answered = jobs.count
            lastCommitNanos = DispatchTime.now().uptimeNanoseconds - committing
        }
    }

    private func run(_ work: Work, appender: Appender, in db: Database) throws -> [AppendedEvent] {
        switch work {
        case .events(let events):
            return try appender.append(events, in: db)
        case .decide(let decisions):
            var appended: [AppendedEvent] = []
            for decide in decisions {
                let reader = TransactionReader(db: db, catalog: catalog)
                defer { reader.close() }
                let events = try decide(reader)
                reader.close()
                appended += try appender.append(events, in: db)
            }
            return appended
        }
    }

    private func commit(_ jobs: [Job], in db: Database) -> [Result<[AppendedEvent], any Error>] {
        let appender = appender.value
        var results = [Result<[AppendedEvent], any Error>?](repeating: nil, count: jobs.count)
        do {
            try db.inTransaction(.immediate) {
                try appender.begin(db)
                if jobs.count == 1 {
                    // One job: the transaction is its savepoint.
                    results[0] = .success(try run(jobs[0].work, appender: appender, in: db))
                    return .commit
                }
                // Savepoints through cached statements: GRDB's `inSavepoint` parses its
                // SQL on every call, which costs more than a small job's insert.
                let savepoint = try db.cachedStatement(sql: "SAVEPOINT stipple_job")
                let release = try db.cachedStatement(sql: "RELEASE SAVEPOINT stipple_job")
                let rollback = try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT stipple_job")
                for (index, job) in jobs.enumerated() {
                    let head = appender.head
                    let hash = appender.headHash
                    try savepoint.execute()
                    do {
                        results[index] = .success(try run(job.work, appender: appender, in: db))
                        try release.execute()
                    } catch {
                        // A full disk or an I/O error dooms the whole transaction.
                        if StoreErrors.isFatalToTransaction(error) { throw error }
                        try rollback.execute()
                        try release.execute()
                        appender.rollBack(toHead: head, hash: hash)
                        results[index] = .failure(StoreErrors.translate(error, path: path))
                    }
                }
                return .commit
            }
        } catch {
            let translated = StoreErrors.translate(error, path: path)
            return results.map { result in
                if case .failure(let own)? = result, !StoreErrors.isFatalToTransaction(error) { return .failure(own) }
                return .failure(translated)
            }
        }
        return results.map { $0 ?? .failure(EventLogError.database(code: 1, message: "job was not run")) }
    }
}

/// A value that only the log's writer queue touches.
///
/// `@unchecked Sendable`: GRDB runs every write closure of a `DatabasePool` on one
/// serial queue, and `value` is only read inside such closures, so it is never used
/// from two threads at once.
final class WriterConfined<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Translation of SQLite's errors into ``EventLogError``.
enum StoreErrors {
    static func translate(_ error: any Error, path: String) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_FULL: return EventLogError.diskFull(path: path)
        case .SQLITE_READONLY:
            return EventLogError.readOnly(path: path)
        case .SQLITE_NOTADB: return EventLogError.notAStippleLog(path: path, reason: "it is not an SQLite database")
        case .SQLITE_CORRUPT: return EventLogError.damaged(path: path, reason: error.message ?? "database disk image is malformed")
        default:
            return EventLogError.database(code: error.extendedResultCode.rawValue, message: error.message ?? "\(error)")
        }
    }

    static func isFatalToTransaction(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        switch error.resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_NOMEM, .SQLITE_READONLY, .SQLITE_CORRUPT: return true
        default: return false
        }
    }
}
