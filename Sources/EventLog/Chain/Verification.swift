import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Where and how the chain first breaks.
public struct ChainBreak: Sendable, Hashable, CustomStringConvertible {
    /// What kind of tampering (or damage) the break shows.
    public enum Kind: String, Sendable, Hashable {
        /// The event's stored columns (or its hash) changed after it was written.
        case altered
        /// An event is gone: positions or a stream's versions have a gap.
        case missing
        /// An event was put in between existing ones.
        case inserted
        /// Events were swapped or moved.
        case reordered
    }

    /// The first position where the log is not what was written.
    public var position: Int64
    /// The kind of break.
    public var kind: Kind
    /// What exactly was found, for a person.
    public var detail: String

    public var description: String { "\(kind.rawValue) at position \(position): \(detail)" }
}

/// The outcome of ``EventLog/verify(progress:)``.
public struct VerificationReport: Sendable, Hashable {
    /// How many events were checked.
    public var eventCount: Int64
    /// The head as stored (its hash is only trustworthy when ``isIntact``).
    public var head: LogHead
    /// The first break of the chain, if any.
    public var firstBreak: ChainBreak?
    /// Immutability triggers that are missing from the database (someone dropped them).
    public var missingTriggers: [String]

    /// `true` when every hash, position and version checks out and the triggers are in place.
    public var isIntact: Bool { firstBreak == nil && missingTriggers.isEmpty }
}

extension EventLog {
    /// Streams the whole log, recomputes every chain hash, checks that positions and
    /// stream versions are gapless and that every payload decodes, and reports the first
    /// break with its position and kind.
    ///
    /// Runs in one read transaction (a consistent snapshot); appends go on meanwhile.
    /// `progress` is called every 65,536 events with (events checked, head position).
    ///
    /// Limits: without an anchor kept outside the file, removing the newest events and
    /// recomputing nothing, or rewriting the whole chain with correct hashes, cannot be
    /// told from a genuine log; compare the reported head hash with one kept elsewhere.
    public func verify(progress: (@Sendable (Int64, Int64) -> Void)? = nil) async throws -> VerificationReport {
        try await verify(progress: progress, eventsPerPart: 50_000, maxParts: 2)
    }

    /// Verification in up to `maxParts` parts of at least `eventsPerPart` events, checked at once.
    func verify(progress: (@Sendable (Int64, Int64) -> Void)?, eventsPerPart: Int64, maxParts: Int) async throws -> VerificationReport {
        let catalog = self.catalog
        let plan = try await read { db in try VerificationPlan(db, catalog: catalog) }
        // The chain can be checked in parts at once: each event's hash needs only the
        // stored hash before it. Positions are immutable, so every snapshot taken after
        // the plan's agrees on positions 1…head.
        let parts = Int(max(1, min(Int64(maxParts), plan.head.position / max(eventsPerPart, 1))))
        let size = (plan.head.position + Int64(parts) - 1) / Int64(parts)
        let counter = ProgressCounter(total: plan.head.position, report: progress)
        let results = try await withThrowingTaskGroup(of: (Int, ChunkResult).self) { group in
            for part in 0..<parts {
                let first = Int64(part) * size + 1
                let last = min(plan.head.position, Int64(part + 1) * size)
                group.addTask {
                    let result = try await self.read { db in
                        var verifier = Verifier(db: db, plan: plan, first: first, last: last, counter: counter)
                        return try verifier.run()
                    }
                    return (part, result)
                }
            }
            var results: [(Int, ChunkResult)] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        counter.finish()
        return plan.merge(results)
    }
}

/// Reports progress of parts verified at once.
private final class ProgressCounter: Sendable {
    private let done = Mutex<Int64>(0)
    let total: Int64
    let report: (@Sendable (Int64, Int64) -> Void)?

    init(total: Int64, report: (@Sendable (Int64, Int64) -> Void)?) {
        self.total = total
        self.report = report
    }

    func add(_ count: Int64) {
        guard let report else { return }
        let now = done.withLock { value in
            value += count
            return value
        }
        report(now, total)
    }

    func finish() {
        report?(done.withLock { $0 }, total)
    }
}

/// What every part of a verification shares: the head, catalogue and codecs of one snapshot.
private struct VerificationPlan: Sendable {
    let head: LogHead
    let missingTriggers: [String]
    let streams: [Int64: (name: [UInt8], claimed: Int64)]
    let types: [Int64: [UInt8]]
    let codecs: [Int32: LZ4Decompressor]

    init(_ db: Database, catalog: Catalog) throws {
        head = try LogHead.fetch(db)
        let triggers = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        missingTriggers = LogSchema.guardTriggers.filter { !triggers.contains($0) }
        var streams: [Int64: (name: [UInt8], claimed: Int64)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name, version FROM streams") {
            streams[row[0]] = (Array((row[1] as String).utf8), row[2])
        }
        self.streams = streams
        var types: [Int64: [UInt8]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, name FROM event_types") {
            types[row[0]] = Array((row[1] as String).utf8)
        }
        self.types = types
        codecs = try catalog.freshCodecs(in: db)
    }

    /// Joins the parts, in position order: a stream's first version in a part must
    /// follow its last version in the parts before.
    func merge(_ parts: [ChunkResult]) -> VerificationReport {
        var versions: [Int64: Int64] = [:]
        for part in parts {
            var candidates: [ChainBreak] = part.firstBreak.map { [$0] } ?? []
            for (streamID, first) in part.firstSeen {
                let last = versions[streamID] ?? 0
                guard first.version != last + 1 else { continue }
                let name = streams[streamID].map { String(decoding: $0.name, as: UTF8.self) } ?? "?"
                candidates.append(first.version <= last
                    ? ChainBreak(position: first.position, kind: .reordered, detail: "stream \"\(name)\" goes back from version \(last) to \(first.version)")
                    : ChainBreak(position: first.position, kind: .missing, detail: "stream \"\(name)\" jumps from version \(last) to \(first.version)"))
            }
            if let earliest = candidates.min(by: { $0.position < $1.position }) {
                return VerificationReport(eventCount: earliest.position - 1, head: head, firstBreak: earliest, missingTriggers: missingTriggers)
            }
            versions.merge(part.lastVersion) { _, new in new }
        }
        // A stream that claims more events than the log holds lost its newest ones.
        for (id, stream) in streams where stream.claimed != (versions[id] ?? 0) {
            let name = String(decoding: stream.name, as: UTF8.self)
            let problem = ChainBreak(
                position: head.position + 1, kind: .missing,
                detail: "stream \"\(name)\" is at version \(stream.claimed) but the log holds \(versions[id] ?? 0) of its events")
            return VerificationReport(eventCount: head.position, head: head, firstBreak: problem, missingTriggers: missingTriggers)
        }
        return VerificationReport(eventCount: head.position, head: head, firstBreak: nil, missingTriggers: missingTriggers)
    }
}

/// What one part found.
private struct ChunkResult: Sendable {
    var firstBreak: ChainBreak?
    /// Each stream's first version in the part, and where.
    var firstSeen: [Int64: (version: Int64, position: Int64)] = [:]
    /// Each stream's last version in the part.
    var lastVersion: [Int64: Int64] = [:]
}

/// Verifies positions `first…last` over one snapshot.
private struct Verifier {
    let db: Database
    let plan: VerificationPlan
    let first: Int64
    let last: Int64
    let counter: ProgressCounter
    var hasher = ChainHasher()

    private static let sql = """
        SELECT position, event_id, stream_id, stream_version, type_id, schema_version, recorded_at,
               metadata, codec, raw_length, payload, hash
        FROM events WHERE position >= ? ORDER BY position
        """

    init(db: Database, plan: VerificationPlan, first: Int64, last: Int64, counter: ProgressCounter) {
        self.db = db
        self.plan = plan
        self.first = first
        self.last = last
        self.counter = counter
    }

    mutating func run() throws -> ChunkResult {
        var result = ChunkResult()
        let streams = plan.streams
        let types = plan.types
        let codecs = plan.codecs
        var previous = ChainHasher.genesis
        if first > 1 {
            previous = try Data.fetchOne(db, sql: "SELECT hash FROM events WHERE position = ?", arguments: [first - 1])
                .map(Array.init) ?? ChainHasher.genesis
        }
        // The Statement must outlive every use of its raw pointer.
        let prepared = try db.makeStatement(sql: Self.sql)
        defer { _ = withExtendedLifetime(prepared) { sqlite3_reset(prepared.sqliteStatement) } }
        let statement = prepared.sqliteStatement
        sqlite3_bind_int64(statement, 1, first)
        var expected = first
        var scratch: [UInt8] = []
        var metadataScratch: [UInt8] = []
        var sinceReport: Int64 = 0
        while expected <= last {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw db.rawError(code, sql: Self.sql) }
            let position = statement.int64(0)
            if position != expected {
                result.firstBreak = ChainBreak(
                    position: expected, kind: .missing,
                    detail: "positions jump from \(expected - 1) to \(position): \(position - expected) event(s) removed")
                return result
            }
            let streamID = statement.int64(2)
            let version = statement.int64(3)
            // The hash takes these as 32-bit values: anything wider was written by hand.
            guard let codecID = Int32(exactly: statement.int64(8)), Int32(exactly: statement.int64(5)) != nil,
                  let rawLength = Int32(exactly: statement.int64(9)), rawLength >= 0, rawLength <= Codec.payloadCeiling
            else {
                result.firstBreak = ChainBreak(position: position, kind: .altered, detail: "its schema version, codec or length is out of range")
                return result
            }
            if !statement.isNull(7), statement.blob(7).count == 0 {
                result.firstBreak = ChainBreak(position: position, kind: .altered, detail: "its metadata is an empty blob (the log stores NULL)")
                return result
            }
            guard let stream = streams[streamID], let type = types[statement.int64(4)] else {
                result.firstBreak = ChainBreak(position: position, kind: .altered, detail: "its stream or type is not in the catalogue")
                return result
            }
            guard let codec = codecs[codecID] else {
                result.firstBreak = ChainBreak(position: position, kind: .altered, detail: "its codec \(codecID) does not exist")
                return result
            }
            let stored = statement.blob(11)
            let computed = hash(statement, previous: previous, position: position, stream: stream.name, type: type, codec: codec)
            guard computed.elementsEqual(stored) else {
                result.firstBreak = try classify(at: position, previous: previous, streams: streams, types: types, codecs: codecs)
                return result
            }
            if let lastVersion = result.lastVersion[streamID] {
                if version != lastVersion + 1 {
                    let name = String(decoding: stream.name, as: UTF8.self)
                    result.firstBreak = version <= lastVersion
                        ? ChainBreak(position: position, kind: .reordered, detail: "stream \"\(name)\" goes back from version \(lastVersion) to \(version)")
                        : ChainBreak(position: position, kind: .missing, detail: "stream \"\(name)\" jumps from version \(lastVersion) to \(version)")
                    return result
                }
            } else {
                result.firstSeen[streamID] = (version, position)
            }
            guard codec.check(statement.blob(10), rawLength: Int(rawLength), scratch: &scratch) else {
                result.firstBreak = ChainBreak(position: position, kind: .altered, detail: "its payload does not decode with codec \(codecID)")
                return result
            }
            if !statement.isNull(7), codec.decodeUnsizedCount(statement.blob(7), scratch: &metadataScratch) == nil {
                result.firstBreak = ChainBreak(position: position, kind: .altered, detail: "its metadata does not decode with codec \(codecID)")
                return result
            }
            result.lastVersion[streamID] = version
            previous = computed
            expected += 1
            sinceReport += 1
            if sinceReport == 0x10000 {
                counter.add(sinceReport)
                sinceReport = 0
            }
        }
        counter.add(sinceReport)
        if expected <= last {
            result.firstBreak = ChainBreak(
                position: expected, kind: .missing, detail: "the events from position \(expected) to \(last) are gone")
        }
        return result
    }

    private mutating func hash(
        _ statement: OpaquePointer, previous: [UInt8], position: Int64, stream: [UInt8], type: [UInt8], codec: LZ4Decompressor
    ) -> [UInt8] {
        previous.withUnsafeBytes { previous in
            stream.withUnsafeBytes { stream in
                type.withUnsafeBytes { type in
                    codec.codec.dictionarySHA256.withUnsafeBytes { dictionary in
                        hasher.hash(
                            previous: previous, position: position, eventID: statement.blob(1), stream: stream,
                            streamVersion: statement.int64(3), type: type,
                            schemaVersion: Int32(truncatingIfNeeded: statement.int64(5)),
                            recordedAt: statement.int64(6), metadata: statement.blob(7), codec: codec.codec.id,
                            dictionarySHA256: dictionary, rawLength: Int32(truncatingIfNeeded: statement.int64(9)),
                            payload: statement.blob(10))
                    }
                }
            }
        }
    }

    /// Tells what kind of break a hash mismatch at `position` is, from the rows from
    /// `position` on (at most 100,000 of them):
    /// - the next row still chains onto this row's stored hash: this row was altered;
    /// - the next row chains onto it one position further on: a row was removed and
    ///   the rest moved down (missing);
    /// - the event originally at `position` is found further on: events were moved
    ///   (reordered), or, found right after, either swapped with the next one
    ///   (reordered) or pushed back by an inserted one (inserted);
    /// - otherwise the row (or its hash) was altered.
    private mutating func classify(
        at position: Int64, previous: [UInt8], streams: [Int64: (name: [UInt8], claimed: Int64)],
        types: [Int64: [UInt8]], codecs: [Int32: LZ4Decompressor]
    ) throws -> ChainBreak {
        let prepared = try db.makeStatement(sql: Self.sql)
        defer { _ = withExtendedLifetime(prepared) { sqlite3_reset(prepared.sqliteStatement) } }
        let statement = prepared.sqliteStatement
        sqlite3_bind_int64(statement, 1, position)
        var rows: [RowCopy] = []
        while rows.count < 100_000, sqlite3_step(statement) == SQLITE_ROW {
            guard let stream = streams[statement.int64(2)], let type = types[statement.int64(4)],
                  let codec = codecs[Int32(truncatingIfNeeded: statement.int64(8))]
            else { break }
            rows.append(RowCopy(statement, stream: stream.name, type: type, dictionarySHA256: codec.codec.dictionarySHA256))
        }
        guard let first = rows.first else {
            return ChainBreak(position: position, kind: .altered, detail: "its hash does not match its stored columns")
        }
        if rows.count > 1 {
            let next = rows[1]
            if hash(next, previous: first.hash, at: next.position) == next.hash {
                return ChainBreak(position: position, kind: .altered, detail: "its stored columns no longer match its hash")
            }
            if hash(next, previous: first.hash, at: next.position + 1) == next.hash {
                return ChainBreak(
                    position: position, kind: .missing,
                    detail: "the event written at position \(position) was removed and the events after it moved down")
            }
        }
        for (offset, row) in rows.enumerated().dropFirst() where hash(row, previous: previous, at: position) == row.hash {
            if offset == 1 {
                let swapped = hash(first, previous: row.hash, at: position + 1) == first.hash
                return ChainBreak(
                    position: position, kind: swapped ? .reordered : .inserted,
                    detail: swapped
                        ? "the events written at positions \(position) and \(position + 1) were swapped"
                        : "an event was put in before the one written at position \(position), which is now at \(row.position)")
            }
            return ChainBreak(
                position: position, kind: .reordered,
                detail: "the event written at position \(position) is now at position \(row.position)")
        }
        return ChainBreak(position: position, kind: .altered, detail: "its hash does not match its stored columns")
    }

    private mutating func hash(_ row: RowCopy, previous: [UInt8], at position: Int64) -> [UInt8] {
        previous.withUnsafeBytes { previous in
            row.eventID.withUnsafeBytes { id in
                row.stream.withUnsafeBytes { stream in
                    row.type.withUnsafeBytes { type in
                        row.metadata.withUnsafeBytes { metadata in
                            row.dictionarySHA256.withUnsafeBytes { dictionary in
                                row.payload.withUnsafeBytes { payload in
                                    hasher.hash(
                                        previous: previous, position: position, eventID: id, stream: stream,
                                        streamVersion: row.version, type: type, schemaVersion: row.schemaVersion,
                                        recordedAt: row.recordedAt, metadata: metadata, codec: row.codec,
                                        dictionarySHA256: dictionary, rawLength: row.rawLength, payload: payload)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A copy of one event row, for classifying a break.
private struct RowCopy {
    var position: Int64
    var eventID: [UInt8]
    var stream: [UInt8]
    var version: Int64
    var type: [UInt8]
    var schemaVersion: Int32
    var recordedAt: Int64
    var metadata: [UInt8]
    var codec: Int32
    var dictionarySHA256: [UInt8]
    var rawLength: Int32
    var payload: [UInt8]
    var hash: [UInt8]

    init(_ statement: OpaquePointer, stream: [UInt8], type: [UInt8], dictionarySHA256: [UInt8]) {
        position = statement.int64(0)
        eventID = Array(statement.blob(1))
        self.stream = stream
        version = statement.int64(3)
        self.type = type
        schemaVersion = Int32(truncatingIfNeeded: statement.int64(5))
        recordedAt = statement.int64(6)
        metadata = Array(statement.blob(7))
        codec = Int32(truncatingIfNeeded: statement.int64(8))
        self.dictionarySHA256 = dictionarySHA256
        rawLength = Int32(truncatingIfNeeded: statement.int64(9))
        payload = Array(statement.blob(10))
        hash = Array(statement.blob(11))
    }
}
