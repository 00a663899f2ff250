import EventLog
import Foundation
import GRDB
import StippleTesting
import Testing
import Treatment
@testable import Reports

/// A projection for the runtime's tests: counts events per stream. Version 2 counts
/// per type instead, so a report shows which version built its tables.
struct CountingProjection: Projection {
    var version: Int
    var layout: Int = 1
    var name: String { "counting" }
    var summary: String { "events per stream (v1) or per type (v2)" }
    var reads: Set<String> { ["ClientRegistered", "ConsentSigned"] }

    func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: "CREATE TABLE \(tables["counts"]) (key TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    }

    func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        for event in events {
            let key = version == 1 ? event.stream : event.type
            try db.execute(
                sql: "INSERT INTO \(tables["counts"]) (key, n) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET n = n + 1", arguments: [key])
        }
    }

    /// The counts of the live generation.
    static func counts(_ projector: Projector) async throws -> [String: Int] {
        let source = try await projector.source("counting")
        return try await projector.log.readTables { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, n FROM \(source.tables["counts"])").map { ($0[0] as String, $0[1] as Int) })
        }
    }
}

/// A log in a temporary folder with `clients` clients, each registered and consenting.
struct ProjectionLog {
    let folder: TemporaryFolder
    let log: EventLog

    init(clients: Int, configuration: EventLog.Configuration = EventLog.Configuration()) async throws {
        folder = try TemporaryFolder("stipple-reports")
        log = try EventLog.create(at: folder.file("log.sqlite"), configuration: configuration)
        try await add(clients: 0..<clients)
    }

    func add(clients: Range<Int>) async throws {
        var events: [NewEvent] = []
        for index in clients {
            var registered = Stipple_V1_ClientRegistered()
            registered.clientID = "\(index)"
            registered.clinicID = "toronto"
            var consent = Stipple_V1_ConsentSigned()
            consent.coversProcedure = true
            events.append(NewEvent(stream: "client-\(index)", type: "ClientRegistered", expectedVersion: .noStream, payload: try registered.serializedBytes()))
            events.append(NewEvent(stream: "client-\(index)", type: "ConsentSigned", expectedVersion: .exactly(1), payload: try consent.serializedBytes()))
        }
        try await log.append(events)
    }


    /// Every row of every table of a generation, as text, table by table.
    func dump(_ tables: TableNames) async throws -> [String: [String]] {
        try await generationRows(tables, in: log)
    }
}

/// Every row of every table of a generation in `log`, as text and sorted (rows with the same
/// first columns compare the same whatever order SQLite returns them in), by table name
/// without the generation's prefix.
func generationRows(_ tables: TableNames, in log: EventLog) async throws -> [String: [String]] {
    try await log.readTables { db in
        var dump: [String: [String]] = [:]
        let names = try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? ORDER BY name",
            arguments: [tables.prefix.count, tables.prefix])
        for name in names {
            dump[String(name.dropFirst(tables.prefix.count))] = try Row.fetchAll(db, sql: "SELECT * FROM \"\(name)\"").map(\.description).sorted()
        }
        return dump
    }
}

@Suite("Projection runtime: checkpoints, catch-up, blue/green rebuilds")
struct ProjectorTests {
    @Test("a page decoded in two halves on two tasks holds the events of the types read, in log order")
    func pageDecodedInHalves() async throws {
        let fixture = try await ProjectionLog(clients: 600)  // 1,200 events: enough to be split
        let page = try await fixture.log.readAll(from: 1, limit: 1_200)
        try #require(page.count == 1_200)
        for reads: Set<String> in [["ClientRegistered", "ConsentSigned"], ["ConsentSigned"], ["SessionRecorded"]] {
            let decoded = try await DecodedPages.decode(page[...], reads: reads, times: ClinicTimes())
            let expected = page.filter { reads.contains($0.type) }
            #expect(decoded.map(\.position) == expected.map(\.position))
            #expect(decoded.map(\.id) == expected.map(\.id))
        }
        // A slice that does not start at the page's first index.
        let tail = try await DecodedPages.decode(page[300...], reads: ["ClientRegistered", "ConsentSigned"], times: ClinicTimes())
        #expect(tail.map(\.position) == Array(Int64(301)...1_200))
    }

    @Test("catch-up builds a missing projection, then applies only what was appended since")
    func catchUpAppliesEachEventOnce() async throws {
        let fixture = try await ProjectionLog(clients: 30)
        let projector = Projector(log: fixture.log, projections: [CountingProjection(version: 1)])
        try await projector.catchUp()
        #expect(try await CountingProjection.counts(projector)["client-7"] == 2)
        try await fixture.add(clients: 30..<40)
        try await projector.catchUp()
        try await projector.catchUp()
        let counts = try await CountingProjection.counts(projector)
        #expect(counts.count == 40)
        #expect(counts.values.allSatisfy { $0 == 2 })
        let status = try #require(try await projector.status().first)
        #expect(status.live?.checkpoint == 80)
        #expect(status.lag == 0)
        #expect(!status.rebuildPending)
    }

    @Test("two runtimes catching up at once never apply an event twice")
    func concurrentCatchUp() async throws {
        let fixture = try await ProjectionLog(clients: 200)
        var options = Projector.Options()
        options.maxEventsPerTransaction = 7
        let first = Projector(log: fixture.log, projections: [CountingProjection(version: 1)], options: options)
        try await first.catchUp()
        try await fixture.add(clients: 200..<400)
        let second = Projector(log: fixture.log, projections: [CountingProjection(version: 1)], options: options)
        async let a: Int64 = first.catchUp()
        async let b: Int64 = second.catchUp()
        _ = try await (a, b)
        let counts = try await CountingProjection.counts(first)
        #expect(counts.count == 400)
        #expect(counts.values.allSatisfy { $0 == 2 })
    }

    @Test("the pacer leaves the commit its share of the budget: it follows a rise at once, a fall slowly, and never goes under 2 ms")
    func holdPacer() {
        var pacer = Projector.HoldPacer()
        let budget = Duration.milliseconds(40)
        // Until it has seen a transaction, the commit is taken to cost as much as the work.
        #expect(pacer.workBudget(within: budget) == .milliseconds(20))
        pacer.observe(worked: .milliseconds(10), held: .milliseconds(40))
        #expect(pacer.commitShare == 3)
        #expect(pacer.workBudget(within: budget) == .milliseconds(10))
        pacer.observe(worked: .milliseconds(10), held: .milliseconds(12))
        #expect(abs(pacer.commitShare - 2.944) < 1e-9)
        // A transaction that did almost nothing says nothing of the next.
        pacer.observe(worked: .microseconds(500), held: .milliseconds(300))
        #expect(abs(pacer.commitShare - 2.944) < 1e-9)
        pacer.observe(worked: .milliseconds(2), held: .milliseconds(400))
        #expect(pacer.workBudget(within: budget) == .milliseconds(4))
        #expect(pacer.workBudget(within: .milliseconds(10)) == .milliseconds(2))
    }

    @Test("a rebuild checkpoints the WAL between its transactions, off the writer, and counts its transactions by kind")
    func rebuildCheckpointsBetweenTransactions() async throws {
        var configuration = EventLog.Configuration()
        configuration.bulkCheckpointPages = 1
        let fixture = try await ProjectionLog(clients: 500, configuration: configuration)
        var options = Projector.Options()
        options.maxEventsPerTransaction = 100
        options.pageSize = 200
        let projector = Projector(log: fixture.log, projections: [CountingProjection(version: 1)], options: options)
        try await projector.catchUp()
        _ = projector.takeWriterFigures()
        try await projector.rebuild()
        let figures = projector.takeWriterFigures()
        #expect((figures.holdsByKind["chunk"] ?? 0) >= 10)
        #expect((figures.holdsByKind["removal"] ?? 0) > 0)
        #expect(figures.holdsByKind["swap"] == 1)
        #expect(figures.checkpoints > 0)
        #expect(figures.checkpointedPages > 0)
        #expect(try await CountingProjection.counts(projector).count == 500)
        #expect(try await fixture.log.verify().isIntact)
    }

    @Test("an interrupted rebuild goes on where it stopped and ends with the tables a clean rebuild makes")
    func interruptedRebuildResumes() async throws {
        let fixture = try await ProjectionLog(clients: 500)
        var options = Projector.Options()
        options.maxEventsPerTransaction = 50
        options.pageSize = 100
        let projections: [any Projection] = [CountingProjection(version: 1), HistoryProjection()]
        let projector = Projector(log: fixture.log, projections: projections, options: options)
        try await projector.catchUp()
        // Cancel the rebuild after a few transactions: their work is committed, the rest is not.
        let seen = Counter()
        let rebuild = Task {
            try await projector.rebuild(progress: { _ in
                if seen.increment() == 3 { withUnsafeCurrentTask { $0?.cancel() } }
            })
        }
        await #expect(throws: CancellationError.self) { try await rebuild.value }
        let building = try await projector.status().compactMap(\.building)
        #expect(building.count == 2)
        #expect(building.allSatisfy { $0.checkpoint > 0 && $0.checkpoint < 1_000 })
        // Reports still read the old (live) generation meanwhile.
        #expect(try await projector.source("counting").tables.generation == 1)
        let resumed = try await projector.rebuild()
        #expect(resumed.allSatisfy { $0.resumed })
        #expect(resumed.allSatisfy { $0.checkpoint == 1_000 && $0.generation == 2 })
        var resumedTables: [String: [String: [String]]] = [:]
        for name in ["counting", "history"] {
            resumedTables[name] = try await fixture.dump(try await projector.source(name).tables)
        }
        // A clean rebuild from scratch, for comparison: the same rows, table by table.
        let clean = try await projector.rebuild()
        #expect(clean.allSatisfy { !$0.resumed && $0.generation == 3 })
        for name in ["counting", "history"] {
            let cleanTables = try await fixture.dump(try await projector.source(name).tables)
            #expect(!cleanTables.isEmpty && cleanTables.values.allSatisfy { !$0.isEmpty })
            #expect(cleanTables == resumedTables[name])
            #expect(try await fixture.dump(TableNames(projection: name, generation: 2)).isEmpty, "the swap dropped the generation it replaced")
        }
        #expect(try await CountingProjection.counts(projector).values.allSatisfy { $0 == 2 })
    }

    @Test("a new version is rebuilt beside the old: the old report is served, with a notice, until the swap")
    func blueGreen() async throws {
        let fixture = try await ProjectionLog(clients: 300)
        let old = Projector(log: fixture.log, projections: [CountingProjection(version: 1)])
        try await old.catchUp()
        #expect(try await CountingProjection.counts(old)["client-1"] == 2)

        // The upgrade: version 2 is current; version 1's code is still carried (legacy).
        var options = Projector.Options()
        options.maxEventsPerTransaction = 40
        options.pauseBetweenTransactions = .milliseconds(5)
        let upgraded = Projector(
            log: fixture.log, projections: [CountingProjection(version: 2)], legacy: [CountingProjection(version: 1)], options: options)
        let pending = try #require(try await upgraded.status().first)
        #expect(pending.rebuildPending)
        let notice = try #require(try await upgraded.source("counting").notice)
        #expect(notice.contains("version 1") && notice.contains("stipple rebuild counting"))
        // Appends before the rebuild reach the old tables through the legacy code.
        try await fixture.add(clients: 300..<310)
        try await upgraded.catchUp()
        #expect(try await CountingProjection.counts(upgraded)["client-305"] == 2)

        // During the rebuild (slowed down by pauses), the report is still version 1's.
        let rebuild = Task { try await upgraded.rebuild() }
        let during = Box<[String: Int]>()
        for _ in 0..<1_000 {
            if let building = try await upgraded.status().first?.building, building.checkpoint > 0 {
                during.value = try await CountingProjection.counts(upgraded)
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        _ = try await rebuild.value
        #expect(during.value?["client-1"] == 2)
        #expect(during.value?["ClientRegistered"] == nil)
        // After the swap: version 2's report, and no notice.
        let after = try await CountingProjection.counts(upgraded)
        #expect(after == ["ClientRegistered": 310, "ConsentSigned": 310])
        #expect(try await upgraded.source("counting").notice == nil)
        let status = try #require(try await upgraded.status().first)
        #expect(status.live?.version == 2 && status.building == nil && !status.rebuildPending)
        #expect(try await fixture.dump(TableNames(projection: "counting", generation: 1)).isEmpty)
    }

    @Test("without the old code, the old tables are served as they stand, saying how far behind they are")
    func frozenOldTables() async throws {
        let fixture = try await ProjectionLog(clients: 10)
        try await Projector(log: fixture.log, projections: [CountingProjection(version: 1)]).catchUp()
        try await fixture.add(clients: 10..<12)
        let upgraded = Projector(log: fixture.log, projections: [CountingProjection(version: 2)])
        try await upgraded.catchUp()
        let source = try await upgraded.source("counting")
        #expect(source.checkpoint == 20)
        #expect(source.notice?.contains("the 4 later events are not in it") == true)
        _ = try await upgraded.rebuild(["counting"])
        #expect(try await CountingProjection.counts(upgraded) == ["ClientRegistered": 12, "ConsentSigned": 12])
    }

    @Test("tables of another layout are not served: the report asks for the rebuild, which brings it back")
    func otherLayout() async throws {
        let fixture = try await ProjectionLog(clients: 5)
        try await Projector(log: fixture.log, projections: [CountingProjection(version: 1)]).catchUp()
        let upgraded = Projector(log: fixture.log, projections: [CountingProjection(version: 2, layout: 2)])
        await #expect(throws: ReportsError.rebuildRequired("counting")) { try await upgraded.source("counting") }
        _ = try await upgraded.rebuild(["counting"])
        #expect(try await CountingProjection.counts(upgraded) == ["ClientRegistered": 5, "ConsentSigned": 5])
    }

    @Test("a rebuild of an unknown projection is refused before anything is written")
    func unknownProjection() async throws {
        let fixture = try await ProjectionLog(clients: 3)
        let projector = Projector(log: fixture.log, projections: [CountingProjection(version: 1)])
        await #expect(throws: ReportsError.unknownProjection("nope", known: ["counting"])) {
            try await projector.rebuild(["counting", "nope"])
        }
        #expect(try await fixture.log.readTables { db in try db.tableExists("report_projections") } == false)
    }

    @Test("a projection's signature names its version and the newest schema of each type it reads")
    func signature() {
        #expect(CountingProjection(version: 3).signature == "v3 ClientRegistered@1 ConsentSigned@1")
        #expect(AuditProjection().signature.contains("SessionRecorded@2"))
    }
}

/// A counter shared with a progress callback.
final class Counter: @unchecked Sendable {
    // `@unchecked`: guarded by `lock`.
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// A value set from a callback.
final class Box<T>: @unchecked Sendable {
    // `@unchecked`: written once by a callback before the test reads it.
    var value: T?
}

/// A projection whose table has a composite primary key and no rowid, to remove in steps.
struct WideProjection: Projection {
    var name: String { "wide" }
    var version: Int { 1 }
    var summary: String { "twelve rows per event, keyed without a rowid" }
    var reads: Set<String> { ["ClientRegistered"] }

    func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["rows"]) (
                stream TEXT NOT NULL, n INTEGER NOT NULL, note TEXT NOT NULL DEFAULT 'WITHOUT ROWID', PRIMARY KEY (stream, n)
            ) WITHOUT
              ROWID
            """)
        try db.execute(sql: "CREATE INDEX \(tables["rows_by_n"]) ON \(tables["rows"]) (n, stream)")
    }

    func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        for event in events {
            for n in 0..<12 {
                try db.execute(sql: "INSERT INTO \(tables["rows"]) (stream, n) VALUES (?, ?)", arguments: [event.stream, n])
            }
        }
    }
}

@Suite("Projection runtime: replaced generations")
struct ReplacedGenerationTests {
    @Test("a replaced generation with more rows than one step removes (composite key, no rowid, an index) is emptied and dropped")
    func removeInSteps() async throws {
        let fixture = try await ProjectionLog(clients: 600)
        let projector = Projector(log: fixture.log, projections: [WideProjection()])
        try await projector.catchUp()
        let (old, new) = (TableNames(projection: "wide", generation: 1), TableNames(projection: "wide", generation: 2))
        #expect(try await fixture.dump(old)["rows"]?.count == 7_200)
        _ = try await projector.rebuild()
        #expect(try await fixture.dump(old).isEmpty)
        #expect(try await fixture.dump(new)["rows"]?.count == 7_200)
        #expect(try await indexes(new, in: fixture.log) == [new.prefix + "rows_by_n"])
        let states = try await projector.registry().map(\.state)
        #expect(states == [.live])
    }

    @Test("removing a replaced generation drops its indexes, one step, before it deletes a row; the live generation keeps its own")
    func removeIndexesFirst() async throws {
        let fixture = try await ProjectionLog(clients: 600)
        let projector = Projector(log: fixture.log, projections: [WideProjection()])
        try await projector.catchUp()
        let old = TableNames(projection: "wide", generation: 1)
        #expect(try await indexes(old, in: fixture.log) == [old.prefix + "rows_by_n"])
        try await fixture.log.writeTables { db in
            try WideProjection().createTables(TableNames(projection: "wide", generation: 2), in: db)
            try Registry.retire(old, in: db)
        }
        let step: @Sendable () async throws -> Registry.RemovalStep? = {
            try await fixture.log.writeTables { db in try Registry.removeRetired(rows: 5_000, in: db) }
        }
        let next: @Sendable () async throws -> Registry.RemovalTarget? = {
            try await fixture.log.readTables { db in try Registry.nextRemoval(in: db)?.1 }
        }
        let readAhead: @Sendable () async throws -> Int = {
            try await fixture.log.readTables { db in try Registry.readAhead(rows: 5_000, in: db) }
        }
        #expect(try await next() == .index(old.prefix + "rows_by_n"))
        #expect(try await readAhead() > 1)
        #expect(try await step() == .droppedIndex(old.prefix + "rows_by_n"))
        #expect(try await next() == .rows(table: old.prefix + "rows", keys: #""stream", "n""#))
        // The read-ahead walks the rows the next step deletes.
        #expect(try await readAhead() == 5_000)
        #expect(try await indexes(old, in: fixture.log).isEmpty)
        // The drop frees the index's pages without zeroing them; the writer deletes rows
        // (and everything else) with secure_delete on again.
        #expect(try await fixture.log.writeTables { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") } == 1)
        #expect(try await fixture.dump(old)["rows"]?.count == 7_200)
        #expect(try await step() == .deletedRows(5_000, table: old.prefix + "rows", dropped: false))
        #expect(try await fixture.dump(old)["rows"]?.count == 2_200)
        let new = TableNames(projection: "wide", generation: 2)
        #expect(try await indexes(new, in: fixture.log) == [new.prefix + "rows_by_n"])
    }

    @Test("the reports' SQL indexes cover only staff ids, days, week starts and event ids: their pages are dropped unzeroed")
    func indexesHoldNoPersonalData() async throws {
        let fixture = try await ProjectionLog(clients: 0)
        let columns = try await fixture.log.writeTables { db in
            for projection in ClinicReports.projections {
                try projection.createTables(TableNames(projection: projection.name, generation: 1), in: db)
            }
            // Report tables start with `rp_` (``TableNames``); the log's own have indexes too.
            let indexes = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND substr(tbl_name, 1, 3) = 'rp_'")
            return try indexes.map { index in
                (index, try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?)", arguments: [index]))
            }
        }
        #expect(!columns.isEmpty)
        // A new index on another column: check it against `Registry.removeRetired`'s reason
        // for dropping indexes with `secure_delete = FAST` before adding it here.
        let allowed: Set<String> = ["technician", "supervisor", "day", "week_start", "corrects"]
        for (index, indexed) in columns {
            #expect(Set(indexed).isSubset(of: allowed), "\(index) covers \(indexed)")
        }
    }

    /// The SQLite indexes (not a constraint's) on a generation's `rows` table.
    func indexes(_ tables: TableNames, in log: EventLog) async throws -> [String] {
        try await log.readTables { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?",
                arguments: [tables.prefix + "rows"])
        }
    }

    @Test("a rebuild whose generation another process replaced stops with a clear error and swaps nothing in")
    func replacedWhileBuilding() async throws {
        let fixture = try await ProjectionLog(clients: 300)
        var options = Projector.Options()
        options.maxEventsPerTransaction = 20
        options.pauseBetweenTransactions = .milliseconds(5)
        let first = Projector(log: fixture.log, projections: [CountingProjection(version: 1)], options: options)
        try await first.catchUp()
        // Part-way, another process starts a rebuild of other code: it retires this one.
        let rebuild = Task { try await first.rebuild() }
        for _ in 0..<1_000 {
            if let building = try await first.status().first?.building, building.checkpoint > 0 { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        _ = try await fixture.log.writeTables { db in try Registry.prepareBuilding(CountingProjection(version: 2), in: db) }
        await #expect(throws: ReportsError.rebuildReplaced("counting")) { try await rebuild.value }
        let generations = try await first.registry()
        #expect(generations.first { $0.state == .live }?.generation == 1)
        #expect(generations.first { $0.state == .building }?.version == 2)
        #expect(try await CountingProjection.counts(first).count == 300)
    }

    @Test("two logs open on one file, catching up the audit at once, apply each event once")
    func twoConnections() async throws {
        let scenario = try await ClinicScenario()
        let second = try EventLog(path: scenario.folder.file("log.sqlite"))
        var options = Projector.Options()
        options.maxEventsPerTransaction = 3
        let a = Projector(log: scenario.log, projections: [AuditProjection()], options: options)
        let b = Projector(log: second, projections: [AuditProjection()], options: options)
        async let one: Int64 = a.catchUp()
        async let two: Int64 = b.catchUp()
        _ = try await (one, two)
        let table = try await ClinicReports(projector: a).audit().sections[0]
        #expect(table.rows.count == 2)
        #expect(table.notes == ["2 procedures checked: 1 with findings (2 in all), 1 clean"])
    }
}
