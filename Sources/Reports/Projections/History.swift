import Foundation
import GRDB
import Treatment

/// The client timeline: which events make each client's history, in log order. The
/// events themselves stay in the log (read by position when a history is asked, decoded
/// and upcast like any read): no second copy of a client's record, and nothing of it to
/// purge here when the client's personal data is erased.
public struct HistoryProjection: Projection {
    public init() {}
    public var name: String { "history" }
    public var version: Int { 1 }
    public var summary: String { "which events make each client's timeline, for `stipple history`" }
    public var reads: Set<String> { clientEventTypes }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["timeline"]) (
                client TEXT NOT NULL,
                position INTEGER NOT NULL,
                recorded_at INTEGER NOT NULL,
                PRIMARY KEY (client, position)
            ) WITHOUT ROWID;
            """)
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let insert = try FastStatement(db, "INSERT INTO \(tables["timeline"]) (client, position, recorded_at) VALUES (?, ?, ?)")
        for event in events where StreamCategory(stream: event.stream) == .client {
            try insert.run(db) { bind in
                bind(1, event.subject)
                bind(2, event.position)
                bind(3, event.recordedAtMicros)
            }
        }
    }
}
