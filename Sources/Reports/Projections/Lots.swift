import GRDB
import Treatment

/// Lot trace: each pigment and cartridge lot, where it went (client, procedure, day,
/// clinic, scalp areas), and each client's clinic and last procedure for recall notices.
/// No personal data: names and contacts are read from the log (and opened with the
/// client's key) when a report shows them.
public struct LotProjection: Projection {
    public init() {}
    public var name: String { "lots" }
    /// 2: days are local to the clinic (ClinicTime), not UTC days. 3: typed amendments
    /// move a procedure's uses to its corrected lots, day, clinic and areas. 4: uses keyed
    /// by (position, lot), their index by lot a table filled after the load (``DeferredIndex``).
    public var version: Int { 4 }
    /// 2: `uses` is keyed by (position, lot); `uses_by_lot` is a table (lot, position).
    public var layout: Int { 2 }
    public var deferredIndexes: [DeferredIndex] { [DeferredIndex("uses_by_lot", on: "uses", ["lot", "position"])] }
    public var summary: String { "where each lot went, and whom to contact when it is recalled" }
    public var reads: Set<String> {
        ["ClientRegistered", "SessionRecorded", "TouchUpRecorded", "BatchReceived", "BatchRecalled", "BatchDiscarded", "RecordAmended"]
    }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["lots"]) (
                lot TEXT PRIMARY KEY,
                kind TEXT NOT NULL DEFAULT '',
                manufacturer TEXT NOT NULL DEFAULT '',
                product TEXT NOT NULL DEFAULT '',
                shade TEXT NOT NULL DEFAULT '',
                expiry TEXT NOT NULL DEFAULT '',
                clinic TEXT NOT NULL DEFAULT '',
                received_on TEXT,
                recalled_on TEXT,
                authority TEXT,
                notice TEXT,
                reason TEXT,
                discarded_on TEXT
            ) WITHOUT ROWID;
            CREATE TABLE \(tables["uses"]) (
                lot TEXT NOT NULL,
                position INTEGER NOT NULL,
                client TEXT NOT NULL,
                label TEXT NOT NULL,
                day INTEGER NOT NULL,
                clinic TEXT NOT NULL,
                areas TEXT NOT NULL,
                -- Rows land in log order; the index by lot is filled after a rebuild's load.
                PRIMARY KEY (position, lot)
            ) WITHOUT ROWID;
            CREATE TABLE \(tables["clients"]) (
                client TEXT PRIMARY KEY,
                clinic TEXT NOT NULL DEFAULT '',
                last_day INTEGER
            ) WITHOUT ROWID;
            """)
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        let use = try FastStatement(db, """
            INSERT OR IGNORE INTO \(tables["uses"]) (lot, position, client, label, day, clinic, areas) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        var lastDay: [String: Int] = [:]
        let lots = tables["lots"]
        func uses(_ procedure: Procedure, at position: Int64, of client: String) throws {
            let day = procedure.day.daysSinceEpoch
            let areas = procedure.areaNames
            let label = procedure.label
            for lot in procedure.lots {
                try use.run(db) { bind in
                    bind(1, lot)
                    bind(2, position)
                    bind(3, client)
                    bind(4, label)
                    bind(5, day)
                    bind(6, procedure.clinicID)
                    bind(7, areas)
                }
            }
        }
        for event in events {
            if let correction = event.correction {
                for lot in correction.before.lots {
                    try db.run("DELETE FROM \(tables["uses"]) WHERE lot = ? AND position = ?", [lot, correction.target])
                }
                try uses(correction.after, at: correction.target, of: event.subject)
                // The client's last procedure, recounted: a correction may move it earlier.
                let last = correction.procedures.map(\.day.daysSinceEpoch).max()
                try db.run("UPDATE \(tables["clients"]) SET last_day = ? WHERE client = ?", [last, event.subject])
                lastDay[event.subject] = last
                continue
            }
            switch event.message {
            case let registered as Stipple_V1_ClientRegistered:
                try db.run("""
                    INSERT INTO \(tables["clients"]) (client, clinic) VALUES (?, ?)
                    ON CONFLICT (client) DO UPDATE SET clinic = excluded.clinic
                    """, [event.subject, registered.clinicID])
            case let received as Stipple_V1_BatchReceived:
                let kind = received.kind == .pigment ? "pigment" : received.kind == .cartridge ? "cartridge" : "unspecified"
                let product = received.kind == .cartridge
                    ? "\(Names.needle(received.configuration)) \(received.diameterMm) mm" : received.product
                try db.run("""
                    INSERT INTO \(lots) (lot, kind, manufacturer, product, shade, expiry, clinic, received_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (lot) DO UPDATE SET kind = excluded.kind, manufacturer = excluded.manufacturer, product = excluded.product,
                        shade = excluded.shade, expiry = excluded.expiry, clinic = excluded.clinic, received_on = excluded.received_on
                    """, [event.subject, kind, received.manufacturer, product, received.shade, received.expiry, received.clinicID,
                          event.clinicTime.day(of: received.receivedAt).description])
            case let recalled as Stipple_V1_BatchRecalled:
                try db.run("INSERT OR IGNORE INTO \(lots) (lot) VALUES (?)", [event.subject])
                try db.run("UPDATE \(lots) SET recalled_on = ?, authority = ?, notice = ?, reason = ? WHERE lot = ?",
                           [ClinicTime.chainDefault.day(of: recalled.recalledAt).description, recalled.authority, recalled.noticeReference, recalled.reason, event.subject])
            case let discarded as Stipple_V1_BatchDiscarded:
                try db.run("INSERT OR IGNORE INTO \(lots) (lot) VALUES (?)", [event.subject])
                try db.run("UPDATE \(lots) SET discarded_on = ? WHERE lot = ?", [ClinicTime.chainDefault.day(of: discarded.discardedAt).description, event.subject])
            default:
                guard let procedure = event.procedure else { continue }
                let day = procedure.day.daysSinceEpoch
                try uses(procedure, at: event.position, of: event.subject)
                lastDay[event.subject] = max(lastDay[event.subject] ?? day, day)
            }
        }
        let last = try FastStatement(db, """
            INSERT INTO \(tables["clients"]) (client, last_day) VALUES (?, ?)
            ON CONFLICT (client) DO UPDATE SET last_day = max(coalesce(last_day, excluded.last_day), excluded.last_day)
            """)
        for (client, day) in lastDay {
            try last.run(db) { bind in
                bind(1, client)
                bind(2, day)
            }
        }
    }
}
