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
    /// - Throws: what `body` throws, ``EventLogError/readOnly(path:)``,
    ///   ``EventLogError/diskFull(path:)`` or another store error.
    public func writeTables<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        guard let writer else { throw EventLogError.readOnly(path: path) }
        do {
            return try await writer.withWriter { db, _ in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
    }

    /// Runs `body` on a reader connection, in one snapshot of the file (WAL: never blocks
    /// the writer, and sees only committed transactions).
    ///
    /// - Throws: what `body` throws, or a store error.
    public func readTables<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await read(body)
    }
}
