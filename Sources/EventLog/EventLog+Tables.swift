import Foundation
import GRDB

/// Tables of one's own beside the log, in the same file: read models (projections) that
/// must commit their rows and their checkpoint together.
extension EventLog {
    /// Runs `body` in one `IMMEDIATE` write transaction of the log's file, on the log's
    /// writer: between two group commits, never at the same time as an append.
    ///
    /// For tables other than the log's own (the log's tables refuse changes through their
    /// triggers). Every append of this process waits while `body` runs: keep each call
    /// short (a few tens of milliseconds). The transaction commits when `body` returns and
    /// rolls back when it throws.
    ///
    /// - Parameter durable: `false` commits without waiting for the disk
    ///   (`synchronous=NORMAL` for this transaction only): atomic and consistent, but the
    ///   last such transactions may be lost on a power cut — for tables that can be
    ///   rebuilt from the log. The next durable commit (any append) makes them durable
    ///   too, since the WAL is written in order.
    /// - Throws: what `body` throws, ``EventLogError/readOnly(path:)``,
    ///   ``EventLogError/diskFull(path:)`` or another store error.
    public func writeTables<T: Sendable>(durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writeTablesTimed(durable: durable, body).value
    }

    /// ``writeTables(durable:_:)``, with when the commit ended, as seen in the writer (for a
    /// hold's time without the wait to resume the caller).
    public func writeTablesTimed<T: Sendable>(
        durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> (value: T, committed: ContinuousClock.Instant) {
        guard let writer else { throw EventLogError.readOnly(path: path) }
        do {
            return try await writer.withWriter { db, _ in
                // Appends share this connection: it is always back at FULL before they run.
                if !durable { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                var result: T?
                do {
                    try db.inTransaction(.immediate) {
                        result = try body(db)
                        return .commit
                    }
                } catch {
                    if !durable { try db.execute(sql: "PRAGMA synchronous = FULL") }
                    throw error
                }
                let committed = ContinuousClock.now
                if !durable { try db.execute(sql: "PRAGMA synchronous = FULL") }
                guard let result else { throw EventLogError.database(code: 1, message: "the transaction returned nothing") }
                return (result, committed)
            }
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
    }

    /// Runs `body`, a run of many large ``writeTables(durable:_:)`` transactions (a
    /// rebuild), with the WAL checkpointed between its transactions, off the writer: the
    /// run calls ``checkpointIfDue()`` after each one. Meanwhile no commit checkpoints in
    /// the writer, not even an append's. Runs may overlap; each must end (the scope does).
    public func bulkWrites<T>(_ body: () async throws -> T) async rethrows -> T {
        try await checkpoints.bulk(body)
    }

    /// In a ``bulkWrites(_:)`` run, between two transactions: once the WAL holds more than
    /// ``Configuration/bulkCheckpointPages`` pages not yet copied (64 MiB), copies it into the database file on a connection of the
    /// log's own, while appends go on in the writer. Returns the pages copied, or `nil`
    /// when none were due.
    ///
    /// - Throws: a store error.
    @discardableResult
    public func checkpointIfDue() async throws -> Int? {
        guard writer != nil else { return nil }
        do {
            return try await checkpoints.checkpointIfDue()
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
    }

    /// The events from position `from` through `through`, read inside a transaction of
    /// ``writeTables(durable:_:)`` (so nothing can be appended in between).
    public func events(from: Int64, through: Int64, in db: Database) throws -> [RecordedEvent] {
        guard through >= from else { return [] }
        return try EventRows.fetch(
            db, sql: "SELECT \(EventRows.columns) FROM events WHERE position >= ?1 AND position <= ?2 ORDER BY position",
            arguments: [from, through], catalog: catalog, expected: Int(through - from + 1))
    }

    /// The events of `stream` before position `before`, in order, read inside a
    /// transaction of ``writeTables(durable:_:)`` or ``readTables(_:)`` (for a read model
    /// that folds an event with what came before it on its stream, such as a correction).
    public func events(stream: String, before position: Int64, in db: Database) throws -> [RecordedEvent] {
        guard let streamID = try Int64.fetchOne(db, sql: "SELECT id FROM streams WHERE name = ?", arguments: [stream]) else { return [] }
        return try EventRows.fetch(
            db, sql: "SELECT \(EventRows.columns) FROM events WHERE stream_id = ?1 AND position < ?2 ORDER BY stream_version",
            arguments: [streamID, position], catalog: catalog, stream: (streamID, stream))
    }

    /// Runs `body` on a reader connection, in one snapshot of the file (WAL: never blocks
    /// the writer, and sees only committed transactions).
    ///
    /// - Throws: what `body` throws, or a store error.
    public func readTables<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await read(body)
    }

    /// Runs `body` on a reader connection outside any transaction: each statement sees the
    /// file as committed when it starts, and no snapshot is held between statements.
    ///
    /// For a long scan that first copies what it needs into a `TEMP` table of the connection
    /// in one statement, then reads that copy while the writer writes: a snapshot of the
    /// log held all along would keep WAL checkpoints from copying anything the writer wrote
    /// meanwhile, and the first commit after it ended would run the whole backlog's checkpoint.
    ///
    /// - Throws: what `body` throws, or a store error.
    public func readTablesStatementByStatement<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.unsafeRead(body)
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
    }
}

extension EventLog {
    /// Copies every committed page from the WAL into the database file and empties the WAL
    /// (`wal_checkpoint(TRUNCATE)`): after a secure delete, no old copy of the deleted rows
    /// stays in the WAL. A reader holding an older snapshot (another process) keeps the WAL
    /// from being emptied: it is tried again for up to `patience`.
    ///
    /// - Throws: ``EventLogError/database(code:message:)`` when the WAL could not be emptied.
    public func checkpointAndTruncateWAL(patience: Duration = .seconds(10)) async throws {
        guard let writer else { throw EventLogError.readOnly(path: path) }
        let deadline = ContinuousClock.now.advanced(by: patience)
        while true {
            let done: Bool
            do {
                let busyTimeout = Int(configuration.busyTimeout * 1_000)
                done = try await writer.withWriter { db, _ in
                    // A TRUNCATE checkpoint waits on the busy handler for readers to finish:
                    // not here (the writer is held meanwhile); this loop tries again instead.
                    try db.execute(sql: "PRAGMA busy_timeout = 0")
                    defer { try? db.execute(sql: "PRAGMA busy_timeout = \(busyTimeout)") }
                    // (busy, frames in the WAL, frames checkpointed): emptied when 0, 0.
                    guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") else { return false }
                    return (row[0] as Int) == 0 && (row[1] as Int) <= 0
                }
            } catch {
                throw StoreErrors.translate(error, path: path)
            }
            if done { return }
            if ContinuousClock.now >= deadline {
                throw EventLogError.database(
                    code: 5, message: "the WAL of \(path) could not be emptied: another process keeps reading an older state; run the command again when it is done")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
