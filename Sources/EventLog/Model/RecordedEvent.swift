import Foundation

/// An event as stored in the log, its payload decompressed.
public struct RecordedEvent: Sendable, Hashable {
    /// Global position (gapless, from 1).
    public var position: Int64
    /// The event id.
    public var id: UUID
    /// The stream's name.
    public var stream: String
    /// The version within the stream (gapless, from 1).
    public var streamVersion: Int64
    /// The event type.
    public var type: String
    /// The schema version the payload was written in.
    public var schemaVersion: Int32
    /// When the log recorded it: microseconds since 1970-01-01T00:00:00Z.
    public var recordedAtMicros: Int64
    /// The stored metadata: canonical JSON bytes, `nil` when the event has none.
    public var metadataJSON: [UInt8]?
    /// The payload bytes, decompressed.
    public var payload: [UInt8]

    /// Actor, clinic, correlation and causation ids, free keys (parsed on each call:
    /// replays that do not need it pay nothing).
    ///
    /// - Throws: ``JSONValue/ParseError`` or ``EventMetadata/InvalidMetadata`` when the
    ///   stored bytes are not metadata (only a damaged log has such bytes).
    public func metadata() throws -> EventMetadata {
        guard let metadataJSON else { return EventMetadata() }
        return try EventMetadata(json: JSONValue.parse(metadataJSON))
    }

    /// When the log recorded it.
    public var recordedAt: Date {
        Date(timeIntervalSince1970: Double(recordedAtMicros) / 1_000_000)
    }

    public init(
        position: Int64, id: UUID, stream: String, streamVersion: Int64, type: String,
        schemaVersion: Int32, recordedAtMicros: Int64, metadataJSON: [UInt8]?, payload: [UInt8]
    ) {
        self.position = position
        self.id = id
        self.stream = stream
        self.streamVersion = streamVersion
        self.type = type
        self.schemaVersion = schemaVersion
        self.recordedAtMicros = recordedAtMicros
        self.metadataJSON = metadataJSON
        self.payload = payload
    }
}

/// Which way a stream is read.
public enum ReadDirection: Sendable, Hashable {
    case forward
    case backward
}
