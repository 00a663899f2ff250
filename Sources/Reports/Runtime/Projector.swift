import EventLog
import Foundation
import GRDB
import Synchronization

/// Runs projections: keeps their live tables at the head of the log, rebuilds them beside
/// the live ones after a change, and swaps a rebuilt generation in one transaction.
///
/// Guarantees:
/// - A chunk of events and the checkpoint it moves commit in one transaction; each chunk
///   re-reads the checkpoint inside its transaction and applies only later events, so
///   two processes catching up at once, or a crash at any moment, never apply an event
///   twice or skip one.
/// - A chunk holds the writer for about ``Options/transactionBudget`` at most, its
///   commit included (plus one sub-chunk): appends wait that long at most.
/// - Until a rebuild swaps, reports read the old generation's tables; the swap happens
///   only once the new generation has applied every event up to the head, inside the
///   swap's own transaction.
public final class Projector: Sendable {
    /// How the runtime cuts its work.
    public struct Options: Sendable {
        /// The longest a transaction of projection work holds the writer, its commit
        /// included: the work stops early enough to leave the commit its share, learnt
        /// from the last transactions of the same kind (``HoldPacer``).
        public var transactionBudget: Duration = .milliseconds(40)
        /// At most this many events per transaction (`nil`: bounded by time only).
        public var maxEventsPerTransaction: Int?
        /// Events read (and decoded, one page ahead) at a time.
        public var pageSize = 8_192
        /// How many times a rebuild catches up again when events land before its swap.
        public var swapAttempts = 50
        /// A rest between two transactions (`nil`: none), to leave the writer to
        /// clinicians' appends on a busy day.
        public var pauseBetweenTransactions: Duration?
        /// The writer's page cache while projections run, in KiB.
        public var writerCacheKilobytes = 32_768
        public init() {}
    }

    /// Where a long run stands, for a progress line.
    public struct Progress: Sendable {
        /// What runs: `rebuild history, audit` or `catch-up`.
        public var phase: String
        /// Log positions covered so far in this run.
        public var done: Int64
        /// Log positions this run has to cover (to the head it saw when it started).
        public var total: Int64
        /// Seconds since the run started.
        public var elapsed: Double
        /// What `done` and `total` count: `events`, or `rows` while report indexes are filled.
        public var unit = "events"
    }

    public typealias ProgressHandler = @Sendable (Progress) -> Void

    public let log: EventLog
    /// The projections of this build, one per name.
    public let projections: [any Projection]
    /// Older versions this build still carries, to keep their live tables caught up
    /// until a rebuild swaps them out (optional).
    let legacy: [any Projection]
    public let options: Options
    private let memories = Mutex<[TableNames: Remembered]>([:])
    private let figures = Mutex(WriterFigures())
    private let pacers = Mutex<[WriterWork: HoldPacer]>([:])

    /// Where this projector's time in the log's writer went (for the benchmark and for a
    /// slow rebuild's diagnosis).
    public struct WriterFigures: Sendable {
        /// The longest hold of each kind of transaction that ran (`prepare`, `chunk`,
        /// `index`, `swap`, `removal`), commit included.
        public var longestHoldByKind: [String: Duration] = [:]
        /// The longest one transaction (a chunk, a swap) held the writer, commit included:
        /// what an append waited at most.
        public var longestHold: Duration { longestHoldByKind.values.max() ?? .zero }
        /// Which kind of transaction held it that long (empty when none ran).
        public var longestHoldKind: String { longestHoldByKind.max { $0.value < $1.value }?.key ?? "" }
        /// The time in the writer of every transaction of a run, a swap, a generation's
        /// preparation and the removal of replaced generations, commits included.
        public var total: Duration = .zero
        /// Each projection's fold (``Projection/apply(_:tables:memory:in:)``), by name.
        public var folds: [String: Duration] = [:]
        /// The part of ``total`` spent removing replaced generations (``removeRetired()``).
        public var removal: Duration = .zero
        /// The part of ``total`` spent filling report indexes (``DeferredIndex``).
        public var indexing: Duration = .zero
        /// How many transactions of each kind ran.
        public var holdsByKind: [String: Int] = [:]
        /// How many of them held the writer longer than ``slowHold``.
        public var slowHoldsByKind: [String: Int] = [:]
        /// The longest time of each kind spent committing (the hold minus the
        /// transaction's own work): a long hold with a short body is the commit's writing
        /// (or the disk's), not the fold.
        public var longestCommitByKind: [String: Duration] = [:]
        /// What ``slowHoldsByKind`` counts: holds longer than the rebuild's bound.
        public static let slowHold = Duration.milliseconds(50)
        /// The WAL checkpoints run between transactions, off the writer
        /// (``EventLog/checkpointIfDue()``), and their time (appends went on meanwhile).
        public var checkpoints = 0
        public var checkpointTime: Duration = .zero
        public var longestCheckpoint: Duration = .zero
        /// The pages they copied into the database file.
        public var checkpointedPages = 0
        /// The removal's slowest step (``removeRetired()``): what it did and how long its work
        /// took in the writer (its commit aside).
        public var slowestRemovalStep: (step: String, took: Duration)?
    }

    /// The writer figures since the last call (of every run of this projector: two at once
    /// mix theirs); resets them.
    public func takeWriterFigures() -> WriterFigures {
        figures.withLock { figures in
            defer { figures = WriterFigures() }
            return figures
        }
    }

    /// `target`'s fold of `events`, its time noted for ``takeWriterFigures()``.
    private func fold(_ target: Target, _ events: ArraySlice<ProjectedEvent>, memory: ProjectionMemory, in db: Database) throws {
        let clock = ContinuousClock()
        let start = clock.now
        defer {
            let took = clock.now - start
            figures.withLock { figures in figures.folds[target.projection.name, default: .zero] += took }
        }
        try target.projection.apply(events, tables: target.tables, memory: memory, in: db)
    }

    /// The kinds of transaction a projector holds the writer with.
    enum WriterWork: String {
        case prepare, chunk, index, swap, removal
    }

    /// The commit's share of a transaction's hold, learnt from the last ones of a kind, so
    /// that the next one's work leaves it room within the budget. A commit writes the
    /// pages the work dirtied, so its time grows with the work's: at 1M events a chunk's
    /// 25 ms of folding took up to 34 ms more to commit. The share follows a rise at once
    /// and a fall slowly (a spike is likely to come again).
    struct HoldPacer {
        /// Commit time per unit of work time.
        private(set) var commitShare = 1.0

        mutating func observe(worked: Duration, held: Duration) {
            // A transaction that did (almost) nothing says little about the next.
            guard worked >= .milliseconds(2) else { return }
            let share = max(0, (held - worked) / worked)
            // A fall of 2 % per transaction: with 10 % (tried at 1M events), the share fell
            // back within a few chunks of a slow commit and the next slow one went past 50 ms
            // two to three times as often, for no more speed.
            // At most 9 (a tenth of the budget for the work): one stall of the disk must not
            // starve the next hundred transactions.
            commitShare = min(9, share > commitShare ? share : 0.98 * commitShare + 0.02 * share)
        }

        func workBudget(within budget: Duration) -> Duration {
            max(budget / (1 + commitShare), .milliseconds(2))
        }
    }

    /// `body` in the writer, its time noted for ``takeWriterFigures()``; then, in a bulk
    /// run, the WAL's checkpoint if one is due (off the writer).
    func holdingWriter<T: Sendable>(
        _ kind: WriterWork, durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await measuredHoldingWriter(kind, durable: durable, body).value
    }

    /// ``holdingWriter(_:durable:_:)``, with the time `body` worked in the writer.
    func measuredHoldingWriter<T: Sendable>(
        _ kind: WriterWork, durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> (value: T, worked: Duration) {
        // The hold runs from the body's start (the writer is ours) to the commit's end, both
        // seen in the writer: neither the wait for the writer (behind an append) nor the
        // wait to resume this task afterwards is a hold.
        let clock = ContinuousClock()
        let inside = Mutex<(began: ContinuousClock.Instant?, worked: Duration)>((nil, .zero))
        let result: (value: T, worked: Duration)
        do {
            let (value, committed) = try await log.writeTablesTimed(durable: durable) { db in
                let began = clock.now
                inside.withLock { $0.began = began }
                defer { inside.withLock { $0.worked = clock.now - began } }
                return try body(db)
            }
            let measured = inside.withLock { $0 }
            noteHold(kind, committed, measured)
            result = (value, measured.worked)
        } catch {
            // Rolled back: the hold ended about now.
            noteHold(kind, clock.now, inside.withLock { $0 })
            throw error
        }
        let checkpointStart = clock.now
        // Best effort: the transaction has committed whatever happens here (a failing disk
        // fails the next transaction), and a rebuild that swapped must not report failure.
        if let pages = try? await log.checkpointIfDue() {
            let took = clock.now - checkpointStart
            figures.withLock { figures in
                figures.checkpoints += 1
                figures.checkpointTime += took
                figures.longestCheckpoint = max(figures.longestCheckpoint, took)
                figures.checkpointedPages += pages
            }
        }
        return result
    }

    /// How long a transaction of `kind` may work, to hold the writer no longer than
    /// ``Options/transactionBudget`` with its commit.
    func workBudget(_ kind: WriterWork) -> Duration {
        let pacer = pacers.withLock { $0[kind] ?? HoldPacer() }
        return pacer.workBudget(within: options.transactionBudget)
    }

    /// Notes one hold of the writer that ended at `end`.
    private func noteHold(_ kind: WriterWork, _ end: ContinuousClock.Instant, _ inside: (began: ContinuousClock.Instant?, worked: Duration)) {
        let held = inside.began.map { end - $0 } ?? .zero
        pacers.withLock { $0[kind, default: HoldPacer()].observe(worked: inside.worked, held: held) }
        figures.withLock { figures in
            let name = kind.rawValue
            figures.longestHoldByKind[name] = max(held, figures.longestHoldByKind[name] ?? .zero)
            figures.longestCommitByKind[name] = max(held - inside.worked, figures.longestCommitByKind[name] ?? .zero)
            figures.holdsByKind[name, default: 0] += 1
            if held > WriterFigures.slowHold { figures.slowHoldsByKind[name, default: 0] += 1 }
            figures.total += held
            switch kind {
            case .index: figures.indexing += held
            case .removal: figures.removal += held
            case .prepare, .chunk, .swap: break
            }
        }
    }

    private struct Remembered: @unchecked Sendable {
        // `@unchecked`: ProjectionMemory is itself confined to the writer (see its comment).
        var memory: ProjectionMemory
        var checkpoint: Int64
    }

    /// - Parameters:
    ///   - projections: the current projection of each name.
    ///   - legacy: previous versions still able to fold (kept for one upgrade, optional).
    public init(log: EventLog, projections: [any Projection], legacy: [any Projection] = [], options: Options = Options()) {
        self.log = log
        self.projections = projections
        self.legacy = legacy
        self.options = options
    }

    /// The names of this build's projections, in their order.
    public var names: [String] { projections.map(\.name) }

    /// The projection named `name`.
    ///
    /// - Throws: ``ReportsError/unknownProjection(_:known:)``.
    public func projection(named name: String) throws(ReportsError) -> any Projection {
        guard let projection = projections.first(where: { $0.name == name }) else {
            throw .unknownProjection(name, known: names)
        }
        return projection
    }

    // MARK: - Catch-up

    /// Brings every live projection to the head of the log; builds (or finishes building)
    /// a projection that has no live tables yet. A live generation whose code changed
    /// (rebuild pending) is kept as it is, unless ``legacy`` still has its code.
    ///
    /// - Returns: the number of log positions applied.
    @discardableResult
    public func catchUp(progress: ProgressHandler? = nil) async throws -> Int64 {
        try await log.bulkWrites { try await catchingUp(progress: progress) }
    }

    private func catchingUp(progress: ProgressHandler?) async throws -> Int64 {
        try await ensureRegistry()
        let generations = try await registry()
        if generations.contains(where: { $0.state == .retired }) {
            // Best effort: retired tables are never read, and the next run tries again.
            try? await removeRetired()
        }
        var targets: [Target] = []
        var missing: [any Projection] = []
        for projection in projections {
            guard let live = generations.first(where: { $0.name == projection.name && $0.state == .live }) else {
                missing.append(projection)
                continue
            }
            if let code = implementation(of: live) {
                targets.append(Target(projection: code, tables: live.tables, checkpoint: live.checkpoint, state: .live))
            }
        }
        let applied = try await run(targets, phase: "catch-up", progress: progress)
        if !missing.isEmpty {
            _ = try await build(missing, progress: progress)
        }
        return applied
    }

    /// The code that folds `generation`: the current projection when its signature
    /// matches, else a legacy one that does, else none (its tables stay as they are).
    func implementation(of generation: Generation) -> (any Projection)? {
        (projections + legacy).first { $0.name == generation.name && $0.signature == generation.signature }
    }

    // MARK: - Rebuild

    /// What one rebuild did.
    public struct RebuildSummary: Sendable, Hashable {
        public var name: String
        public var version: Int
        public var generation: Int
        /// Whether it went on from an interrupted rebuild.
        public var resumed: Bool
        /// The checkpoint of the swapped-in tables (the head at the swap).
        public var checkpoint: Int64
    }

    /// Rebuilds `names` (all when `nil`) beside the live tables, in chunks, then swaps
    /// them in. An interrupted rebuild of the same code goes on where it stopped; one of
    /// other code starts again.
    ///
    /// - Throws: ``ReportsError/unknownProjection(_:known:)`` (before anything is
    ///   written), ``ReportsError/swapStarved(_:attempts:)``, `CancellationError` when the
    ///   task is cancelled (the work done so far is kept and resumed next time), or a
    ///   store error.
    public func rebuild(_ names: [String]? = nil, progress: ProgressHandler? = nil) async throws -> [RebuildSummary] {
        var chosen: [any Projection] = []
        for name in names ?? self.names where !chosen.contains(where: { $0.name == name }) {
            chosen.append(try projection(named: name))
        }
        try await ensureRegistry()
        return try await build(chosen, progress: progress)
    }

    /// Builds a new generation of each projection (or resumes one being built with the
    /// same code) and swaps it in.
    private func build(_ chosen: [any Projection], progress: ProgressHandler?) async throws -> [RebuildSummary] {
        try await log.bulkWrites { try await building(chosen, progress: progress) }
    }

    private func building(_ chosen: [any Projection], progress: ProgressHandler?) async throws -> [RebuildSummary] {
        let prepared: [(Target, Bool)] = try await holdingWriter(.prepare) { db in
            try chosen.map { projection in try Registry.prepareBuilding(projection, in: db) }
        }
        var targets = prepared.map(\.0)
        let phase = "rebuild " + chosen.map(\.name).joined(separator: ", ")
        if targets.contains(where: { $0.indexPhase != .indexed }) {
            // Load the base tables (a generation already indexing is not written), fill the
            // report indexes in key order, then catch up below with their triggers on.
            _ = try await run(targets.filter { $0.indexPhase == .loading }, phase: phase, progress: progress)
            try await buildIndexes(targets.filter { $0.indexPhase != .indexed }, phase: phase, progress: progress)
            targets = try await refreshed(targets)
        }
        let attempts = max(1, options.swapAttempts)
        for attempt in 1...attempts {
            _ = try await run(targets, phase: phase, progress: progress)
            if let checkpoint = try await swap(targets) {
                try await removeRetired()
                return zip(targets, prepared).map { target, prepared in
                    RebuildSummary(
                        name: target.projection.name, version: target.projection.version, generation: target.tables.generation,
                        resumed: prepared.1, checkpoint: checkpoint)
                }
            }
            if attempt == attempts { break }
            targets = try await refreshed(targets)
        }
        throw ReportsError.swapStarved(chosen.map(\.name).joined(separator: ", "), attempts: attempts)
    }

    /// `targets` with their checkpoints and index phases as the registry holds them now.
    private func refreshed(_ targets: [Target]) async throws -> [Target] {
        let generations = try await registry()
        return targets.map { target in
            var target = target
            if let stored = generations.first(where: { $0.tables == target.tables }) {
                target.checkpoint = stored.checkpoint
                target.indexPhase = stored.indexPhase
            }
            return target
        }
    }

    /// Most events a swap applies itself, inside its transaction, to reach the head (more
    /// than that, and the rebuild catches up in chunks again first).
    static let swapTail: Int64 = 2_000

    /// Swaps each target's generation in once it reaches the head: the few events appended
    /// since the last chunk are applied inside the swap's own transaction, so a busy chain
    /// cannot keep the swap from happening. Returns the head then, or `nil` when the
    /// rebuild is too far behind to finish within one short transaction.
    ///
    /// - Throws: ``ReportsError/rebuildReplaced(_:)`` when another process replaced a
    ///   generation being built.
    private func swap(_ targets: [Target]) async throws -> Int64? {
        let swapped: (Int64, [TableNames])?
        do {
            swapped = try await swapTransaction(targets)
        } catch {
            forget(targets.map(\.tables))
            throw error
        }
        guard let (head, tables) = swapped else { return nil }
        for table in tables { remember(table, checkpoint: head) }
        return head
    }

    private func swapTransaction(_ targets: [Target]) async throws -> (Int64, [TableNames])? {
        let clinics = try await DecodedPages.clinicTimes(in: log)
        return try await holdingWriter(.swap) { db in
            let head = try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0
            var pending: [(Target, Int64)] = []
            for target in targets {
                guard let generation = try Registry.generation(target.tables, in: db) else {
                    throw ReportsError.rebuildReplaced(target.projection.name)
                }
                switch generation.state {
                case .building:
                    // Not before its report indexes are filled (``DeferredIndex``).
                    if generation.indexPhase != .indexed || head - generation.checkpoint > Self.swapTail { return nil }
                    pending.append((target, generation.checkpoint))
                case .live:
                    // Another process resumed the same build and swapped it in first.
                    continue
                case .retired:
                    throw ReportsError.rebuildReplaced(target.projection.name)
                }
            }
            if let from = pending.map(\.1).min(), from < head {
                let stored = try self.log.events(from: from + 1, through: head, in: db)
                let times = DecodedPages.folding(stored, into: clinics)
                var events = try stored.map { try ProjectedEvent($0, times: times) }
                try Correction.resolve(&events, log: self.log, times: times, in: db)
                for (target, checkpoint) in pending where checkpoint < head {
                    let memory = self.memory(for: target.tables, checkpoint: checkpoint)
                    let relevant = events.filter { $0.position > checkpoint && target.reads.contains($0.type) }
                    if !relevant.isEmpty { try self.fold(target, relevant[...], memory: memory, in: db) }
                    try Registry.setCheckpoint(target.tables, head, in: db)
                }
            }
            for (target, _) in pending {
                try Registry.swapIn(target.tables, in: db)
            }
            return (head, pending.map(\.0.tables))
        }
    }

    // MARK: - Running a fold

    struct Target: Sendable {
        var projection: any Projection
        var tables: TableNames
        var checkpoint: Int64
        /// The state the generation must still be in for this run to write it (a
        /// generation another process retired meanwhile is left alone).
        var state: Generation.State
        /// Where its report indexes stand (see ``DeferredIndex``).
        var indexPhase: Generation.IndexPhase
        /// The types the projection reads (computed once).
        let reads: Set<String>

        init(projection: any Projection, tables: TableNames, checkpoint: Int64, state: Generation.State, indexPhase: Generation.IndexPhase = .indexed) {
            self.projection = projection
            self.tables = tables
            self.checkpoint = checkpoint
            self.state = state
            self.indexPhase = indexPhase
            reads = projection.reads
        }
    }

    /// Applies every event after the targets' checkpoints up to the head seen at the start,
    /// one page decoded ahead while the writer applies the current one.
    private func run(_ targets: [Target], phase: String, progress: ProgressHandler?) async throws -> Int64 {
        guard let first = targets.map(\.checkpoint).min() else { return 0 }
        let head = try await log.head().position
        guard head > first else { return 0 }
        let reads = targets.reduce(into: Set<String>()) { $0.formUnion($1.reads) }
        let source = DecodedPages(log, from: first + 1, pageSize: options.pageSize, reads: reads, through: head)
        let started = ContinuousClock.now
        let total = head - first
        var current = try await source.next()
        var transactions = 0
        while let page = current {
            async let following = source.next()
            var index = 0
            repeat {
                try Task.checkCancellation()
                if let pause = options.pauseBetweenTransactions, transactions > 0 { try await Task.sleep(for: pause) }
                transactions += 1
                let from = index
                // Not durable on its own: a projection is rebuilt from the log, and its rows and
                // checkpoint stay consistent (the next append's commit makes them durable).
                let chunk: (index: Int, moved: [TableNames], covered: Int64)
                do {
                    chunk = try await holdingWriter(.chunk, durable: false) { db in
                        try self.applyChunk(page, from: from, targets: targets, reads: reads, in: db)
                    }
                } catch {
                    // The caches saw work that was rolled back.
                    forget(targets.map(\.tables))
                    try? await restoreWriterSettings()
                    throw error
                }
                index = chunk.index
                for tables in chunk.moved { remember(tables, checkpoint: chunk.covered) }
                if let progress {
                    let covered = index < page.events.count ? page.events[index - 1].position : page.last
                    let elapsed = started.duration(to: .now)
                    progress(Progress(phase: phase, done: covered - first, total: total, elapsed: elapsed.seconds))
                }
            } while index < page.events.count
            current = try await following
        }
        try await restoreWriterSettings()
        return total
    }

    /// SQLite's own page cache and checkpoint interval again, for the appends that share
    /// the writer after a run.
    func restoreWriterSettings() async throws {
        try await log.writeTables { db in
            try db.execute(sql: "PRAGMA cache_size = -2000")
        }
    }

    /// One transaction: applies events of `page` from `start` to each target until the
    /// budget is spent, moves the checkpoints, and returns the index reached.
    private func applyChunk(
        _ page: DecodedPage, from start: Int, targets: [Target], reads: Set<String>, in db: Database
    ) throws -> (index: Int, moved: [TableNames], covered: Int64) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: workBudget(.chunk))
        let limit = options.maxEventsPerTransaction.map { min(page.events.count, start + $0) } ?? page.events.count
        try tuneWriter(db)
        // Each target's checkpoint as stored now (another process may have moved it); a
        // generation whose report indexes are being filled is not written meanwhile.
        var states: [(Target, Int64, ProjectionMemory)] = []
        for target in targets {
            guard let stored = try Registry.generation(target.tables, in: db), stored.state == target.state,
                  stored.indexPhase != .indexing else { continue }
            states.append((target, stored.checkpoint, memory(for: target.tables, checkpoint: stored.checkpoint)))
        }
        var index = start
        let step = 256
        repeat {
            let end = min(limit, index + step)
            for (target, checkpoint, memory) in states {
                // Only events after the checkpoint (sorted: skip a prefix).
                var lower = index
                while lower < end, page.events[lower].position <= checkpoint { lower += 1 }
                guard lower < end else { continue }
                if target.reads == reads {
                    try fold(target, page.events[lower..<end], memory: memory, in: db)
                } else {
                    // Each projection sees only the types it reads.
                    let relevant = page.events[lower..<end].filter { target.reads.contains($0.type) }
                    if !relevant.isEmpty { try fold(target, relevant[...], memory: memory, in: db) }
                }
            }
            index = end
        } while index < limit && clock.now < deadline
        let covered = index < page.events.count ? page.events[index - 1].position : page.last
        var moved: [TableNames] = []
        for (target, checkpoint, _) in states where covered > checkpoint {
            try Registry.setCheckpoint(target.tables, covered, in: db)
            moved.append(target.tables)
        }
        return (index, moved, covered)
    }

    /// The writer's settings while projections write a lot (``restoreWriterSettings()`` after).
    func tuneWriter(_ db: Database) throws {
        // A larger page cache than SQLite's 2 MB default: projections touch many pages of
        // several tables at once, and a spilled cache goes through the WAL.
        try db.execute(sql: "PRAGMA cache_size = -\(options.writerCacheKilobytes)")
        // No `wal_autocheckpoint` here: the pragma would replace the log's own WAL hook,
        // and in a bulk run the log checkpoints between transactions, off the writer
        // (``EventLog/bulkWrites(_:)``).
    }

    /// The memory of a generation, new when someone else moved its checkpoint since this
    /// process last wrote it.
    private func memory(for tables: TableNames, checkpoint: Int64) -> ProjectionMemory {
        memories.withLock { memories in
            if let remembered = memories[tables], remembered.checkpoint == checkpoint { return remembered.memory }
            let fresh = ProjectionMemory()
            memories[tables] = Remembered(memory: fresh, checkpoint: checkpoint)
            return fresh
        }
    }

    /// Called once a transaction that moved `tables` to `checkpoint` has committed.
    private func remember(_ tables: TableNames, checkpoint: Int64) {
        memories.withLock { memories in memories[tables]?.checkpoint = checkpoint }
    }

    /// Drops the caches of `tables` (their last transaction rolled back).
    private func forget(_ tables: [TableNames]) {
        memories.withLock { memories in
            for table in tables { memories[table] = nil }
        }
    }

    /// Empties and drops the tables of replaced generations: first their SQLite indexes, one
    /// per transaction, then a few thousand rows per transaction in key order (see
    /// ``Registry/removeRetired(rows:in:)``). Appends wait one step at most: each step's
    /// pages are read on a reader first (``Registry/readAhead(rows:in:)``), while appends go
    /// on. Steps sized to the budget from the last one's time (500–20,000 rows) were tried
    /// before the indexes were dropped first: slower, and no bound on the hold.
    public func removeRetired() async throws {
        try await log.bulkWrites {
            while true {
                // Only a speed-up: a failure (no `dbstat` in this SQLite) leaves the reads to
                // the writer.
                _ = try? await log.readTables { db in try Registry.readAhead(rows: Self.removalRows, in: db) }
                // Not durable: a step lost to a power cut is done again by the next removal
                // (the generation stays retired until its last table is gone), and waiting
                // for the disk after each of them held the writer up to 120 ms at 1M events.
                let (step, took) = try await measuredHoldingWriter(.removal, durable: false) { db in
                    try Registry.removeRetired(rows: Self.removalRows, in: db)
                }
                guard let step else { return }
                figures.withLock { figures in
                    if took > figures.slowestRemovalStep?.took ?? .zero { figures.slowestRemovalStep = (step.description, took) }
                }
                try Task.checkCancellation()
            }
        }
    }

    /// Rows one removal step deletes.
    static let removalRows = 5_000

    // MARK: - Registry

    func ensureRegistry() async throws {
        let current = try await log.readTables { db in try db.tableExists(Registry.table) && !Registry.needsMigration(in: db) }
        if !current { try await log.writeTables { db in try Registry.create(in: db) } }
    }

    func registry() async throws -> [Generation] {
        try await log.readTables { db in try Registry.all(in: db) }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
