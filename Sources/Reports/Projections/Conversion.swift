import GRDB
import Treatment

/// Consultations and each client's first session, for consultation-to-first-session
/// conversion per clinic.
public struct ConversionProjection: Projection {
    public init() {}
    public var name: String { "conversion" }
    /// 2: days are local to the clinic (ClinicTime), not UTC days. 3: a typed amendment
    /// of the first session corrects its day and clinic. 4: the index by day is a table
    /// filled after the load (``DeferredIndex``).
    public var version: Int { 4 }
    /// 2: `consultations_by_day` is a table (day, position).
    public var layout: Int { 2 }
    public var deferredIndexes: [DeferredIndex] { [DeferredIndex("consultations_by_day", on: "consultations", ["day", "position"])] }
    public var summary: String { "consultations and first sessions, per clinic" }
    public var reads: Set<String> { ["ConsultationRecorded", "SessionRecorded", "RecordAmended"] }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["consultations"]) (
                position INTEGER PRIMARY KEY, client TEXT NOT NULL, clinic TEXT NOT NULL, day INTEGER NOT NULL
            );
            CREATE TABLE \(tables["first_sessions"]) (client TEXT PRIMARY KEY, day INTEGER NOT NULL, clinic TEXT NOT NULL) WITHOUT ROWID;
            """)
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let consulted = try FastStatement(db, "INSERT INTO \(tables["consultations"]) (position, client, clinic, day) VALUES (?, ?, ?, ?)")
        let first = try FastStatement(db, "INSERT OR IGNORE INTO \(tables["first_sessions"]) (client, day, clinic) VALUES (?, ?, ?)")
        for event in events {
            switch event.message {
            case let consultation as Stipple_V1_ConsultationRecorded:
                try consulted.run(db) { bind in
                    bind(1, event.position)
                    bind(2, event.subject)
                    bind(3, consultation.clinicID)
                    bind(4, event.clinicTime.day(of: consultation.consultedAt).daysSinceEpoch)
                }
            case let session as Stipple_V1_SessionRecordedV2:
                // Only the first session counts: later ones are ignored by the key.
                try first.run(db) { bind in
                    bind(1, event.subject)
                    bind(2, event.clinicTime.day(of: session.startedAt).daysSinceEpoch)
                    bind(3, session.clinicID)
                }
            default:
                guard let correction = event.correction,
                      let session = correction.procedures.first(where: { $0.kind != .touchUp }) else { continue }
                try db.run("INSERT OR REPLACE INTO \(tables["first_sessions"]) (client, day, clinic) VALUES (?, ?, ?)",
                           [event.subject, session.day.daysSinceEpoch, session.clinicID])
            }
        }
    }
}
