import Discretion
import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

/// One thing a user records: a clinical command decided against the streams it touches,
/// or a fact no rule across streams guards (a registration, a consent, a receipt …).
///
/// Front ends build commands (from flags, a form or the `do` format's JSON lines, see
/// ``CommandLines``) and give them to ``Session/record(_:)``, which is the only way in.
public struct Command: Sendable {
    /// The commands of the `do` format, by the name a line gives in `"command"`.
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case session
        case touchUp = "touch-up"
        case amend, recall, renew, record
    }

    /// What the command records.
    public enum Action: Sendable {
        /// A session of a client's course: consent, certification, lots, numbering, one a day.
        case session(client: String, Stipple_V1_SessionRecordedV2)
        /// A touch-up: the session's rules without the course numbering.
        case touchUp(client: String, Stipple_V1_TouchUpRecorded)
        /// A correction pointing at an event of the same client.
        case amend(client: String, Stipple_V1_RecordAmended)
        /// A lot recalled (once).
        case recall(lot: String, Stipple_V1_BatchRecalled)
        /// A certification renewed (never after a revocation).
        case renew(technician: String, Stipple_V1_CertificationRenewed)
        /// Any other event, its values and its subject checked (see ``Command/record(_:type:stream:expected:)``).
        case record(NewEvent)
    }

    public var action: Action
    /// Correlation and causation ids; the actor and role are always the session's user.
    public var metadata: EventMetadata
    /// The event's id, for a retry that must record nothing twice (default: a new one).
    public var id: UUID?
    /// The input line the command came from, named in its errors.
    public var line: Int?
    /// Set by the line parsers, which check ids and text as they read (``InputHygiene``).
    var inputChecked = false

    public init(_ action: Action, metadata: EventMetadata = EventMetadata(), id: UUID? = nil, line: Int? = nil) {
        self.action = action
        self.metadata = metadata
        self.id = id
        self.line = line
    }

    /// A fact of `type` on `stream` (its newest schema), e.g. a `ConsentSigned`.
    ///
    /// - Throws: ``ServiceError`` (`badInput`) for an unknown type, or one only its own
    ///   command records.
    public static func record(
        _ message: any SwiftProtobuf.Message, type: String, stream: String, expected: ExpectedVersion = .any
    ) throws(ServiceError) -> Command {
        let event: NewEvent
        do {
            event = try Recorder.newEvent(message, type: type, stream: stream, expected: expected, metadata: EventMetadata())
        } catch {
            throw ServiceError(error)
        }
        return Command(.record(event))
    }

    /// Checks the ids and text of a command built otherwise than by a line parser (from
    /// flags), from its message's encoding.
    func checkInput() throws(ServiceError) {
        guard !inputChecked else { return }
        try InputHygiene.check(stream: target, metadata: metadata)
        let message: any SwiftProtobuf.Message
        switch action {
        case .session(_, let value): message = value
        case .touchUp(_, let value): message = value
        case .amend(_, let value): message = value
        case .recall(_, let value): message = value
        case .renew(_, let value): message = value
        case .record(let event):
            try InputHygiene.check(event)
            return
        }
        guard let json = try? message.jsonString(), let data = try? JSONValue.parse(Array(json.utf8)) else { return }
        try InputHygiene.check(data, path: "data")
    }

    /// The stream the command is about: the user's access to it is checked before its
    /// rules run, so a refused user learns nothing from them.
    public var target: String {
        switch action {
        case .session(let client, _), .touchUp(let client, _), .amend(let client, _): return Recorder.Streams.client(client)
        case .recall(let lot, _): return Recorder.Streams.batch(lot)
        case .renew(let technician, _): return Recorder.Streams.technician(technician)
        case .record(let event): return event.stream
        }
    }

    /// The permission the command needs on its target, checked before its rules run.
    var permission: Permission {
        switch action {
        case .session, .touchUp, .amend, .recall: return .recordClinical
        case .renew: return .manageStaff
        case .record(let event): return EventAccess.permission(type: event.type, stream: event.stream)
        }
    }

    /// Whether the command starts its target stream (a registration, a receipt, an incident).
    var createsTarget: Bool {
        guard case .record(let event) = action else { return false }
        return Recorder.creationTypes.contains(event.type) || StreamCategory(stream: event.stream) == .incident
    }

    /// Types that only their own use case writes, on every path, imports included: the
    /// access log (written by the reads themselves), erasure (which destroys a key first)
    /// and the confidentiality marks (which decide who may read a record).
    static let discretionTypes: Set<String> = [
        "RecordAccessed", "ClientErased", "ClientMarkedConfidential", "ClientConfidentialityLifted", "PhotoAttached", "ConsentFormPublished", "ConsentFormWithdrawn", "UserAdded", "UserTokenRotated", "UserDisabled", "UserPasswordSet", "UserSecondFactorSet", "UserAccessChanged",
    ]

    /// Why an import of this type is refused, or `nil`.
    static func importRefusal(_ type: String) -> String? {
        guard discretionTypes.contains(type) else { return nil }
        return "\(type) is recorded by its own command (client erase, client confidential, client photo add, form publish and withdraw, user; access entries by the reads themselves), never imported"
    }

    /// Why a `record` of this type is refused: it is recorded by its own command, or by
    /// Stipple itself.
    static func guardedTypeError(_ type: String) -> String? {
        guard Recorder.guardedTypes.contains(type) else { return nil }
        return "\(type) is recorded with its own command (session, touch-up, recall, renew, amend, client photo add), which checks its rules"
    }

    /// The decision that records the command against the streams it reads.
    ///
    /// - Parameter lotVisible: the lots the recording user may use: a clinician's or
    ///   reception's are those received at their clinics; any other is, to the rules, a
    ///   lot never received (so no refusal tells them about another clinic's stock).
    func decision(id: UUID, lotVisible: @escaping Recorder.LotVisibility) throws -> Recorder.Decision {
        switch action {
        case .session(let client, let message): return Recorder.session(client: client, message, metadata: metadata, id: id, lotVisible: lotVisible)
        case .touchUp(let client, let message): return Recorder.touchUp(client: client, message, metadata: metadata, id: id, lotVisible: lotVisible)
        case .amend(let client, let message): return Recorder.amendment(client: client, message, metadata: metadata, id: id)
        case .recall(let lot, let message): return Recorder.recall(lot: lot, message, metadata: metadata, id: id)
        case .renew(let technician, let message): return Recorder.renewal(technician: technician, message, metadata: metadata, id: id)
        case .record(var event):
            if let reason = Self.guardedTypeError(event.type) { throw ServiceError.badInput("field \"type\" " + reason, line: line) }
            if let id = self.id { event.id = id }
            event.metadata = metadata.merging(over: event.metadata)
            return try Recorder.checked(event)
        }
    }
}

extension EventMetadata {
    /// This metadata's keys, over `base`'s.
    func merging(over base: EventMetadata) -> EventMetadata {
        var merged = base
        if let actor { merged.actor = actor }
        if let clinic { merged.clinic = clinic }
        if let correlationId { merged.correlationId = correlationId }
        if let causationId { merged.causationId = causationId }
        for (key, value) in extra { merged.extra[key] = value }
        return merged
    }
}

/// The stream names of the domain: `client-<id>`, `technician-<id>`, `batch-<lot id>`,
/// `clinic-<id>`, `access-<client>`.
public enum Streams {
    public static func client(_ id: String) -> String { Recorder.Streams.client(id) }
    public static func technician(_ id: String) -> String { Recorder.Streams.technician(id) }
    /// The stream of the lot `id` (see ``LotIdentity``).
    public static func batch(_ id: String) -> String { Recorder.Streams.batch(id) }
    /// The stream a receipt of lot `lot` of `manufacturer` starts.
    public static func batch(lot: String, manufacturer: String) -> String { Recorder.Streams.batch(lot: lot, manufacturer: manufacturer) }
    public static func clinic(_ id: String) -> String { Recorder.Streams.clinic(id) }
    public static func access(_ client: String) -> String { Recorder.Streams.access(client) }
    public static func form(_ id: String) -> String { Recorder.Streams.form(id) }
}
