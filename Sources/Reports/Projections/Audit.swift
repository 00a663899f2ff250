import Foundation
import GRDB
import SwiftProtobuf
import Treatment

/// The certification audit: every session and touch-up with its findings
/// (``AuditFindings``), kept current as technicians' and lots' events arrive — a
/// suspension dated back, or a recall, re-checks the procedures it reaches.
public struct AuditProjection: Projection {
    public init() {}
    public var name: String { "audit" }
    /// 2: days are local to the clinic (ClinicTime), not UTC days. 3: a technician's
    /// hepatitis B status on file is checked. 4: typed amendments re-check a procedure
    /// with its corrected technician, supervisor, day and lots. 5: the index by day is a
    /// table filled after the load (``DeferredIndex``).
    public var version: Int { 5 }
    /// 2: `procedures_by_day` is a table (day, position).
    public var layout: Int { 2 }
    public var deferredIndexes: [DeferredIndex] { [DeferredIndex("procedures_by_day", on: "procedures", ["day", "position"])] }
    public var summary: String { "each procedure checked against certification, supervision, training, consent and lots" }
    static let technicianTypes: Set<String> = [
        "TechnicianRegistered", "CertificationGranted", "CertificationRenewed", "CertificationSuspended",
        "CertificationRevoked", "BloodbornePathogensTrainingRecorded", "HepatitisBStatusRecorded",
    ]
    static let lotTypes: Set<String> = ["BatchReceived", "BatchRecalled", "BatchDiscarded"]
    public var reads: Set<String> {
        Self.technicianTypes.union(Self.lotTypes).union(["ConsentSigned", "SessionRecorded", "TouchUpRecorded", "RecordAmended"])
    }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["procedures"]) (
                position INTEGER PRIMARY KEY,
                client TEXT NOT NULL,
                label TEXT NOT NULL,
                clinic TEXT NOT NULL,
                technician TEXT NOT NULL,
                supervisor TEXT NOT NULL,
                day INTEGER NOT NULL,
                pigment_lots TEXT NOT NULL,
                cartridge_lots TEXT NOT NULL,
                consent INTEGER NOT NULL,
                findings INTEGER NOT NULL
            );
            CREATE INDEX \(tables["procedures_by_technician"]) ON \(tables["procedures"]) (technician, day);
            CREATE INDEX \(tables["procedures_by_supervisor"]) ON \(tables["procedures"]) (supervisor, day) WHERE supervisor <> '';
            CREATE TABLE \(tables["technician_events"]) (
                technician TEXT NOT NULL, position INTEGER NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL,
                PRIMARY KEY (technician, position)
            ) WITHOUT ROWID;
            CREATE TABLE \(tables["lot_events"]) (
                lot TEXT NOT NULL, position INTEGER NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL,
                PRIMARY KEY (lot, position)
            ) WITHOUT ROWID;
            CREATE TABLE \(tables["consents"]) (client TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE \(tables["lot_first_use"]) (lot TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
            """)
    }

    /// States folded from the projection's own tables, kept between chunks.
    final class Cache {
        var technicians: [String: TechnicianState?] = [:]
        var lots: [String: BatchState?] = [:]
        var consent: [String: Bool] = [:]
        var lotsSeen: Set<String> = []
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let cache = memory.cache { Cache() }
        // Bounded: the technicians and lots are few, clients are not.
        if cache.consent.count > 100_000 { cache.consent.removeAll(keepingCapacity: true) }
        if cache.lotsSeen.count > 100_000 { cache.lotsSeen.removeAll(keepingCapacity: true) }
        let states = States(tables: tables, db: db, cache: cache)
        let insert = try FastStatement(db, """
            INSERT INTO \(tables["procedures"])
                (position, client, label, clinic, technician, supervisor, day, pigment_lots, cartridge_lots, consent, findings)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let firstUse = try FastStatement(db, "INSERT OR IGNORE INTO \(tables["lot_first_use"]) (lot, position) VALUES (?, ?)")
        for event in events {
            if let correction = event.correction {
                try correct(correction, states: states, tables: tables, in: db)
            } else if let procedure = event.procedure {
                let client = event.subject
                let audited = AuditedProcedure(
                    technicianID: procedure.technicianID, supervisorID: procedure.supervisorID, day: procedure.day,
                    pigmentLots: procedure.pigments.map(\.lotID), cartridgeLots: procedure.cartridges.map(\.lotID),
                    consentOnFile: try states.consent(client), time: event.clinicTime)
                let findings = try states.findings(audited)
                try insert.run(db) { bind in
                    bind(1, event.position)
                    bind(2, client)
                    bind(3, procedure.label)
                    bind(4, procedure.clinicID)
                    bind(5, procedure.technicianID)
                    bind(6, procedure.supervisorID)
                    bind(7, procedure.day.daysSinceEpoch)
                    bind(8, audited.pigmentLots.joined(separator: ","))
                    bind(9, audited.cartridgeLots.joined(separator: ","))
                    bind(10, audited.consentOnFile)
                    bind(11, findings.rawValue)
                }
                for lot in audited.pigmentLots + audited.cartridgeLots where !cache.lotsSeen.contains(lot) {
                    try firstUse.run(db) { bind in
                        bind(1, lot)
                        bind(2, event.position)
                    }
                    cache.lotsSeen.insert(lot)
                }
            } else if let consent = event.message as? Stipple_V1_ConsentSigned {
                guard consent.coversProcedure, try !states.consent(event.subject) else { continue }
                try db.run("INSERT OR IGNORE INTO \(tables["consents"]) (client, position) VALUES (?, ?)", [event.subject, event.position])
                cache.consent[event.subject] = true
            } else if Self.technicianTypes.contains(event.type) {
                let technician = event.subject
                try db.run("INSERT INTO \(tables["technician_events"]) (technician, position, type, payload) VALUES (?, ?, ?, ?)",
                           [technician, event.position, event.type, Data(event.payload)])
                var state = try states.technician(technician) ?? TechnicianState()
                state.apply(type: event.type, message: event.message, id: event.id)
                cache.technicians.updateValue(state, forKey: technician)
                try states.recheck(
                    where: "(technician = ?1 OR supervisor = ?1) AND day >= ?2",
                    [technician, Self.firstDayAffected(by: event.message)?.daysSinceEpoch ?? Int.min])
            } else if Self.lotTypes.contains(event.type) {
                let lot = event.subject
                try db.run("INSERT INTO \(tables["lot_events"]) (lot, position, type, payload) VALUES (?, ?, ?, ?)",
                           [lot, event.position, event.type, Data(event.payload)])
                var state = try states.lot(lot) ?? BatchState()
                state.apply(type: event.type, message: event.message, id: event.id)
                cache.lots.updateValue(state, forKey: lot)
                let findFirstUse = try db.cachedStatement(sql: "SELECT position FROM \(tables["lot_first_use"]) WHERE lot = ?")
                if let first = try Int64.fetchOne(findFirstUse, arguments: [lot]) {
                    try states.recheck(
                        where: "position >= ?1 AND day >= ?2 AND (instr(',' || pigment_lots || ',', ?3) > 0 OR instr(',' || cartridge_lots || ',', ?3) > 0)",
                        [first, Self.firstDayAffected(by: event.message)?.daysSinceEpoch ?? Int.min, "," + lot + ","])
                }
            }
        }
    }

    /// Stores a procedure's corrected technician, supervisor, day and lots, checked again
    /// (its consent on file stays as it was when it was done).
    func correct(_ correction: Correction, states: States, tables: TableNames, in db: Database) throws {
        let procedures = tables["procedures"]
        guard let row = try Row.fetchOne(db, sql: "SELECT consent FROM \(procedures) WHERE position = ?", arguments: [correction.target]) else { return }
        let after = correction.after
        let audited = AuditedProcedure(
            technicianID: after.technicianID, supervisorID: after.supervisorID, day: after.day,
            pigmentLots: after.pigments.map(\.lotID), cartridgeLots: after.cartridges.map(\.lotID),
            consentOnFile: row["consent"], time: after.time)
        let findings = try states.findings(audited)
        try db.run("""
            UPDATE \(procedures) SET label = ?, clinic = ?, technician = ?, supervisor = ?, day = ?, pigment_lots = ?, cartridge_lots = ?, findings = ?
            WHERE position = ?
            """, [after.label, after.clinicID, after.technicianID, after.supervisorID, after.day.daysSinceEpoch,
                  audited.pigmentLots.joined(separator: ","), audited.cartridgeLots.joined(separator: ","), findings.rawValue, correction.target])
        // A lot first used by the corrected procedure: later events of it re-check from there.
        for lot in audited.pigmentLots + audited.cartridgeLots {
            try db.run("""
                INSERT INTO \(tables["lot_first_use"]) (lot, position) VALUES (?, ?)
                ON CONFLICT (lot) DO UPDATE SET position = min(position, excluded.position)
                """, [lot, correction.target])
            states.cache.lotsSeen.insert(lot)
        }
    }

    /// The first day whose verdicts an event can change (`nil`: any day).
    static func firstDayAffected(by message: any SwiftProtobuf.Message) -> Day? {
        switch message {
        case let granted as Stipple_V1_CertificationGranted: return Day(granted.issuedOn)
        case let renewed as Stipple_V1_CertificationRenewed:
            // A renewal without a day in force from the old expiry: recheck from any day.
            return Day(renewed.renewedOn)
        case let suspended as Stipple_V1_CertificationSuspended: return Day(suspended.suspendedOn)
        case let revoked as Stipple_V1_CertificationRevoked: return Day(revoked.revokedOn)
        case let training as Stipple_V1_BloodbornePathogensTrainingRecorded: return Day(training.completedOn)
        case let hepatitisB as Stipple_V1_HepatitisBStatusRecorded: return Day(hepatitisB.onFileFrom)
        // A recall or a discard is an instant: from the day before its day in the chain's
        // zone, every clinic's local day of it is covered.
        case let recalled as Stipple_V1_BatchRecalled: return ClinicTime.chainDefault.day(of: recalled.recalledAt).adding(days: -1)
        case let discarded as Stipple_V1_BatchDiscarded: return ClinicTime.chainDefault.day(of: discarded.discardedAt).adding(days: -1)
        default: return nil
        }
    }

    /// Technicians' and lots' states as the audit knows them, folded from its own tables.
    struct States {
        let tables: TableNames
        let db: Database
        let cache: Cache

        func technician(_ id: String) throws -> TechnicianState? {
            if let state = cache.technicians[id] { return state }
            let state = try AuditProjection.foldTechnician(id, tables: tables, in: db)
            cache.technicians.updateValue(state, forKey: id)
            return state
        }

        func lot(_ lot: String) throws -> BatchState? {
            if let state = cache.lots[lot] { return state }
            let state = try AuditProjection.foldLot(lot, tables: tables, in: db)
            cache.lots.updateValue(state, forKey: lot)
            return state
        }

        func consent(_ client: String) throws -> Bool {
            if let known = cache.consent[client] { return known }
            let statement = try db.cachedStatement(sql: "SELECT position FROM \(tables["consents"]) WHERE client = ?")
            let known = try Int64.fetchOne(statement, arguments: [client]) != nil
            cache.consent[client] = known
            return known
        }

        func findings(_ procedure: AuditedProcedure) throws -> AuditFindings {
            let technician = try technician(procedure.technicianID)
            let supervisor = procedure.supervisorID.isEmpty ? nil : try self.technician(procedure.supervisorID)
            var lots: [String: BatchState?] = [:]
            for lot in procedure.pigmentLots + procedure.cartridgeLots { lots[lot] = try self.lot(lot) }
            return AuditRules.findings(procedure, technician: technician, supervisor: supervisor, lots: { lots[$0] ?? nil })
        }

        /// Re-checks the procedures matching `condition` and stores changed findings.
        func recheck(where condition: String, _ arguments: StatementArguments) throws {
            let rows = try Row.fetchAll(db, sql: """
                SELECT position, technician, supervisor, day, pigment_lots, cartridge_lots, consent, findings
                FROM \(tables["procedures"]) WHERE \(condition)
                """, arguments: arguments)
            for row in rows {
                let procedure = AuditProjection.procedure(from: row)
                let findings = try self.findings(procedure)
                if findings.rawValue != row["findings"] as Int64 {
                    try db.run("UPDATE \(tables["procedures"]) SET findings = ? WHERE position = ?", [findings.rawValue, row["position"] as Int64])
                }
            }
        }
    }

    static func procedure(from row: Row) -> AuditedProcedure {
        func lots(_ text: String) -> [String] { text.isEmpty ? [] : text.split(separator: ",").map(String.init) }
        return AuditedProcedure(
            technicianID: row["technician"], supervisorID: row["supervisor"], day: Day(daysSinceEpoch: row["day"]),
            pigmentLots: lots(row["pigment_lots"]), cartridgeLots: lots(row["cartridge_lots"]), consentOnFile: row["consent"])
    }

    static func foldTechnician(_ id: String, tables: TableNames, in db: Database) throws -> TechnicianState? {
        try fold(sql: "SELECT type, payload FROM \(tables["technician_events"]) WHERE technician = ? ORDER BY position", id, into: TechnicianState(), in: db) {
            $0.apply(type: $1, message: $2, id: UUID())
        }
    }

    static func foldLot(_ lot: String, tables: TableNames, in db: Database) throws -> BatchState? {
        try fold(sql: "SELECT type, payload FROM \(tables["lot_events"]) WHERE lot = ? ORDER BY position", lot, into: BatchState(), in: db) {
            $0.apply(type: $1, message: $2, id: UUID())
        }
    }

    /// Folds the stored payloads (newest schema) of one subject; `nil` when it has none.
    static func fold<State>(
        sql: String, _ key: String, into initial: State, in db: Database, _ apply: (inout State, String, any SwiftProtobuf.Message) -> Void
    ) throws -> State? {
        var state = initial
        var any = false
        for row in try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: [key]) {
            let type: String = row[0]
            guard let schema = EventCatalogue.newest(type: type) else { continue }
            let message = try PayloadCodec.message(fromBinary: Array(row[1] as Data), schema: schema)
            apply(&state, type, message)
            any = true
        }
        return any ? state : nil
    }
}
