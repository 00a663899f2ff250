import Foundation
import GRDB
import GRDBSQLite
import Logging

/// An append-only, hash-chained, LZ4-compressed event log in one SQLite file.
///
/// ```swift
/// let log = try EventLog.create(at: "stipple.sqlite")
/// let appended = try await log.append([
///     NewEvent(stream: "client-42", type: "ClientRegistered", expectedVersion: .noStream,
///              payload: Array(#"{"clinic":"toronto"}"#.utf8)),
/// ])
/// let events = try await log.read(stream: "client-42")
/// let report = try await log.verify()
/// ```
///
/// Guarantees:
/// - Positions are gapless from 1; stream versions are gapless from 1 per stream.
/// - An append of one or many events, to one or several streams, lands whole or not at
///   all, and returns only once durable (`synchronous=FULL`).
/// - Appends from many tasks are group-committed by one writer; readers never block
///   it (WAL).
/// - Events cannot be updated or deleted: triggers in the database abort such
///   statements, and the chain hash lets ``verify(progress:)`` find any change made
///   behind the triggers' back.
public final class EventLog: Sendable {
    /// Limits on what one event may carry.
    public struct Limits: Sendable, Hashable {
        /// Largest payload, uncompressed (default 1 MiB).
        public var maxPayloadBytes = 1 << 20
        /// Largest metadata, as canonical JSON (default 16 KiB).
        public var maxMetadataBytes = 16 << 10
        /// Longest stream or type name, in UTF-8 bytes (default 200).
        public var maxNameBytes = 200
        public init() {}
    }

    /// How a log is opened.
    public struct Configuration: Sendable {
        /// Open without the right to write (auditors, backups under verification).
        public var readOnly = false
        /// What one event may carry.
        public var limits = Limits()
        /// Stop the file from growing past this many pages (tests simulate a full disk).
        public var maxPageCount: Int? = nil
        /// The log trains its first dictionary once it holds this many events, and a
        /// new one each time it has grown tenfold since the last training. 0 turns
        /// automatic training off (`stipple compress train` still works).
        public var autoTrainThreshold = 1_000
        /// Size of trained dictionaries, in bytes (at most 64 KiB).
        public var dictionarySize = 32 * 1024
        /// How many recent payloads a training samples.
        public var trainingSamples = 2_000
        /// How long a writer waits for another process's write lock.
        public var busyTimeout: TimeInterval = 10
        /// In a ``EventLog/bulkWrites(_:)`` run, the WAL's size in pages not yet copied past
        /// which ``EventLog/checkpointIfDue()`` copies it (64 MiB at 4 KiB pages: fewer,
        /// larger checkpoints copy a page rewritten by many transactions once).
        public var bulkCheckpointPages = 16_384
        /// The clock that stamps `recordedAt` (injected in tests).
        public var clock: @Sendable () -> Date = { Date() }
        public init() {}
    }

    /// The file's path.
    public let path: String
    /// How it was opened.
    public let configuration: Configuration
    let pool: DatabasePool
    let catalog: Catalog
    let writer: GroupCommitWriter?
    let logger: Logger
    /// The writer's WAL checkpoints (see ``WALCheckpoints``).
    let checkpoints: WALCheckpoints

    /// Opens an existing log.
    ///
    /// - Throws: ``EventLogError/noLog(path:)`` when the file does not exist,
    ///   ``EventLogError/notAStippleLog(path:reason:)`` when it is not a Stipple log (it
    ///   is not modified), ``EventLogError/logFromNewerVersion(path:unknownMigrations:)``.
    public convenience init(path: String, configuration: Configuration = Configuration(), logger: Logger = EventLog.silentLogger) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw EventLogError.noLog(path: path) }
        try FileHeader.checkIsStippleLog(path: path)
        try self.init(checkedPath: path, configuration: configuration, logger: logger)
    }

    /// Creates a new log at `path`; refuses when anything exists there.
    ///
    /// - Throws: ``EventLogError/notAStippleLog(path:reason:)`` when a file that is not
    ///   a log is there, or a ``EventLogError/database(code:message:)`` when the folder
    ///   cannot be written.
    public static func create(at path: String, configuration: Configuration = Configuration(), logger: Logger = EventLog.silentLogger) throws -> EventLog {
        if FileManager.default.fileExists(atPath: path) {
            try FileHeader.checkIsStippleLog(path: path)
            throw EventLogError.database(code: 0, message: "a Stipple log already exists at \(path)")
        }
        do {
            // Created in rollback-journal mode so the header (application id) is in the
            // main file before anything else can see it; the pool then switches to WAL.
            // Readable by its owner only (clinic records).
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw EventLogError.database(code: 14, message: "cannot create \(path)")
            }
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA application_id = \(LogSchema.applicationID)")
            }
            try LogSchema.migrator.migrate(queue)
            try queue.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw StoreErrors.translate(error, path: path)
        }
        logger.info("created event log", metadata: ["path": "\(path)"])
        return try EventLog(checkedPath: path, configuration: configuration, logger: logger)
    }

    /// A logger that drops everything (the default when the caller gives none).
    public static let silentLogger = Logger(label: "stipple.eventlog", factory: { _ in SwiftLogNoOpLogHandler() })

    private init(checkedPath path: String, configuration: Configuration, logger: Logger) throws {
        self.path = path
        self.configuration = configuration
        self.logger = logger
        var config = GRDB.Configuration()
        config.readonly = configuration.readOnly
        config.foreignKeysEnabled = false
        config.busyMode = .timeout(configuration.busyTimeout)
        config.label = "stipple"
        let maxPages = configuration.maxPageCount
        let checkpoints = WALCheckpoints(path: path, bulkFrames: configuration.bulkCheckpointPages)
        self.checkpoints = checkpoints
        config.prepareDatabase { db in
            checkpoints.install(on: db)
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted content is overwritten (a destroyed client key, replaced report rows).
            try db.execute(sql: "PRAGMA secure_delete = ON")
            if let maxPages { try db.execute(sql: "PRAGMA max_page_count = \(maxPages)") }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            let migrator = LogSchema.migrator
            let (superseded, complete, applied) = try pool.read { db in
                (try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db), try migrator.appliedIdentifiers(db))
            }
            if superseded {
                let known = Set(migrator.migrations)
                throw EventLogError.logFromNewerVersion(path: path, unknownMigrations: applied.filter { !known.contains($0) }.sorted())
            }
            if !complete && !configuration.readOnly {
                try migrator.migrate(pool)
            }
            if !configuration.readOnly {
                // GRDB sets `synchronous = NORMAL` on the writer after `prepareDatabase`, when
                // it turns WAL on: appends must wait for the disk from the first one.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            }
        } catch let error as EventLogError {
            throw error
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
        catalog = Catalog()
        if configuration.readOnly {
            writer = nil
        } else {
            let appender = Appender(limits: configuration.limits, catalog: catalog, clock: configuration.clock)
            let threshold = configuration.autoTrainThreshold
            let trainer = DictionaryTraining(configuration: configuration, catalog: catalog, logger: logger)
            writer = GroupCommitWriter(pool: pool, appender: appender, catalog: catalog, path: path) { db, appender in
                guard threshold > 0, appender.head >= appender.trainingQuietUntil else { return }
                if !trainer.trainIfDue(db, head: appender.head, threshold: threshold) {
                    // Nothing to learn from yet (or a failure): try again once the log has doubled.
                    appender.trainingQuietUntil = appender.head * 2
                }
            }
        }
    }

    /// Closes the file (optional: the log closes when released).
    public func close() throws {
        do {
            try checkpoints.close()
        } catch {
            try? pool.close()
            throw error
        }
        try pool.close()
    }

    // MARK: - Append

    /// Appends `events` atomically: all land, in order, or none does.
    ///
    /// Each event's `expectedVersion` is checked against its stream's version at the
    /// moment it is appended (so a batch may append several events to one stream).
    /// An event whose id is already stored with the same content is not written again:
    /// its original position comes back with `wasAlreadyStored` set.
    ///
    /// - Returns: where each event landed, in order; only once the write is durable.
    /// - Throws: ``EventLogError/versionConflict(stream:expected:actual:)``,
    ///   ``EventLogError/eventIdReused(id:position:difference:)``,
    ///   ``EventLogError/invalidEvent(id:field:reason:)``,
    ///   ``EventLogError/tooLarge(id:field:size:limit:)``, ``EventLogError/diskFull(path:)``,
    ///   ``EventLogError/readOnly(path:)``. Nothing is written when it throws.
    @discardableResult
    public func append(_ events: [NewEvent]) async throws -> [AppendedEvent] {
        guard let writer else { throw EventLogError.readOnly(path: path) }
        if events.isEmpty { return [] }
        return try await writer.append(.events(events))
    }

    /// Decides events from the current state of the streams and appends them, in one
    /// write transaction: nothing can be appended to those streams in between, so rules
    /// that span several streams hold.
    ///
    /// `decide` runs on the log's writer, inside the transaction; it reads through the
    /// ``TransactionReader`` it is given (which sees everything committed before, and
    /// every append decided before it in the same group) and returns the events to
    /// append, or throws to refuse (nothing is written then). Keep it short and free of
    /// I/O: every other append waits for it.
    ///
    /// - Returns: where each event landed, once durable.
    /// - Throws: whatever `decide` throws, or any error of ``append(_:)-([NewEvent])``.
    @discardableResult
    public func transact(_ decide: @escaping @Sendable (TransactionReader) throws -> [NewEvent]) async throws -> [AppendedEvent] {
        try await transact([decide])
    }

    /// Takes several decisions one after another in one transaction: each sees the events
    /// the ones before it appended, and all land or none does (a batch of commands).
    ///
    /// - Returns: every appended event, in order.
    @discardableResult
    public func transact(_ decisions: [@Sendable (TransactionReader) throws -> [NewEvent]]) async throws -> [AppendedEvent] {
        guard let writer else { throw EventLogError.readOnly(path: path) }
        if decisions.isEmpty { return [] }
        return try await writer.append(.decide(decisions))
    }

    /// Appends one event; see ``append(_:)-([NewEvent])``.
    @discardableResult
    public func append(_ event: NewEvent) async throws -> AppendedEvent {
        try await append([event])[0]
    }

    // MARK: - Read

    /// The position and hash of the newest event (position 0 and 32 zero bytes when empty).
    public func head() async throws -> LogHead {
        try await read { db in try LogHead.fetch(db) }
    }

    /// Every (type, schema version) pair the log holds, sorted. Cheap: read from a small
    /// table the writer keeps, not from the events.
    public func storedTypeVersions() async throws -> [(type: String, version: Int32)] {
        try await read { db in
            // A log opened read-only before its "stored type versions" migration ran has
            // no such table: scan the events instead.
            let source = try db.tableExists("event_type_versions")
                ? "event_type_versions" : "(SELECT DISTINCT type_id, schema_version FROM events)"
            return try Row.fetchAll(db, sql: """
                SELECT t.name, v.schema_version FROM \(source) v JOIN event_types t ON t.id = v.type_id
                ORDER BY t.name, v.schema_version
                """).map { (type: $0[0] as String, version: Int32(truncatingIfNeeded: $0[1] as Int64)) }
        }
    }

    /// The current version of `stream` (0 when it has no event).
    public func streamVersion(_ stream: String) async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT version FROM streams WHERE name = ?", arguments: [stream]) ?? 0
        }
    }

    /// Where the events with these ids landed (in the order given; `nil` for an id the log
    /// does not hold), as a retried append would report them (`wasAlreadyStored`).
    public func appended(ids: [UUID]) async throws -> [AppendedEvent?] {
        try await read { db in
            try ids.map { id in
                try Row.fetchOne(db, sql: """
                    SELECT e.position, s.name, e.stream_version FROM events e JOIN streams s ON s.id = e.stream_id WHERE e.event_id = ?
                    """, arguments: [Data(id.byteArray)]).map {
                    AppendedEvent(position: $0[0], stream: $0[1], streamVersion: $0[2], id: id, wasAlreadyStored: true)
                }
            }
        }
    }

    /// The names of the streams whose names start with `prefix` (by their bytes), sorted.
    public func streamNames(prefix: String) async throws -> [String] {
        try await read { db in try Self.streamNames(prefix: prefix, db) }
    }

    static func streamNames(prefix: String, _ db: Database) throws -> [String] {
        // A range of the name index (names compare by their bytes) when the prefix has an
        // upper bound, not a scan of every stream (a chain has one per client).
        var upper = Array(prefix.utf8)
        while let last = upper.last, last == 0xFF { upper.removeLast() }
        if let last = upper.last { upper[upper.count - 1] = last + 1 }
        let range = upper.isEmpty ? "" : "name >= ? AND name < CAST(? AS TEXT) AND "
        let bounds: StatementArguments = upper.isEmpty ? [] : [prefix, Data(upper)]
        return try String.fetchAll(
            db, sql: "SELECT name FROM streams WHERE \(range)substr(CAST(name AS BLOB), 1, ?) = CAST(? AS BLOB) ORDER BY name",
            arguments: bounds + [prefix.utf8.count, prefix])
    }

    /// Up to `limit` events of one stream, from version `from` (inclusive) in `direction`.
    ///
    /// Forward reads start at version 1 by default, backward reads at the newest.
    public func read(stream: String, from version: Int64? = nil, direction: ReadDirection = .forward, limit: Int = 1_000) async throws -> [RecordedEvent] {
        try await read { db in
            guard let streamID = try Int64.fetchOne(db, sql: "SELECT id FROM streams WHERE name = ?", arguments: [stream]) else {
                return []
            }
            let sql = direction == .forward
                ? "SELECT \(EventRows.columns) FROM events WHERE stream_id = ?1 AND stream_version >= ?2 ORDER BY stream_version LIMIT ?3"
                : "SELECT \(EventRows.columns) FROM events WHERE stream_id = ?1 AND stream_version <= ?2 ORDER BY stream_version DESC LIMIT ?3"
            let start = version ?? (direction == .forward ? 1 : Int64.max)
            return try EventRows.fetch(
                db, sql: sql, arguments: [streamID, start, Int64(max(0, limit))], catalog: self.catalog, stream: (streamID, stream))
        }
    }

    /// Up to `limit` events of the whole log from position `from` (inclusive), in order.
    ///
    /// Large pages are read as two halves on two reader connections at once (positions
    /// are immutable and gapless, so two snapshots agree on every position up to the
    /// head read first).
    public func readAll(from position: Int64 = 1, limit: Int = 1_000) async throws -> [RecordedEvent] {
        let limit = Int64(max(0, limit))
        let start = max(position, 1)
        let (end, overflow) = start.addingReportingOverflow(limit - 1)
        let requestedLast = overflow ? Int64.max : end
        if limit < 4_096 {
            return try await readRange(start, requestedLast)
        }
        let head = try await read { db in try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0 }
        let last = min(head, requestedLast)
        guard last >= start else { return [] }
        let middle = start + (last - start + 1) / 2
        async let firstHalf = readRange(start, middle - 1)
        async let secondHalf = readRange(middle, last)
        var events = try await firstHalf
        events.append(contentsOf: try await secondHalf)
        return events
    }

    /// The events at `positions` (in the order given; positions past the head are left out).
    ///
    /// For read models that index events by position and read their bodies from the log
    /// (one primary-key lookup each, in one snapshot).
    public func events(at positions: [Int64]) async throws -> [RecordedEvent] {
        if positions.isEmpty { return [] }
        return try await read { db in
            var events: [RecordedEvent] = []
            events.reserveCapacity(positions.count)
            for position in positions {
                events += try EventRows.fetch(
                    db, sql: "SELECT \(EventRows.columns) FROM events WHERE position = ?1", arguments: [position], catalog: self.catalog)
            }
            return events
        }
    }

    private func readRange(_ first: Int64, _ last: Int64) async throws -> [RecordedEvent] {
        guard last >= first else { return [] }
        return try await read { db in
            try EventRows.fetch(
                db, sql: "SELECT \(EventRows.columns) FROM events WHERE position >= ?1 AND position <= ?2 ORDER BY position",
                arguments: [first, last], catalog: self.catalog, expected: Int(last - first + 1))
        }
    }

    /// Every event from position `from`, fetched in pages of `pageSize`, as an async sequence.
    ///
    /// The sequence ends at the head it finds when it reaches the end; it does not wait
    /// for new events.
    public func events(from position: Int64 = 1, pageSize: Int = 1_000) -> EventSequence {
        EventSequence(log: self, start: position, pageSize: max(1, pageSize))
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
    }
}

/// The newest position of the log and its chain hash.
public struct LogHead: Sendable, Hashable {
    /// The newest position (0 when the log is empty).
    public var position: Int64
    /// Its chain hash (32 zero bytes when empty).
    public var hash: [UInt8]
    /// The hash in lower-case hexadecimal.
    public var hashHex: String { hash.hexString }

    static func fetch(_ db: Database) throws -> LogHead {
        if let row = try Row.fetchOne(db, sql: "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1") {
            return LogHead(position: row[0], hash: Array(row[1] as Data))
        }
        return LogHead(position: 0, hash: ChainHasher.genesis)
    }
}

/// The whole log (or its tail) as an async sequence of events, read page by page.
public struct EventSequence: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    let log: EventLog
    let start: Int64
    let pageSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(log: log, next: start, pageSize: pageSize)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let log: EventLog
        var next: Int64
        let pageSize: Int
        var page: [RecordedEvent] = []
        var index = 0
        var finished = false

        public mutating func next() async throws -> RecordedEvent? {
            if index == page.count {
                if finished { return nil }
                page = try await log.readAll(from: next, limit: pageSize)
                index = 0
                guard let last = page.last else {
                    finished = true
                    return nil
                }
                next = last.position + 1
            }
            defer { index += 1 }
            return page[index]
        }
    }
}

/// The whole log (or its tail) as an async sequence of pages, each page read while the
/// caller still works on the one before (one page ahead), for replays and projections.
public struct EventPages: AsyncSequence, Sendable {
    public typealias Element = [RecordedEvent]
    let log: EventLog
    let start: Int64
    let pageSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(log: log, next: start, pageSize: pageSize)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let log: EventLog
        var next: Int64
        let pageSize: Int
        var ahead: Task<[RecordedEvent], any Error>?
        var finished = false

        public mutating func next() async throws -> [RecordedEvent]? {
            if finished { return nil }
            let page: [RecordedEvent]
            if let ahead {
                page = try await ahead.value
            } else {
                page = try await log.readAll(from: next, limit: pageSize)
            }
            guard let last = page.last else {
                finished = true
                ahead = nil
                return nil
            }
            next = last.position + 1
            let (log, from, size) = (self.log, next, pageSize)
            ahead = Task { try await log.readAll(from: from, limit: size) }
            return page
        }
    }
}

extension EventLog {
    /// Every event from position `from` in pages of `pageSize`, the next page read while
    /// the caller works on the current one. Ends at the head it finds.
    public func pages(from position: Int64 = 1, pageSize: Int = 10_000) -> EventPages {
        EventPages(log: self, start: position, pageSize: max(1, pageSize))
    }
}

/// Reading event rows with the C API (see SQLiteRaw.swift for why).
enum EventRows {
    static let columns = "position, event_id, stream_id, stream_version, type_id, schema_version, recorded_at, metadata, codec, raw_length, payload"

    /// Reads event rows. `stream`: the one stream the rows are known to be of (looked up by
    /// name already). `shareTypeNames`: keep the type names it loads in the process-wide
    /// cache (only for reads of committed data).
    static func fetch(
        _ db: Database, sql: String, arguments: [Int64?], catalog: Catalog, expected: Int? = nil,
        stream: (id: Int64, name: String)? = nil, shareTypeNames: Bool = true
    ) throws -> [RecordedEvent] {
        let prepared = try db.cachedStatement(sql: sql)
        defer { _ = withExtendedLifetime(prepared) { sqlite3_reset(prepared.sqliteStatement) } }
        let statement = prepared.sqliteStatement
        for (index, argument) in arguments.enumerated() {
            if let argument { statement.bind(Int32(index + 1), int64: argument) }
        }
        var events: [RecordedEvent] = []
        if let expected { events.reserveCapacity(min(expected, 100_000)) }
        var streams = catalog.streamResolver(known: stream.map { [$0.id: $0.name] } ?? [:])
        var types = catalog.typeResolver()
        defer { if shareTypeNames { catalog.remember(types: types) } }
        var lastCodec: (id: Int32, decompressor: LZ4Decompressor)?
        var scratch: [UInt8] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw db.rawError(code, sql: sql) }
            let position = statement.int64(0)
            let codecID = Int32(truncatingIfNeeded: statement.int64(8))
            let decompressor: LZ4Decompressor
            if let lastCodec, lastCodec.id == codecID {
                decompressor = lastCodec.decompressor
            } else if let loaded = try catalog.decompressor(codecID, in: db) {
                lastCodec = (codecID, loaded)
                decompressor = loaded
            } else {
                throw EventLogError.corruptEvent(position: position, reason: "unknown codec \(codecID)")
            }
            guard let payload = decompressor.decode(statement.blob(10), rawLength: Int(statement.int64(9))) else {
                throw EventLogError.corruptEvent(position: position, reason: "payload does not decode with codec \(codecID)")
            }
            guard let id = UUID(bytes: statement.blob(1)) else {
                throw EventLogError.corruptEvent(position: position, reason: "event id is not 16 bytes")
            }
            var metadata: [UInt8]?
            if !statement.isNull(7) {
                guard let decoded = decompressor.decodeUnsized(statement.blob(7), scratch: &scratch) else {
                    throw EventLogError.corruptEvent(position: position, reason: "metadata does not decode with codec \(codecID)")
                }
                metadata = decoded
            }
            guard let stream = try streams.name(statement.int64(2), in: db),
                  let type = try types.name(statement.int64(4), in: db)
            else {
                throw EventLogError.corruptEvent(position: position, reason: "its stream or type is missing from the catalogue")
            }
            events.append(RecordedEvent(
                position: position, id: id, stream: stream, streamVersion: statement.int64(3), type: type,
                schemaVersion: Int32(truncatingIfNeeded: statement.int64(5)), recordedAtMicros: statement.int64(6),
                metadataJSON: metadata, payload: payload))
        }
        return events
    }
}
