import Foundation

/// An event on its way into the log: a typed, versioned payload for one stream.
///
/// The payload is opaque bytes to the log (the domain chooses the encoding); the log
/// compresses it, chains it and stores it. Appending the same `id` twice is a no-op
/// that returns the original position, provided the content is the same.
public struct NewEvent: Sendable, Hashable {
    /// Unique id of the event. Defaults to a time-ordered UUID (version 7).
    public var id: UUID
    /// The stream the event belongs to, e.g. `client-42`.
    public var stream: String
    /// The event type, e.g. `SessionRecorded`.
    public var type: String
    /// The version of the type's schema the payload is written in (1-based).
    public var schemaVersion: Int32
    /// The stream version this event's append expects to find.
    public var expectedVersion: ExpectedVersion
    /// Who, where and why: actor, clinic, correlation and causation ids, free keys.
    public var metadata: EventMetadata
    /// The encoded payload (canonical JSON until the domain brings its own codec).
    public var payload: [UInt8]

    public init(
        id: UUID = UUID.v7(),
        stream: String,
        type: String,
        schemaVersion: Int32 = 1,
        expectedVersion: ExpectedVersion = .any,
        metadata: EventMetadata = EventMetadata(),
        payload: [UInt8]
    ) {
        self.id = id
        self.stream = stream
        self.type = type
        self.schemaVersion = schemaVersion
        self.expectedVersion = expectedVersion
        self.metadata = metadata
        self.payload = payload
    }
}

/// Where an appended event landed.
public struct AppendedEvent: Sendable, Hashable {
    /// Global position in the log (gapless, from 1).
    public var position: Int64
    /// The stream's name.
    public var stream: String
    /// The event's version within its stream (gapless, from 1).
    public var streamVersion: Int64
    /// The event id.
    public var id: UUID
    /// `true` when the event had been appended before with the same id and content,
    /// and this append returned the original position instead of writing again.
    public var wasAlreadyStored: Bool

    public init(position: Int64, stream: String, streamVersion: Int64, id: UUID, wasAlreadyStored: Bool) {
        self.position = position
        self.stream = stream
        self.streamVersion = streamVersion
        self.id = id
        self.wasAlreadyStored = wasAlreadyStored
    }
}
