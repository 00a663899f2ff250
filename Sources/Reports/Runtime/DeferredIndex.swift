import EventLog
import Foundation
import GRDB
import GRDBSQLite

/// An index only reports read, kept as a table of its own (`WITHOUT ROWID`, keyed by all
/// its columns) rather than as a SQLite index.
///
/// Why (issue 14, measured at a million events): rows of a report's index arrive in random
/// key order while a rebuild loads its base table in log order, so every insert dirties a
/// page of its own and each chunk's commit writes them all — most of a rebuild's time. A
/// rebuild therefore loads the base tables first, then fills each index table in its key
/// order from one sorted scan on a reader connection, in short writer transactions, and
/// only then creates the triggers that keep it current (``Projector`` runs the phases; a
/// `CREATE INDEX` would do the same sort but in one transaction, holding appends for
/// seconds at ten million events). A generation is swapped in only once its index tables
/// are filled.
///
/// Rules for the projection: `columns` end with a unique key of `table` (each base row has
/// exactly one entry), their values are never NULL, and the fold never writes `table` with
/// `INSERT OR REPLACE` (REPLACE's deletes fire no triggers): plain inserts, `OR IGNORE`,
/// updates and deletes are kept in step. Reports join the index table to the base table on
/// the key.
public struct DeferredIndex: Sendable, Hashable {
    /// The index table's name in the generation (`tables[name]`).
    public var name: String
    /// The base table it indexes.
    public var table: String
    /// Its key, in order; the last ones are a unique key of `table`.
    public var columns: [String]

    public init(_ name: String, on table: String, _ columns: [String]) {
        self.name = name
        self.table = table
        self.columns = columns
    }

    private var list: String { columns.map { "\"\($0)\"" }.joined(separator: ", ") }

    func createTable(_ tables: TableNames) -> String {
        "CREATE TABLE \(tables[name]) (\(list), PRIMARY KEY (\(list))) WITHOUT ROWID"
    }

    /// The triggers that keep the index table current once it is filled.
    func createTriggers(_ tables: TableNames) -> String {
        let index = tables[name]
        let base = tables[table]
        let quoted = columns.map { "\"\($0)\"" }
        let new = quoted.map { "new.\($0)" }.joined(separator: ", ")
        let matchOld = quoted.map { "\($0) IS old.\($0)" }.joined(separator: " AND ")
        let trigger = { (suffix: String) in "\"\(tables.prefix)\(name)_\(suffix)\"" }
        return """
            CREATE TRIGGER \(trigger("after_insert")) AFTER INSERT ON \(base) BEGIN
                INSERT OR IGNORE INTO \(index) (\(list)) VALUES (\(new));
            END;
            CREATE TRIGGER \(trigger("after_delete")) AFTER DELETE ON \(base) BEGIN
                DELETE FROM \(index) WHERE \(matchOld);
            END;
            CREATE TRIGGER \(trigger("after_update")) AFTER UPDATE OF \(list) ON \(base) BEGIN
                DELETE FROM \(index) WHERE \(matchOld);
                INSERT OR IGNORE INTO \(index) (\(list)) VALUES (\(new));
            END;
            """
    }

    /// The base table's keys in index order, after `resume` (the last key copied) if any.
    func sortedScan(_ tables: TableNames, after resume: [DatabaseValue]?) -> (sql: String, arguments: StatementArguments) {
        var sql = "SELECT \(list) FROM \(tables[table])"
        if let resume {
            sql += " WHERE (\(list)) > (\(Array(repeating: "?", count: resume.count).joined(separator: ", ")))"
        }
        return (sql + " ORDER BY \(list)", StatementArguments(resume ?? []))
    }

    /// The last key the index table holds (`nil` when empty): a fill stopped midway goes
    /// on after it, as the table is filled in key order.
    func lastKey(_ tables: TableNames, in db: Database) throws -> [DatabaseValue]? {
        let order = columns.map { "\"\($0)\" DESC" }.joined(separator: ", ")
        return try Row.fetchOne(db, sql: "SELECT \(list) FROM \(tables[name]) ORDER BY \(order) LIMIT 1").map { Array($0.databaseValues) }
    }

    func insert(_ tables: TableNames) -> String {
        "INSERT OR IGNORE INTO \(tables[name]) (\(list)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
    }
}

/// Batches of rows from a reader's scan to the writer: the reader blocks (on its own
/// thread, never the concurrency pool's) while `capacity` batches wait, so memory stays
/// flat however large the table; the writer awaits the next batch.
final class BatchChannel: @unchecked Sendable {
    // `@unchecked`: every field is read and written under `condition`.
    private let condition = NSCondition()
    private var batches: [[DatabaseValue]] = []
    private var waiting: CheckedContinuation<[DatabaseValue]?, Never>?
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int = 2) {
        self.capacity = capacity
    }

    /// Hands over one batch, waiting while the channel is full. Returns `false` once the
    /// consumer has stopped (the scan should end).
    func put(_ batch: [DatabaseValue]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity, !cancelled { condition.wait() }
        if cancelled { return false }
        if let waiting {
            self.waiting = nil
            waiting.resume(returning: batch)
        } else {
            batches.append(batch)
        }
        return true
    }

    /// No more batches (the scan ended or failed).
    func finish() {
        condition.lock()
        defer { condition.unlock() }
        finished = true
        if let waiting {
            self.waiting = nil
            waiting.resume(returning: nil)
        }
    }

    /// The consumer stops: a waiting producer returns.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        condition.broadcast()
    }

    /// The next batch, or `nil` once the producer finished and every batch was taken.
    func take() async -> [DatabaseValue]? {
        await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            if !batches.isEmpty {
                continuation.resume(returning: batches.removeFirst())
                condition.signal()
            } else if finished {
                continuation.resume(returning: nil)
            } else {
                waiting = continuation
            }
        }
    }
}

extension Projector {
    /// The index phase of a rebuild: fills each target's ``DeferredIndex`` tables in key
    /// order, then creates their triggers and marks the generation indexed. While a
    /// generation is indexing, no fold writes it (its base tables stay as scanned); a
    /// fill stopped midway (crash, cancellation) goes on after the last key copied.
    func buildIndexes(_ targets: [Target], phase: String, progress: ProgressHandler?) async throws {
        do {
            try await indexEach(targets, phase: phase, progress: progress)
        } catch {
            try? await restoreWriterSettings()
            throw error
        }
        try await restoreWriterSettings()
    }

    private func indexEach(_ targets: [Target], phase: String, progress: ProgressHandler?) async throws {
        for target in targets {
            let tables = target.tables
            let started = try await holdingWriter(.index) { db in try Registry.beginIndexing(tables, in: db) }
            guard started else { continue }  // indexed by another process meanwhile
            for index in target.projection.deferredIndexes {
                let filled = try await fill(index, of: target, phase: phase, progress: progress)
                guard filled else { break }
            }
            try await holdingWriter(.index) { db in try Registry.finishIndexing(tables, indexes: target.projection.deferredIndexes, in: db) }
        }
    }

    /// Rows of a scan handed to the writer at a time.
    static let indexBatch = 4_096

    /// Copies the base table's keys into `index`'s table in key order. Returns `false`
    /// when the generation stopped indexing meanwhile (another process finished it).
    private func fill(_ index: DeferredIndex, of target: Target, phase: String, progress: ProgressHandler?) async throws -> Bool {
        let tables = target.tables
        let (resume, total, done) = try await log.readTables { db in
            let resume = try index.lastKey(tables, in: db)
            let total = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(tables[index.table])") ?? 0
            let done = try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(tables[index.name])") ?? 0
            return (resume, total, done)
        }
        let width = index.columns.count
        let channel = BatchChannel()
        let clock = ContinuousClock()
        let start = clock.now
        let label = "\(phase): index \(target.projection.name) \(index.name)"
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.log.readTablesStatementByStatement { db in
                    defer { channel.finish() }
                    // The sort runs in one statement, into a temporary table of this reader
                    // (one snapshot of the log, while the writer waits for the first batch);
                    // the batches are then read from that copy with no snapshot of the log
                    // held, so the WAL checkpoints go on while the writer copies. (Scanned
                    // from the log directly, the fill's writes piled up in the WAL: 305 MB
                    // at 10M events, and the commit after the scan held the writer 802 ms.)
                    // The base table does not change meanwhile: nothing folds into a
                    // generation while it indexes.
                    try db.execute(sql: "DROP TABLE IF EXISTS \(Self.scanCopy)")
                    // Dropped however the scan ends, through the C API: once the fill is
                    // cancelled, GRDB refuses this connection's statements until the closure
                    // returns, and the copy (hundreds of MB at 10M events) would stay on the
                    // pooled reader. The cursor is gone by then (its own scope), so nothing
                    // holds the table. The cancellation's `sqlite3_interrupt` comes from another
                    // thread and may land on the drop itself (the copy stayed on a reader once,
                    // in a full test run on both cores); it comes once per access, and a
                    // statement started after it runs: so the drop is tried again.
                    defer {
                        var tries = 0
                        while sqlite3_exec(db.sqliteConnection, "DROP TABLE IF EXISTS \(Self.scanCopy)", nil, nil, nil) == SQLITE_INTERRUPT, tries < 3 {
                            tries += 1
                        }
                    }
                    try Self.sortAndHand(index, of: tables, after: resume, to: channel, in: db)
                }
            }
            defer { channel.cancel() }
            var copied = done
            var pending: ArraySlice<DatabaseValue> = []
            var transactions = 0
            while true {
                if pending.isEmpty {
                    guard let next = await channel.take() else { break }
                    pending = next[...]
                }
                try Task.checkCancellation()
                if let pause = options.pauseBetweenTransactions, transactions > 0 { try await Task.sleep(for: pause) }
                transactions += 1
                let rows = pending
                let used = try await holdingWriter(.index, durable: false) { db in
                    try self.copyChunk(rows, width: width, into: index, of: tables, in: db)
                }
                guard let used else { return false }
                pending = pending.dropFirst(used * width)
                copied += Int64(used)
                progress?(Progress(phase: label, done: copied, total: max(total, copied), elapsed: (clock.now - start).seconds, unit: "rows"))
            }
            try await group.waitForAll()
            return true
        }
    }

    /// The reader's sorted copy of the keys of the index being filled (its own connection's).
    static let scanCopy = "temp.stipple_index_scan"

    /// Sorts the base table's keys after `resume` into ``scanCopy`` in one statement, then
    /// hands them to `channel` in batches (until it is cancelled).
    private static func sortAndHand(
        _ index: DeferredIndex, of tables: TableNames, after resume: [DatabaseValue]?, to channel: BatchChannel, in db: Database
    ) throws {
        let width = index.columns.count
        try db.execute(sql: "CREATE TABLE \(scanCopy) (\((0..<width).map { "c\($0)" }.joined(separator: ", ")))")
        let scan = index.sortedScan(tables, after: resume)
        try db.execute(sql: "INSERT INTO \(scanCopy) " + scan.sql, arguments: scan.arguments)
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \(scanCopy) ORDER BY rowid")
        var batch: [DatabaseValue] = []
        batch.reserveCapacity(indexBatch * width)
        while let row = try rows.next() {
            batch.append(contentsOf: row.databaseValues)
            if batch.count == indexBatch * width {
                guard channel.put(batch) else { return }
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { _ = channel.put(batch) }
    }

    /// One transaction of a fill: inserts rows of `rows` until the budget is spent;
    /// returns how many, or `nil` when the generation is no longer being indexed.
    private func copyChunk(
        _ rows: ArraySlice<DatabaseValue>, width: Int, into index: DeferredIndex, of tables: TableNames, in db: Database
    ) throws -> Int? {
        guard let stored = try Registry.generation(tables, in: db), stored.state == .building, stored.indexPhase == .indexing else { return nil }
        try tuneWriter(db)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: workBudget(.index))
        let insert = try FastStatement(db, index.insert(tables))
        let limit = min(rows.count / width, options.maxEventsPerTransaction ?? Int.max)
        var used = 0
        var offset = rows.startIndex
        repeat {
            let end = min(limit, used + 256)
            while used < end {
                try insert.run(db) { bind in
                    for column in 0..<width { bind(Int32(column + 1), rows[offset + column]) }
                }
                offset += width
                used += 1
            }
        } while used < limit && clock.now < deadline
        return used
    }
}
