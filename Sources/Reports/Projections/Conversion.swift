import GRDB
import Treatment

/// Consultations and each client's first session, for consultation-to-first-session
/// conversion per clinic.
public struct ConversionProjection: Projection {
    public init() {}
    public var name: String { "conversion" }
    public var version: Int { 1 }
    public var summary: String { "consultations and first sessions, per clinic" }
    public var reads: Set<String> { ["ConsultationRecorded", "SessionRecorded"] }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["consultations"]) (
                position INTEGER PRIMARY KEY, client TEXT NOT NULL, clinic TEXT NOT NULL, day INTEGER NOT NULL
            );
            CREATE INDEX \(tables["consultations_by_day"]) ON \(tables["consultations"]) (day);
            CREATE TABLE \(tables["first_sessions"]) (client TEXT PRIMARY KEY, day INTEGER NOT NULL, clinic TEXT NOT NULL) WITHOUT ROWID;
            """)
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        for event in events {
            switch event.message {
            case let consultation as Stipple_V1_ConsultationRecorded:
                try db.run("INSERT INTO \(tables["consultations"]) (position, client, clinic, day) VALUES (?, ?, ?, ?)",
                           [event.position, event.subject, consultation.clinicID, Day(consultation.consultedAt).daysSinceEpoch])
            case let session as Stipple_V1_SessionRecordedV2:
                try db.run("INSERT OR IGNORE INTO \(tables["first_sessions"]) (client, day, clinic) VALUES (?, ?, ?)",
                           [event.subject, Day(session.startedAt).daysSinceEpoch, session.clinicID])
            default: continue
            }
        }
    }
}
