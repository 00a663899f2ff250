import Foundation
import GRDB
import GRDBSQLite

/// Writes events inside the writer's transactions: checks expected versions, makes
/// streams and types, compresses, chains and inserts.
///
/// Confined to the log's single writer (GRDB runs every write on one serial queue),
/// so it keeps a compressor and scratch buffers without locks. State that mirrors the
/// database (head, stream versions) is reloaded at the start of each transaction, so
/// other processes appending to the same file are seen.
final class Appender {
    private let limits: EventLog.Limits
    private let catalog: Catalog
    private let clock: @Sendable () -> Date
    private var hasher = ChainHasher()
    private var encodedPayload: [UInt8] = []
    private var encodedMetadata: [UInt8] = []
    private var helperCompressor: (Int32, LZ4Compressor)?
    /// Automatic training is not attempted again before the head reaches this.
    var trainingQuietUntil: Int64 = 0
    private var failureMessage: String?
    private var compressors: [Int32: LZ4Compressor] = [:]

    // Per transaction.
    private(set) var head: Int64 = 0
    private(set) var headHash: [UInt8] = ChainHasher.genesis
    private var codec: LZ4Decompressor?
    private var streams: [NameKey: StreamSlot] = [:]
    private var types: [NameKey: (id: Int64, nameBytes: [UInt8])] = [:]
    /// (type id, schema version) pairs known to be in `event_type_versions` this transaction.
    private var typeVersions: Set<TypeVersion> = []

    private struct TypeVersion: Hashable {
        var type: Int64
        var version: Int32
    }

    private struct StreamSlot {
        var id: Int64
        var nameBytes: [UInt8]
        var version: Int64
        var storedVersion: Int64
    }

    init(limits: EventLog.Limits, catalog: Catalog, clock: @escaping @Sendable () -> Date) {
        self.limits = limits
        self.catalog = catalog
        self.clock = clock
    }

    /// Loads the head and the current codec; call at the start of each write transaction.
    func begin(_ db: Database) throws {
        streams.removeAll(keepingCapacity: true)
        types.removeAll(keepingCapacity: true)
        typeVersions.removeAll(keepingCapacity: true)
        // Cached statements: this runs for every transaction, and single durable appends
        // are a few hundred microseconds in all.
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")) {
            head = row[0]
            headHash = Array(row[1] as Data)
        } else {
            head = 0
            headHash = ChainHasher.genesis
        }
        let current = try Int32.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM codecs")) ?? Codec.plainLZ4ID
        if codec?.codec.id != current {
            codec = try catalog.decompressor(current, in: db)
        }
    }

    /// Forgets what a rolled-back job did; the database has rolled back to `head`.
    func rollBack(toHead position: Int64, hash: [UInt8]) {
        head = position
        headHash = hash
        streams.removeAll(keepingCapacity: true)
        types.removeAll(keepingCapacity: true)
        typeVersions.removeAll(keepingCapacity: true)
    }

    /// Appends one job's events; throws (and the caller rolls back) on the first refusal.
    func append(_ events: [NewEvent], in db: Database) throws -> [AppendedEvent] {
        var results: [AppendedEvent] = []
        results.reserveCapacity(events.count)
        let now = Int64((clock().timeIntervalSince1970 * 1_000_000).rounded())
        let insertStatement = try db.cachedStatement(sql: Self.insertSQL)
        defer { withExtendedLifetime(insertStatement) {} }
        let insert = insertStatement.sqliteStatement
        // Large jobs are compressed on another core, a chunk ahead of the chain, which is
        // sequential (each hash needs the one before).
        let pipeline = events.count >= Self.parallelEncodingThreshold ? encodingPipeline(for: events) : nil
        defer { pipeline?.finish() }
        for (index, event) in events.enumerated() {
            let preEncoded = pipeline?.fields(at: index)
            try validate(event)
            var slot = try stream(named: event.stream, in: db)
            guard event.expectedVersion.admits(slot.version) else {
                if let original = try storedDuplicate(of: event, in: db) {
                    results.append(original)
                    continue
                }
                throw EventLogError.versionConflict(stream: event.stream, expected: event.expectedVersion, actual: slot.version)
            }
            let type = try type(named: event.type, in: db)
            try noteTypeVersion(type.id, event.schemaVersion, in: db)
            let metadata = preEncoded != nil ? preEncoded!.rawMetadata : event.metadata.storedBytes
            let metadataLimit = min(limits.maxMetadataBytes, Codec.metadataCeiling)
            if let metadata, metadata.count > metadataLimit {
                throw EventLogError.tooLarge(id: event.id, field: "metadata", size: metadata.count, limit: metadataLimit)
            }
            let position = head + 1
            let version = slot.version + 1
            let codec: (id: Int32, digest: [UInt8])
            if let fields = preEncoded {
                codec = (fields.codec, fields.codec == Codec.rawID ? Self.emptyDigest : self.codec?.codec.dictionarySHA256 ?? Self.emptyDigest)
                encodedPayload = fields.payload
                encodedMetadata = fields.metadata
            } else {
                codec = encode(payload: event.payload, metadata: metadata)
            }
            let row = PendingRow(
                position: position, eventID: event.id.byteArray, streamID: slot.id, stream: slot.nameBytes,
                version: version, typeID: type.id, type: type.nameBytes, schemaVersion: event.schemaVersion,
                recordedAt: now, hasMetadata: metadata != nil, codec: codec.id,
                dictionarySHA256: codec.digest, rawLength: Int32(event.payload.count))
            let (hash, code) = codec.id == Codec.rawID
                ? self.insert(row, payload: event.payload, metadata: metadata ?? [], with: insert)
                : self.insert(row, payload: encodedPayload, metadata: encodedMetadata, with: insert)
            if code != SQLITE_DONE {
                let error = DatabaseError(resultCode: ResultCode(rawValue: code), message: failureMessage, sql: Self.insertSQL)
                if error.resultCode == .SQLITE_CONSTRAINT, let original = try storedDuplicate(of: event, in: db) {
                    results.append(original)
                    continue
                }
                throw error
            }
            head = position
            headHash = hash
            slot.version = version
            streams[NameKey(event.stream)] = slot
            results.append(AppendedEvent(position: position, stream: event.stream, streamVersion: version, id: event.id, wasAlreadyStored: false))
        }
        try flushStreamVersions(in: db)
        return results
    }

    /// The columns of a row about to be inserted, but its two encoded fields.
    private struct PendingRow {
        var position: Int64
        var eventID: [UInt8]
        var streamID: Int64
        var stream: [UInt8]
        var version: Int64
        var typeID: Int64
        var type: [UInt8]
        var schemaVersion: Int32
        var recordedAt: Int64
        var hasMetadata: Bool
        var codec: Int32
        var dictionarySHA256: [UInt8]
        var rawLength: Int32
    }

    /// Hashes the row onto the head, binds it to `statement` and steps it; returns its
    /// chain hash and SQLite's result code (the statement is reset, its error message kept).
    ///
    /// The blobs are bound without a copy (`SQLITE_STATIC`): they stay alive until the
    /// statement has run, inside this call.
    private func insert(_ row: PendingRow, payload: [UInt8], metadata: [UInt8], with statement: OpaquePointer) -> ([UInt8], Int32) {
        withBytes(headHash, row.eventID, row.stream, row.type, metadata, row.dictionarySHA256, payload) {
            previous, id, stream, type, meta, dictionary, stored in
            let hash = hasher.hash(
                previous: previous, position: row.position, eventID: id, stream: stream,
                streamVersion: row.version, type: type, schemaVersion: row.schemaVersion,
                recordedAt: row.recordedAt, metadata: meta, codec: row.codec, dictionarySHA256: dictionary,
                rawLength: row.rawLength, payload: stored)
            statement.bind(1, int64: row.position)
            statement.bind(2, staticBlob: id)
            statement.bind(3, int64: row.streamID)
            statement.bind(4, int64: row.version)
            statement.bind(5, int64: row.typeID)
            statement.bind(6, int64: Int64(row.schemaVersion))
            statement.bind(7, int64: row.recordedAt)
            statement.bind(8, staticBlob: row.hasMetadata ? meta : nil)
            statement.bind(9, int64: Int64(row.codec))
            statement.bind(10, int64: Int64(row.rawLength))
            statement.bind(11, staticBlob: stored)
            let code = hash.withUnsafeBytes { hashBytes in
                statement.bind(12, staticBlob: hashBytes)
                let code = sqlite3_step(statement)
                if code != SQLITE_DONE {
                    failureMessage = sqlite3_errmsg(sqlite3_db_handle(statement)).map { String(cString: $0) }
                }
                // Clearing the bindings drops the pointers to buffers that are about to go.
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
                return code
            }
            return (hash, code)
        }
    }

    private static let insertSQL = """
        INSERT INTO events (position, event_id, stream_id, stream_version, type_id, schema_version,
                            recorded_at, metadata, codec, raw_length, payload, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    private func validate(_ event: NewEvent) throws {
        for (field, name) in [("stream", event.stream), ("type", event.type)] {
            if name.isEmpty || name.utf8.count > limits.maxNameBytes {
                throw EventLogError.invalidEvent(
                    id: event.id, field: field, reason: "must be 1 to \(limits.maxNameBytes) bytes long")
            }
            if name.utf8.contains(0) {
                throw EventLogError.invalidEvent(id: event.id, field: field, reason: "must not contain the NUL character")
            }
        }
        if event.schemaVersion < 1 {
            throw EventLogError.invalidEvent(
                id: event.id, field: "schemaVersion", reason: "must be 1 or more, not \(event.schemaVersion)")
        }
        if case .exactly(let version) = event.expectedVersion, version < 0 {
            throw EventLogError.invalidEvent(
                id: event.id, field: "expectedVersion", reason: "must be 0 or more, not \(version)")
        }
        let payloadLimit = min(limits.maxPayloadBytes, Codec.payloadCeiling)
        if event.payload.count > payloadLimit {
            throw EventLogError.tooLarge(id: event.id, field: "payload", size: event.payload.count, limit: payloadLimit)
        }
    }

    /// Encodes payload and metadata with the current codec into `encodedPayload` and
    /// `encodedMetadata` (trimmed to size); returns the codec used. Both are stored raw
    /// (codec 0, the caller uses the originals) when compression does not shrink the payload.
    private func encode(payload: [UInt8], metadata: [UInt8]?) -> (id: Int32, digest: [UInt8]) {
        guard let codec else { return (Codec.rawID, Self.emptyDigest) }
        let compressor = compressors[codec.codec.id] ?? {
            let made = LZ4Compressor(dictionary: codec.codec.dictionary)
            compressors[codec.codec.id] = made
            return made
        }()
        guard let size = payload.withUnsafeBytes({ compressor.compress($0, into: &encodedPayload, allowLarger: false) }) else {
            return (Codec.rawID, Self.emptyDigest)
        }
        encodedPayload.removeSubrange(size...)
        if let metadata, let metaSize = metadata.withUnsafeBytes({ compressor.compress($0, into: &encodedMetadata, allowLarger: true) }) {
            encodedMetadata.removeSubrange(metaSize...)
        } else {
            encodedMetadata.removeAll(keepingCapacity: true)
        }
        return (codec.codec.id, codec.codec.dictionarySHA256)
    }

    private static let emptyDigest = Codec(id: Codec.rawID, kind: .raw, dictionary: []).dictionarySHA256

    /// Jobs of at least this many events are compressed on another core, ahead of the chain.
    static let parallelEncodingThreshold = 256


    /// Starts compressing a large job on another thread, chunk by chunk, with a
    /// compressor of its own (a compressor is not thread-safe).
    private func encodingPipeline(for events: [NewEvent]) -> EncodingPipeline {
        var compressor: LZ4Compressor?
        if let codec {
            if helperCompressor?.0 != codec.codec.id {
                helperCompressor = (codec.codec.id, LZ4Compressor(dictionary: codec.codec.dictionary))
            }
            compressor = helperCompressor?.1
        }
        return EncodingPipeline(events: events, codec: codec?.codec.id, compressor: compressor)
    }

    private func stream(named name: String, in db: Database) throws -> StreamSlot {
        if let slot = streams[NameKey(name)] { return slot }
        // Raw statements: W1-like workloads meet a new stream every few events.
        let select = try db.cachedStatement(sql: Self.selectStreamSQL)
        let slot: StreamSlot = try withExtendedLifetime(select) {
            let statement = select.sqliteStatement
            defer { sqlite3_reset(statement) }
            statement.bind(1, text: name)
            let code = sqlite3_step(statement)
            if code == SQLITE_ROW {
                let version = statement.int64(1)
                return StreamSlot(id: statement.int64(0), nameBytes: Array(name.utf8), version: version, storedVersion: version)
            }
            guard code == SQLITE_DONE else { throw db.rawError(code, sql: Self.selectStreamSQL) }
            let insert = try db.cachedStatement(sql: Self.insertStreamSQL)
            return try withExtendedLifetime(insert) {
                let statement = insert.sqliteStatement
                defer { sqlite3_reset(statement) }
                statement.bind(1, text: name)
                let code = sqlite3_step(statement)
                guard code == SQLITE_DONE else { throw db.rawError(code, sql: Self.insertStreamSQL) }
                return StreamSlot(id: db.lastInsertedRowID, nameBytes: Array(name.utf8), version: 0, storedVersion: 0)
            }
        }
        streams[NameKey(name)] = slot
        return slot
    }

    private static let selectStreamSQL = "SELECT id, version FROM streams WHERE name = ?"
    private static let insertStreamSQL = "INSERT INTO streams (name, version) VALUES (?, 0)"
    private static let updateStreamSQL = "UPDATE streams SET version = ? WHERE id = ?"

    private func type(named name: String, in db: Database) throws -> (id: Int64, nameBytes: [UInt8]) {
        if let known = types[NameKey(name)] { return known }
        let id: Int64
        if let found = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM event_types WHERE name = ?"), arguments: [name]) {
            id = found
        } else {
            try db.cachedStatement(sql: "INSERT INTO event_types (name) VALUES (?)").execute(arguments: [name])
            id = db.lastInsertedRowID
        }
        types[NameKey(name)] = (id, Array(name.utf8))
        return (id, Array(name.utf8))
    }

    private func noteTypeVersion(_ type: Int64, _ version: Int32, in db: Database) throws {
        let key = TypeVersion(type: type, version: version)
        guard !typeVersions.contains(key) else { return }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO event_type_versions (type_id, schema_version) VALUES (?, ?)")
            .execute(arguments: [type, version])
        typeVersions.insert(key)
    }

    private func flushStreamVersions(in db: Database) throws {
        let update = try db.cachedStatement(sql: Self.updateStreamSQL)
        try withExtendedLifetime(update) {
            let statement = update.sqliteStatement
            for (name, slot) in streams where slot.version != slot.storedVersion {
                statement.bind(1, int64: slot.version)
                statement.bind(2, int64: slot.id)
                let code = sqlite3_step(statement)
                sqlite3_reset(statement)
                guard code == SQLITE_DONE else { throw db.rawError(code, sql: Self.updateStreamSQL) }
                streams[name]?.storedVersion = slot.version
            }
        }
    }

    /// The original append of `event`, when its id is stored with the same content.
    ///
    /// - Throws: ``EventLogError/eventIdReused(id:position:difference:)`` when the id is
    ///   stored with other content.
    private func storedDuplicate(of event: NewEvent, in db: Database) throws -> AppendedEvent? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT e.position, s.name, e.stream_version, t.name, e.schema_version, e.metadata,
                   e.codec, e.raw_length, e.payload
            FROM events e JOIN streams s ON s.id = e.stream_id JOIN event_types t ON t.id = e.type_id
            WHERE e.event_id = ?
            """, arguments: [Data(event.id.byteArray)])
        else { return nil }
        let position: Int64 = row[0]
        let stream: String = row[1]
        var differences: [String] = []
        if !stream.sameBytes(as: event.stream) { differences.append("stream \"\(stream)\", not \"\(event.stream)\"") }
        if !(row[3] as String).sameBytes(as: event.type) { differences.append("type \"\(row[3] as String)\", not \"\(event.type)\"") }
        let schemaVersion: Int64 = row[4]
        if schemaVersion != Int64(event.schemaVersion) { differences.append("schema version \(schemaVersion), not \(event.schemaVersion)") }
        let codecID = Int32(truncatingIfNeeded: row[6] as Int64)
        let decompressor = try catalog.decompressor(codecID, in: db)
        var scratch: [UInt8] = []
        let storedMetadata = (row[5] as Data?).flatMap { data in
            data.withUnsafeBytes { decompressor?.decodeUnsized($0, scratch: &scratch) }
        }
        if storedMetadata != event.metadata.storedBytes { differences.append("other metadata") }
        let stored: Data = row[8]
        let payload = decompressor.flatMap { decompressor in
            stored.withUnsafeBytes { decompressor.decode($0, rawLength: row[7]) }
        }
        if payload != event.payload { differences.append("other payload") }
        guard differences.isEmpty else {
            throw EventLogError.eventIdReused(id: event.id, position: position, difference: differences.joined(separator: ", "))
        }
        return AppendedEvent(position: position, stream: stream, streamVersion: row[2], id: event.id, wasAlreadyStored: true)
    }
}

/// Runs `body` with the bytes of seven arrays (the row's fields) at once.
@inline(__always)
private func withBytes<T>(
    _ a: [UInt8], _ b: [UInt8], _ c: [UInt8], _ d: [UInt8], _ e: [UInt8], _ f: [UInt8], _ g: [UInt8],
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer,
             UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> T
) -> T {
    a.withUnsafeBytes { a in b.withUnsafeBytes { b in c.withUnsafeBytes { c in d.withUnsafeBytes { d in
        e.withUnsafeBytes { e in f.withUnsafeBytes { f in g.withUnsafeBytes { g in body(a, b, c, d, e, f, g) } } }
    } } } }
}

/// Compresses a job's events on a helper thread, in chunks, ahead of the writer.
///
/// `@unchecked Sendable`: the helper writes chunk `i` of `buffer` and then signals
/// `ready[i]`; the writer reads chunk `i` only after waiting on `ready[i]`, so no slot
/// is ever touched by both at once. The compressor is used by the helper alone while the
/// pipeline runs, and `finish()` waits for the helper before the buffer is freed.
final class EncodingPipeline: @unchecked Sendable {
    static let chunkSize = 512

    private let buffer: UnsafeMutableBufferPointer<EncodedFields>
    private let ready: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let compressor: LZ4Compressor?
    private var readyChunks = 0
    private var finished = false

    init(events: [NewEvent], codec: Int32?, compressor: LZ4Compressor?) {
        self.compressor = compressor
        buffer = .allocate(capacity: events.count)
        buffer.initialize(repeating: EncodedFields())
        let chunks = (events.count + Self.chunkSize - 1) / Self.chunkSize
        ready = (0..<chunks).map { _ in DispatchSemaphore(value: 0) }
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            var scratch: [UInt8] = []
            for chunk in 0..<chunks {
                for index in (chunk * Self.chunkSize)..<min(events.count, (chunk + 1) * Self.chunkSize) {
                    buffer[index] = Self.encode(events[index], codec: codec, compressor: self.compressor, scratch: &scratch)
                }
                ready[chunk].signal()
            }
            done.signal()
        }
    }

    private static func encode(_ event: NewEvent, codec: Int32?, compressor: LZ4Compressor?, scratch: inout [UInt8]) -> EncodedFields {
        var fields = EncodedFields(rawMetadata: event.metadata.storedBytes)
        guard let codec, let compressor,
              let size = event.payload.withUnsafeBytes({ compressor.compress($0, into: &scratch, allowLarger: false) })
        else { return fields }
        fields.codec = codec
        fields.payload = Array(scratch[..<size])
        if let metadata = fields.rawMetadata,
           let metaSize = metadata.withUnsafeBytes({ compressor.compress($0, into: &scratch, allowLarger: true) }) {
            fields.metadata = Array(scratch[..<metaSize])
        }
        return fields
    }

    /// The encoded fields of event `index`, waiting for its chunk when needed.
    func fields(at index: Int) -> EncodedFields {
        let chunk = index / Self.chunkSize
        while readyChunks <= chunk {
            ready[readyChunks].wait()
            readyChunks += 1
        }
        return buffer[index]
    }

    /// Waits for the helper and frees the buffer. Idempotent.
    func finish() {
        guard !finished else { return }
        finished = true
        done.wait()
        buffer.deinitialize()
        buffer.deallocate()
    }
}

/// One event's fields as they will be stored.
struct EncodedFields {
    var codec: Int32 = Codec.rawID
    var rawMetadata: [UInt8]?
    var payload: [UInt8] = []
    var metadata: [UInt8] = []
}
