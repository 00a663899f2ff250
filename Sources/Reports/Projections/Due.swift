import GRDB
import Treatment

/// Where each client's course stands: planned and done sessions, last session and last
/// procedure, the guarantee; read by `stipple report due`.
public struct DueProjection: Projection {
    public init() {}
    public var name: String { "due" }
    /// 2: days are local to the clinic (ClinicTime), not UTC days. 3: typed amendments
    /// count a client's course again from its procedures as corrected.
    public var version: Int { 3 }
    public var summary: String { "courses, touch-ups and guarantees per client, for what falls due" }
    public var reads: Set<String> { ["ClientRegistered", "ConsultationRecorded", "SessionRecorded", "TouchUpRecorded", "RecordAmended"] }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["clients"]) (
                client TEXT PRIMARY KEY,
                clinic TEXT NOT NULL DEFAULT '',
                planned INTEGER NOT NULL DEFAULT 0,
                sessions INTEGER NOT NULL DEFAULT 0,
                touch_ups INTEGER NOT NULL DEFAULT 0,
                last_session_day INTEGER,
                last_procedure_day INTEGER,
                guarantee_used INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID;
            """)
    }

    struct Client {
        var clinic = ""
        var planned: Int64 = 0, sessions: Int64 = 0, touchUps: Int64 = 0
        var lastSessionDay: Int?, lastProcedureDay: Int?
        var guaranteeUsed = false

        mutating func count(_ procedure: Procedure) {
            let day = procedure.day.daysSinceEpoch
            if procedure.kind == .touchUp {
                touchUps += 1
                if procedure.underGuarantee { guaranteeUsed = true }
            } else {
                sessions = max(sessions, Int64(procedure.sessionNumber))
                lastSessionDay = max(lastSessionDay ?? day, day)
            }
            lastProcedureDay = max(lastProcedureDay ?? day, day)
        }
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let table = tables["clients"]
        var clients: [String: Client] = [:]
        func load(_ id: String) throws -> Client {
            if let client = clients[id] { return client }
            let select = try db.cachedStatement(sql: "SELECT * FROM \(table) WHERE client = ?")
            guard let row = try Row.fetchOne(select, arguments: [id]) else { return Client() }
            return Client(
                clinic: row["clinic"], planned: row["planned"], sessions: row["sessions"],
                touchUps: row["touch_ups"], lastSessionDay: row["last_session_day"], lastProcedureDay: row["last_procedure_day"],
                guaranteeUsed: row["guarantee_used"])
        }
        for event in events {
            var client = try load(event.subject)
            switch event.message {
            case let registered as Stipple_V1_ClientRegistered:
                client.clinic = registered.clinicID
            case let consultation as Stipple_V1_ConsultationRecorded:
                // The latest consultation's estimate is the plan.
                if consultation.estimatedSessions > 0 { client.planned = Int64(consultation.estimatedSessions) }
            default:
                if let correction = event.correction {
                    // Counted again from the client's procedures as corrected.
                    client.sessions = 0
                    client.touchUps = 0
                    client.lastSessionDay = nil
                    client.lastProcedureDay = nil
                    client.guaranteeUsed = false
                    for procedure in correction.procedures { client.count(procedure) }
                } else if let procedure = event.procedure {
                    client.count(procedure)
                } else {
                    continue
                }
            }
            clients[event.subject] = client
        }
        let upsert = try FastStatement(db, """
            INSERT OR REPLACE INTO \(table)
                (client, clinic, planned, sessions, touch_ups, last_session_day, last_procedure_day, guarantee_used)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (id, client) in clients {
            try upsert.run(db) { bind in
                bind(1, id)
                bind(2, client.clinic)
                bind(3, client.planned)
                bind(4, client.sessions)
                bind(5, client.touchUps)
                bind(6, client.lastSessionDay)
                bind(7, client.lastProcedureDay)
                bind(8, client.guaranteeUsed)
            }
        }
    }
}
