import GRDB

/// Reads streams inside a ``EventLog/transact(_:)`` decision, on the writer's own
/// connection and transaction.
///
/// It sees every committed event and the events appended earlier in the same
/// transaction. It is valid only while the decision runs; using it afterwards throws.
/// Type names it resolves are not shared with other readers (they may belong to a
/// transaction that is then rolled back).
public final class TransactionReader {
    private var db: Database?
    private let catalog: Catalog

    init(db: Database, catalog: Catalog) {
        self.db = db
        self.catalog = catalog
    }

    func close() { db = nil }

    private func database() throws -> Database {
        guard let db else {
            throw EventLogError.database(code: 21, message: "a TransactionReader was used after its decision returned")
        }
        return db
    }

    /// The current version of `stream` (0 when it has no event).
    /// Runs `body` on the write transaction's own connection: for tables beside the log
    /// that must change together with the decided events (a client's key made for the
    /// event that first needs it). Never for the log's own tables.
    public func withDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        try body(try database())
    }

    public func version(of stream: String) throws -> Int64 {
        let db = try database()
        return try Int64.fetchOne(db.cachedStatement(sql: "SELECT version FROM streams WHERE name = ?"), arguments: [stream]) ?? 0
    }

    /// The names of the streams whose names start with `prefix`, sorted (as
    /// ``EventLog/streamNames(prefix:)``, with this transaction's own new streams).
    public func streamNames(prefix: String) throws -> [String] {
        try EventLog.streamNames(prefix: prefix, try database())
    }

    /// The events of `stream` from version `from` on, oldest first (at most `limit`).
    public func read(stream: String, from version: Int64 = 1, limit: Int = Int.max) throws -> [RecordedEvent] {
        let db = try database()
        // Cached statements: a decision reads several streams, and parsing SQL each time
        // cost more than the reads (measured on command-session).
        guard let streamID = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM streams WHERE name = ?"), arguments: [stream]) else {
            return []
        }
        return try EventRows.fetch(
            db, sql: "SELECT \(EventRows.columns) FROM events WHERE stream_id = ?1 AND stream_version >= ?2 ORDER BY stream_version LIMIT ?3",
            arguments: [streamID, version, Int64(clamping: limit)], catalog: catalog, stream: (streamID, stream), shareTypeNames: false)
    }
}
