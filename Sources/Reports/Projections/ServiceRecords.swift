import Foundation
import GRDB
import Treatment

/// The personal-service-settings record (DOMAIN.md, "Records law"): per procedure the
/// date, type, provider, and the lots used with their expiry. The client's name and
/// contact are read from the log (opened with the client's key) when the report is shown.
public struct ServiceRecordsProjection: Projection {
    public init() {}
    public var name: String { "records" }
    /// 2: days are local to the clinic (ClinicTime), not UTC days. 3: an old session's
    /// unreadable needle text. 4: typed amendments correct the procedure's row. 5: each lot with its manufacturer.
    /// 6: the index by day is a table filled after the load (``DeferredIndex``).
    public var version: Int { 6 }
    /// 2: `procedures_by_day` is a table (day, position).
    public var layout: Int { 2 }
    public var deferredIndexes: [DeferredIndex] { [DeferredIndex("procedures_by_day", on: "procedures", ["day", "position"])] }
    public var summary: String { "the personal-service-settings record of each procedure" }
    public var reads: Set<String> { ["TechnicianRegistered", "SessionRecorded", "TouchUpRecorded", "RecordAmended"] }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["technicians"]) (technician TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE \(tables["procedures"]) (
                position INTEGER PRIMARY KEY,
                client TEXT NOT NULL,
                day INTEGER NOT NULL,
                label TEXT NOT NULL,
                clinic TEXT NOT NULL,
                technician TEXT NOT NULL,
                supervisor TEXT NOT NULL,
                pigments TEXT NOT NULL,
                cartridges TEXT NOT NULL,
                event_id TEXT NOT NULL
            );
            -- Corrections of procedures: the record shows them beside what they correct.
            CREATE TABLE \(tables["amendments"]) (
                position INTEGER PRIMARY KEY, corrects TEXT NOT NULL, fields TEXT NOT NULL, reason TEXT NOT NULL, disputed INTEGER NOT NULL
            );
            CREATE INDEX \(tables["amendments_by_target"]) ON \(tables["amendments"]) (corrects);
            """)
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let insert = try FastStatement(db, """
            INSERT INTO \(tables["procedures"]) (position, client, day, label, clinic, technician, supervisor, pigments, cartridges, event_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for event in events {
            switch event.message {
            case let amended as Stipple_V1_RecordAmended:
                try db.run(
                    "INSERT INTO \(tables["amendments"]) (position, corrects, fields, reason, disputed) VALUES (?, ?, ?, ?, ?)",
                    [event.position, amended.correctsEventID.uppercased(), amended.fields.joined(separator: ", "), amended.reason, amended.disputed])
                if let correction = event.correction {
                    let after = correction.after
                    try db.run("""
                        UPDATE \(tables["procedures"]) SET day = ?, label = ?, clinic = ?, technician = ?, supervisor = ?, pigments = ?, cartridges = ?
                        WHERE position = ?
                        """, [after.day.daysSinceEpoch, after.label, after.clinicID, after.technicianID, after.supervisorID,
                              after.pigmentRecord, after.cartridgeRecord, correction.target])
                }
            case let registered as Stipple_V1_TechnicianRegistered:
                try db.run("INSERT OR REPLACE INTO \(tables["technicians"]) (technician, name) VALUES (?, ?)",
                           [event.subject, registered.personal.name])
            default:
                guard let procedure = event.procedure else { continue }
                try insert.run(db) { bind in
                    bind(1, event.position)
                    bind(2, event.subject)
                    bind(3, procedure.day.daysSinceEpoch)
                    bind(4, procedure.label)
                    bind(5, procedure.clinicID)
                    bind(6, procedure.technicianID)
                    bind(7, procedure.supervisorID)
                    bind(8, procedure.pigmentRecord)
                    bind(9, procedure.cartridgeRecord)
                    bind(10, event.id.uuidString)
                }
            }
        }
    }
}
