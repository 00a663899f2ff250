import Foundation
import GRDB
import Treatment

/// The client timeline: every event of every client stream, in log order, with its
/// payload at the newest schema (so the report never upcasts), by client.
public struct HistoryProjection: Projection {
    public init() {}
    public var name: String { "history" }
    public var version: Int { 1 }
    public var summary: String { "every event of each client, for `stipple history`" }
    public var reads: Set<String> { clientEventTypes }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["timeline"]) (
                position INTEGER PRIMARY KEY,
                client TEXT NOT NULL,
                event_id BLOB NOT NULL,
                type TEXT NOT NULL,
                recorded_at INTEGER NOT NULL,
                actor TEXT NOT NULL,
                payload BLOB NOT NULL
            );
            CREATE INDEX \(tables["timeline_by_client"]) ON \(tables["timeline"]) (client, position);
            """)
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO \(tables["timeline"]) (position, client, event_id, type, recorded_at, actor, payload) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for event in events where event.stream.hasPrefix("client-") {
            try insert.execute(arguments: [
                event.position, event.subject, withUnsafeBytes(of: event.id.uuid) { Data($0) }, event.type,
                event.recordedAtMicros, event.actor, Data(event.payload),
            ])
        }
    }
}
