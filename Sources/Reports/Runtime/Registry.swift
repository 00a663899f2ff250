import EventLog
import Foundation
import GRDB

/// One generation of a projection's tables, as the registry holds it.
public struct Generation: Sendable, Hashable {
    /// `live`: what reports read. `building`: a rebuild not yet swapped in. `retired`:
    /// replaced, its tables being emptied in short transactions, then dropped.
    public enum State: String, Sendable, Hashable {
        case live, building, retired
    }

    /// Where a generation's report indexes (``DeferredIndex``) stand. `loading`: its base
    /// tables are being loaded, the index tables are empty and have no triggers yet.
    /// `indexing`: the index tables are being filled from the loaded base tables (which
    /// nothing writes meanwhile). `indexed`: filled and kept current by triggers (a
    /// projection without report indexes starts there).
    public enum IndexPhase: String, Sendable, Hashable {
        case loading, indexing, indexed
    }

    public var name: String
    public var generation: Int
    public var version: Int
    public var signature: String
    /// The shape of its tables (see ``Projection/layout``).
    public var layout: Int
    public var state: State
    /// The last log position applied to these tables.
    public var checkpoint: Int64
    public var indexPhase: IndexPhase
    /// When it was started and swapped in (seconds since 1970).
    public var createdAt: Double
    public var swappedAt: Double?

    public var tables: TableNames { TableNames(projection: name, generation: generation) }
}

/// The table of generations (`report_projections`) and the statements on it. Every
/// function runs inside the caller's transaction.
enum Registry {
    static let table = "report_projections"

    static func create(in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS \(table) (
                name TEXT NOT NULL,
                generation INTEGER NOT NULL,
                version INTEGER NOT NULL,
                signature TEXT NOT NULL,
                layout INTEGER NOT NULL DEFAULT 1,
                state TEXT NOT NULL CHECK (state IN ('live', 'building', 'retired')),
                checkpoint INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                swapped_at REAL,
                index_phase TEXT NOT NULL DEFAULT 'indexed',
                PRIMARY KEY (name, generation)
            ) WITHOUT ROWID
            """)
        try migrate(in: db)
    }

    /// Whether the registry lacks a column this build writes (a file made before it).
    static func needsMigration(in db: Database) throws -> Bool {
        try !db.columns(in: table).contains { $0.name == "index_phase" }
    }

    /// Adds the columns of later builds to an older registry (its generations keep their
    /// SQLite indexes: they are all `indexed`).
    static func migrate(in db: Database) throws {
        guard try needsMigration(in: db) else { return }
        try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN index_phase TEXT NOT NULL DEFAULT 'indexed'")
    }

    static func all(in db: Database) throws -> [Generation] {
        guard try db.tableExists(table) else { return [] }
        return try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY name, generation").map(generation(from:))
    }

    static func generation(_ tables: TableNames, in db: Database) throws -> Generation? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM \(table) WHERE name = ? AND generation = ?",
            arguments: [tables.projection, tables.generation]
        ).map(generation(from:))
    }

    private static func generation(from row: Row) -> Generation {
        Generation(
            name: row["name"], generation: row["generation"], version: row["version"], signature: row["signature"], layout: row["layout"],
            state: Generation.State(rawValue: row["state"]) ?? .building, checkpoint: row["checkpoint"],
            // An older registry has no column: its generations use SQLite's indexes.
            indexPhase: (row["index_phase"] as String?).flatMap(Generation.IndexPhase.init(rawValue:)) ?? .indexed,
            createdAt: row["created_at"], swappedAt: row["swapped_at"])
    }

    static func setCheckpoint(_ tables: TableNames, _ checkpoint: Int64, in db: Database) throws {
        try db.execute(
            sql: "UPDATE \(table) SET checkpoint = ? WHERE name = ? AND generation = ? AND checkpoint < ?",
            arguments: [checkpoint, tables.projection, tables.generation, checkpoint])
    }

    /// The generation to build for `projection`: the one being built with the same code
    /// (resumed: `true`), or a new one with empty tables (a build of other code is dropped).
    static func prepareBuilding(_ projection: any Projection, in db: Database) throws -> (Projector.Target, Bool) {
        let generations = try all(in: db).filter { $0.name == projection.name }
        if let building = generations.first(where: { $0.state == .building }) {
            if building.signature == projection.signature {
                return (Projector.Target(
                    projection: projection, tables: building.tables, checkpoint: building.checkpoint, state: .building,
                    indexPhase: building.indexPhase), true)
            }
            try retire(building.tables, in: db)
        }
        let number = (generations.map(\.generation).max() ?? 0) + 1
        let tables = TableNames(projection: projection.name, generation: number)
        // Leftovers of a generation with this number (a registry row lost by hand) go first.
        try dropTables(tables, in: db)
        try projection.createTables(tables, in: db)
        let indexes = projection.deferredIndexes
        for index in indexes { try db.execute(sql: index.createTable(tables)) }
        let phase: Generation.IndexPhase = indexes.isEmpty ? .indexed : .loading
        try db.execute(
            sql: """
                INSERT INTO \(table) (name, generation, version, signature, layout, state, checkpoint, created_at, index_phase)
                VALUES (?, ?, ?, ?, ?, 'building', 0, ?, ?)
                """,
            arguments: [projection.name, number, projection.version, projection.signature, projection.layout, Date().timeIntervalSince1970,
                        phase.rawValue])
        return (Projector.Target(projection: projection, tables: tables, checkpoint: 0, state: .building, indexPhase: phase), false)
    }

    /// Starts (or goes on with) filling the report indexes of a generation being built.
    /// Returns `false` when they are filled already.
    ///
    /// - Throws: ``ReportsError/rebuildReplaced(_:)`` when the generation is no longer being built.
    static func beginIndexing(_ tables: TableNames, in db: Database) throws -> Bool {
        guard let stored = try generation(tables, in: db), stored.state != .retired else {
            throw ReportsError.rebuildReplaced(tables.projection)
        }
        switch (stored.state, stored.indexPhase) {
        case (_, .indexed): return false
        case (.building, .loading):
            try db.execute(
                sql: "UPDATE \(table) SET index_phase = 'indexing' WHERE name = ? AND generation = ?",
                arguments: [tables.projection, tables.generation])
            return true
        default: return true
        }
    }

    /// Ends the index phase: creates the triggers that keep `indexes` current and marks the
    /// generation indexed (unless another process did first).
    static func finishIndexing(_ tables: TableNames, indexes: [DeferredIndex], in db: Database) throws {
        guard let stored = try generation(tables, in: db), stored.state == .building, stored.indexPhase == .indexing else { return }
        for index in indexes { try db.execute(sql: index.createTriggers(tables)) }
        try db.execute(
            sql: "UPDATE \(table) SET index_phase = 'indexed' WHERE name = ? AND generation = ?",
            arguments: [tables.projection, tables.generation])
    }

    /// Makes `tables` the live generation of its projection and retires the one it
    /// replaces (its tables are emptied later, in short transactions: dropping a large
    /// table at once would hold the writer for a second).
    static func swapIn(_ tables: TableNames, in db: Database) throws {
        for old in try all(in: db) where old.name == tables.projection && old.state == .live && old.generation != tables.generation {
            try retire(old.tables, in: db)
        }
        try db.execute(
            sql: "UPDATE \(table) SET state = 'live', swapped_at = ? WHERE name = ? AND generation = ?",
            arguments: [Date().timeIntervalSince1970, tables.projection, tables.generation])
    }

    /// Marks a generation as replaced: nothing reads or writes it any more.
    static func retire(_ tables: TableNames, in db: Database) throws {
        try db.execute(
            sql: "UPDATE \(table) SET state = 'retired' WHERE name = ? AND generation = ?",
            arguments: [tables.projection, tables.generation])
    }

    /// One step of removing retired generations: drops one of their SQLite indexes, or
    /// deletes up to `rows` rows of one of their tables, in key order, or drops a table
    /// once empty, or forgets a generation with no tables left.
    ///
    /// - Returns: what the step did, or `nil` when nothing retired is left.
    static func removeRetired(rows: Int, in db: Database) throws -> RemovalStep? {
        guard let (retired, target) = try nextRemoval(in: db) else { return nil }
        let prefix = retired.tables.prefix
        // Nothing writes a retired generation: its triggers go first, so that each table is
        // emptied in its own key order without touching another.
        let triggers = try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
            arguments: [prefix.count, prefix])
        for trigger in triggers { try db.execute(sql: "DROP TRIGGER \"\(trigger)\"") }
        switch target {
        case .index(let index):
            // Its pages go to the free list without being zeroed: with `secure_delete` on,
            // SQLite writes every freed page, and dropping the audit's index by technician
            // held the writer 0.7–1.9 s at 10M events (its 23,341 pages cached: 0.84 s,
            // 0.07 s without the zeroing). What an index holds are copies of its
            // columns, and the reports' SQL indexes are on staff ids, days, week starts and
            // event ids (a test of `ReportsTests` keeps it so): what the log holds in the
            // clear (`Reports` cannot unseal: it does not depend on `Discretion`). The rows
            // themselves are deleted, and zeroed, in the steps after.
            try db.execute(sql: "PRAGMA secure_delete = FAST")
            do {
                try db.execute(sql: "DROP INDEX \"\(index)\"")
            } catch {
                try db.execute(sql: "PRAGMA secure_delete = ON")
                throw error
            }
            try db.execute(sql: "PRAGMA secure_delete = ON")
            return .droppedIndex(index)
        case .rows(let table, let keys):
            try db.execute(sql: "DELETE FROM \"\(table)\" WHERE (\(keys)) IN (SELECT \(keys) FROM \"\(table)\" ORDER BY \(keys) LIMIT \(rows))")
            let deleted = db.changesCount
            guard deleted < rows else { return .deletedRows(deleted, table: table, dropped: false) }
            try db.execute(sql: "DROP TABLE \"\(table)\"")
            return .deletedRows(deleted, table: table, dropped: true)
        case .forget:
            try db.execute(sql: "DELETE FROM \(table) WHERE name = ? AND generation = ?", arguments: [retired.name, retired.generation])
            return .forgot(retired.tables)
        }
    }

    /// One step of ``removeRetired(rows:in:)``.
    enum RemovalStep: CustomStringConvertible, Equatable {
        case droppedIndex(String)
        case deletedRows(Int, table: String, dropped: Bool)
        case forgot(TableNames)

        var description: String {
            switch self {
            case .droppedIndex(let index): "DROP INDEX \(index)"
            case .deletedRows(let rows, let table, let dropped): "DELETE \(rows) FROM \(table)\(dropped ? ", DROP TABLE" : "")"
            case .forgot(let tables): "forget \(tables.projection) \(tables.generation)"
            }
        }
    }

    /// What the next step of ``removeRetired(rows:in:)`` works on.
    enum RemovalTarget: Equatable {
        /// One of the generation's own SQLite indexes: they go first. Emptying a table row by
        /// row would delete each row's entries from them in random key order (the audit's
        /// two indexes by technician and supervisor made its removal take 6 s at 1M events
        /// and 188 s at 10M); dropping one frees its pages in a walk of the index alone. (The
        /// indexes of UNIQUE and PRIMARY KEY constraints, `sql IS NULL`, cannot be dropped:
        /// they go with their rows.)
        case index(String)
        /// A table, emptied from the front of its key (`keys`, its columns as SQL).
        case rows(table: String, keys: String)
        /// Nothing left but the registry's row.
        case forget
    }

    /// The retired generation removal works on first, and what its next step works on.
    static func nextRemoval(in db: Database) throws -> (Generation, RemovalTarget)? {
        guard let retired = try all(in: db).first(where: { $0.state == .retired }) else { return nil }
        if let index = try firstIndex(of: retired.tables, in: db) { return (retired, .index(index)) }
        let prefix = retired.tables.prefix
        guard let table = try String.fetchOne(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? ORDER BY name LIMIT 1",
            arguments: [prefix.count, prefix])
        else { return (retired, .forget) }
        // The rows' key: the rowid, or the primary key of a WITHOUT ROWID table (`wr`).
        let withoutRowID = try Bool.fetchOne(db, sql: "SELECT wr FROM pragma_table_list WHERE name = ?", arguments: [table]) ?? false
        var columns = ["rowid"]
        if withoutRowID {
            columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\"\(table)\")")
                .filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }.map { "\"\($0["name"] as String)\"" }
        }
        return (retired, .rows(table: table, keys: columns.joined(separator: ", ")))
    }

    /// Reads, on a reader, the pages the next step of ``removeRetired(rows:in:)`` frees, so
    /// that the OS holds them when the writer takes that step; returns how many pages (an
    /// index) or rows (a table) it read.
    ///
    /// A drop or a delete reads each page it frees, in the writer: at 10M events the
    /// audit's index by technician, 23,000 pages the rebuild had long since pushed out of
    /// the OS's cache, held the writer 1.4 s for its reads from disk, 70 ms once they were
    /// cached; steps of 5,000 rows held it up to 97–213 ms.
    static func readAhead(rows: Int, in db: Database) throws -> Int {
        switch try nextRemoval(in: db)?.1 {
        case .index(let index)?:
            // `dbstat` walks the pages of the B-tree named, leaves included.
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM dbstat WHERE name = ?", arguments: [index]) ?? 0
        case .rows(let table, let keys)?:
            // A walk of the table's own B-tree (the order forbids an index) over the rows
            // the step deletes, leaves included.
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM \"\(table)\" ORDER BY \(keys) LIMIT \(rows))") ?? 0
        case .forget?, nil:
            return 0
        }
    }

    /// The first of a generation's own SQLite indexes (not a constraint's), by name.
    private static func firstIndex(of tables: TableNames, in db: Database) throws -> String? {
        let prefix = tables.prefix
        return try String.fetchOne(
            db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND substr(tbl_name, 1, ?) = ?
                ORDER BY name LIMIT 1
                """,
            arguments: [prefix.count, prefix])
    }

    private static func dropTables(_ tables: TableNames, in db: Database) throws {
        let prefix = tables.prefix
        let names = try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
            arguments: [prefix.count, prefix])
        for name in names { try db.execute(sql: "DROP TABLE \"\(name)\"") }
    }
}
