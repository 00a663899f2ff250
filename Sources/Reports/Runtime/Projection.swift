import EventLog
import Foundation
import GRDB
import Recording
import SwiftProtobuf
import Treatment

/// A read model: a fold of events into tables of its own, in the log's file.
///
/// The runtime (``Projector``) feeds it events in log order, in chunks, each chunk in one
/// write transaction that also moves its checkpoint: a crash never applies an event twice
/// or skips one. A projection only sees event types it ``reads``, already upcast to
/// their newest schema.
///
/// Change ``version`` whenever the fold or the tables change; the newest schema version
/// of every type it reads is part of its ``signature`` too, so a new schema version of
/// one of them also asks for a rebuild (`stipple rebuild`), which builds the new tables
/// beside the live ones and swaps them in one transaction.
public protocol Projection: Sendable {
    /// The name people type (`stipple rebuild history`); lower case, digits and `-`.
    var name: String { get }
    /// The fold's version (from 1); a new version means a rebuild.
    var version: Int { get }
    /// One line for `stipple reports status`.
    var summary: String { get }
    /// The shape of the tables that the reports read (from 1). Change it with any change of
    /// tables or columns: tables of another layout cannot be read by this build's queries,
    /// so such a report waits for the rebuild instead of being served from the old tables.
    var layout: Int { get }
    /// The event types the fold reads.
    var reads: Set<String> { get }
    /// Creates the projection's tables (named through `tables`) and the indexes its fold
    /// reads by; the indexes only reports read are ``deferredIndexes``.
    func createTables(_ tables: TableNames, in db: Database) throws
    /// The indexes only reports read: each is a table of its own, filled in key order
    /// once a rebuild has loaded the base table, then kept current by triggers
    /// (``DeferredIndex``). None unless the projection says otherwise.
    var deferredIndexes: [DeferredIndex] { get }
    /// Applies `events` (in log order, each at most once) inside the caller's transaction.
    ///
    /// `memory` survives from one call to the next while nobody else writes the tables
    /// (the runtime resets it otherwise): a cache, never the truth.
    func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws
}

extension Projection {
    /// Layout 1 unless the projection says otherwise.
    public var layout: Int { 1 }

    public var deferredIndexes: [DeferredIndex] { [] }

    /// Version and the newest schema of every type read, e.g.
    /// `v1 SessionRecorded@2 TouchUpRecorded@1`: when it changes, the tables are rebuilt.
    public var signature: String {
        let schemas = reads.sorted().map { type in "\(type)@\(EventCatalogue.newest(type: type)?.version ?? 0)" }
        return (["v\(version)"] + schemas).joined(separator: " ")
    }
}

/// The names of one generation of a projection's tables: `rp_<name>_<generation>_<table>`.
public struct TableNames: Sendable, Hashable {
    public let projection: String
    public let generation: Int
    /// The prefix every table of this generation starts with.
    public let prefix: String

    public init(projection: String, generation: Int) {
        self.projection = projection
        self.generation = generation
        prefix = "rp_" + projection.replacingOccurrences(of: "-", with: "_") + "_\(generation)_"
    }

    /// The quoted SQL name of `table` in this generation.
    public subscript(_ table: String) -> String { "\"" + prefix + table + "\"" }
}

/// A cache a projection keeps between chunks (see ``Projection/apply(_:tables:memory:in:)``).
///
/// `@unchecked Sendable`: the runtime hands it to one chunk at a time, each on the log's
/// writer queue, so its value is never touched from two threads at once.
public final class ProjectionMemory: @unchecked Sendable {
    private var value: AnyObject?

    public init() {}

    /// The cache of type `T`, made by `make` on first use.
    public func cache<T: AnyObject>(_ make: () -> T) -> T {
        if let value = value as? T { return value }
        let made = make()
        value = made
        return made
    }
}

/// An event as projections see it: decoded, upcast to the newest schema of its type.
public struct ProjectedEvent: Sendable {
    public let position: Int64
    public let id: UUID
    public let stream: String
    public let streamVersion: Int64
    public let type: String
    public let recordedAtMicros: Int64
    /// The message at the newest schema version of its type.
    public let message: any SwiftProtobuf.Message
    /// The message's bytes at that version (the stored bytes when no upcast was needed).
    public let payload: [UInt8]
    /// The stored metadata (canonical JSON), if any.
    public let metadataJSON: [UInt8]?
    /// The actor recorded in the metadata (empty when none or unreadable), read when the
    /// event is decoded (on the reading side of the pipeline, not on the writer).
    public let actor: String
    /// The stream name after its category prefix (`client-42` → `42`).
    public let subject: String
    /// A session's or touch-up's shared fields, read once when decoded (five projections use them).
    let procedure: Procedure?
    /// A typed amendment's correction of a session or touch-up (set by the runtime, which
    /// reads the client's stream for it: ``Correction/resolve(_:log:times:in:)``).
    internal(set) var correction: Correction?
    /// The time of the clinic the event names (the chain's default for one naming none),
    /// as in force at its position: its days are that clinic's local days.
    public let clinicTime: ClinicTime

    /// Decodes and upcasts a stored event.
    ///
    /// - Parameter times: the clinics' zones (``ClinicTimes/time(of:at:)`` at the event's position).
    /// - Throws: ``ReportsError/undecodable(position:type:reason:)``.
    public init(_ event: RecordedEvent, times: ClinicTimes = ClinicTimes()) throws {
        do {
            let message = try Recorder.decode(event)
            let newest = EventCatalogue.newest(type: event.type)?.version ?? event.schemaVersion
            self.payload = newest == event.schemaVersion ? event.payload : try message.serializedBytes()
            self.message = message
        } catch {
            throw ReportsError.undecodable(position: event.position, type: event.type, reason: "\(error)")
        }
        position = event.position
        id = event.id
        stream = event.stream
        streamVersion = event.streamVersion
        type = event.type
        recordedAtMicros = event.recordedAtMicros
        metadataJSON = event.metadataJSON
        actor = Self.actor(in: event.metadataJSON)
        let clinicTime = Names.clinic(of: message).map { times.time(of: $0, at: event.position) } ?? .chainDefault
        self.clinicTime = clinicTime
        procedure = Procedure(message, time: clinicTime)
        subject = event.stream.firstIndex(of: "-").map { String(event.stream[event.stream.index(after: $0)...]) } ?? event.stream
    }

    /// The event id's 16 bytes.
    public var idBytes: [UInt8] { withUnsafeBytes(of: id.uuid) { Array($0) } }

    /// The actor of stored metadata. Metadata is canonical JSON (keys sorted), so an
    /// actor usually opens it: `{"actor":"…"` without escapes is read directly (a full
    /// JSON parse costs more than the rest of a projection's work per event); anything
    /// else goes through the parser.
    static func actor(in metadata: [UInt8]?) -> String {
        guard let metadata else { return "" }
        let prefix = Array(#"{"actor":""#.utf8)
        if metadata.starts(with: prefix) {
            var end = prefix.count
            while end < metadata.count, metadata[end] != UInt8(ascii: "\""), metadata[end] != UInt8(ascii: "\\") { end += 1 }
            if end < metadata.count, metadata[end] == UInt8(ascii: "\"") {
                return String(decoding: metadata[prefix.count..<end], as: UTF8.self)
            }
        }
        guard let parsed = try? EventMetadata(json: JSONValue.parse(metadata)) else { return "" }
        return parsed.actor ?? ""
    }
}
