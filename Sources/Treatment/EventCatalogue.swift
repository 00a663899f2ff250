import SwiftProtobuf

/// Which kind of stream an event type belongs to (the stream name's prefix).
public enum StreamCategory: String, Sendable, CaseIterable {
    case client, technician, batch, clinic, incident, access
    /// Consent forms (`form-<id>`): each version's text, as clients sign it.
    case form
    /// Stipple's users (`user-<name>`): who may do what, in the chain.
    case user

    /// The prefix of the category's stream names, e.g. `client-`.
    public var prefix: String { rawValue + "-" }

    /// The category of a stream name, or `nil` when it has none of the known prefixes.
    ///
    /// Compared byte by byte, as the database compares names: a name is a client's stream
    /// exactly when its UTF-8 bytes start with `client-` (`String.hasPrefix` compares
    /// grapheme clusters, and "-" followed by a combining mark is one cluster).
    public init?(stream: String) {
        guard let category = Self.allCases.first(where: { $0.id(in: stream) != nil }) else { return nil }
        self = category
    }

    /// The id in a stream name of this category (`42` of `client-42`), by its bytes; `nil`
    /// when the name is not of this category or has nothing after the prefix.
    public func id(in stream: String) -> String? {
        let bytes = stream.utf8, prefix = self.prefix.utf8
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return nil }
        return String(decoding: bytes.dropFirst(prefix.count), as: UTF8.self)
    }
}

/// One event type at one schema version: the name stored in the log, the version, the
/// generated message, and the kind of stream it goes to.
public struct EventSchema: Sendable {
    /// The type name stored in the log, e.g. `SessionRecorded`.
    public let type: String
    /// The schema version stored with each event (1-based).
    public let version: Int32
    /// The generated Protocol Buffers message of this version.
    public let message: any SwiftProtobuf.Message.Type
    /// The stream category the type is appended to.
    public let category: StreamCategory

    init(_ type: String, _ version: Int32, _ message: any SwiftProtobuf.Message.Type, _ category: StreamCategory) {
        self.type = type
        self.version = version
        self.message = message
        self.category = category
    }
}

/// Every event type Stipple knows, at every schema version it has had.
///
/// The catalogue is the map between the log's `(type, schemaVersion)` and the generated
/// messages of `Schemas/`. A type appears once per version; versions only ever grow.
public enum EventCatalogue {
    /// Every schema, grouped by type, oldest version first.
    public static let all: [EventSchema] = [
        // Client stream.
        EventSchema("ClientRegistered", 1, Stipple_V1_ClientRegistered.self, .client),
        EventSchema("ConsultationRecorded", 1, Stipple_V1_ConsultationRecorded.self, .client),
        EventSchema("ConsentSigned", 1, Stipple_V1_ConsentSigned.self, .client),
        EventSchema("SessionBooked", 1, Stipple_V1_SessionBooked.self, .client),
        EventSchema("SessionRescheduled", 1, Stipple_V1_SessionRescheduled.self, .client),
        EventSchema("SessionCancelled", 1, Stipple_V1_SessionCancelled.self, .client),
        EventSchema("SessionNoShow", 1, Stipple_V1_SessionNoShow.self, .client),
        EventSchema("SessionRecorded", 1, Stipple_V1_SessionRecorded.self, .client),
        EventSchema("SessionRecorded", 2, Stipple_V1_SessionRecordedV2.self, .client),
        EventSchema("TouchUpRecorded", 1, Stipple_V1_TouchUpRecorded.self, .client),
        EventSchema("AdverseReactionReported", 1, Stipple_V1_AdverseReactionReported.self, .client),

        EventSchema("RecordAmended", 1, Stipple_V1_RecordAmended.self, .client),
        EventSchema("PhotoAttached", 1, Stipple_V1_PhotoAttached.self, .client),
        EventSchema("ClientMarkedConfidential", 1, Stipple_V1_ClientMarkedConfidential.self, .client),
        EventSchema("ClientConfidentialityLifted", 1, Stipple_V1_ClientConfidentialityLifted.self, .client),
        EventSchema("ClientErased", 1, Stipple_V1_ClientErased.self, .client),
        // Consent forms.
        EventSchema("ConsentFormPublished", 1, Stipple_V1_ConsentFormPublished.self, .form),
        EventSchema("ConsentFormWithdrawn", 1, Stipple_V1_ConsentFormWithdrawn.self, .form),
        // Batch stream (pigment and cartridge lots).
        EventSchema("BatchReceived", 1, Stipple_V1_BatchReceived.self, .batch),
        EventSchema("BatchOpened", 1, Stipple_V1_BatchOpened.self, .batch),
        EventSchema("BatchRecalled", 1, Stipple_V1_BatchRecalled.self, .batch),
        EventSchema("BatchDiscarded", 1, Stipple_V1_BatchDiscarded.self, .batch),
        // Technician stream.
        EventSchema("TechnicianRegistered", 1, Stipple_V1_TechnicianRegistered.self, .technician),
        EventSchema("TechnicianAssignedToClinic", 1, Stipple_V1_TechnicianAssignedToClinic.self, .technician),
        EventSchema("CertificationGranted", 1, Stipple_V1_CertificationGranted.self, .technician),
        EventSchema("CertificationRenewed", 1, Stipple_V1_CertificationRenewed.self, .technician),
        EventSchema("CertificationSuspended", 1, Stipple_V1_CertificationSuspended.self, .technician),
        EventSchema("CertificationRevoked", 1, Stipple_V1_CertificationRevoked.self, .technician),
        EventSchema("BloodbornePathogensTrainingRecorded", 1, Stipple_V1_BloodbornePathogensTrainingRecorded.self, .technician),
        EventSchema("HepatitisBStatusRecorded", 1, Stipple_V1_HepatitisBStatusRecorded.self, .technician),
        // Incident stream (kept apart from clients: see incident.proto).
        EventSchema("ExposureIncidentRecorded", 1, Stipple_V1_ExposureIncidentRecorded.self, .incident),
        // Access log (one stream per client: access-<client id>).
        EventSchema("RecordAccessed", 1, Stipple_V1_RecordAccessed.self, .access),
        // Clinic stream.
        EventSchema("ClinicOpened", 1, Stipple_V1_ClinicOpened.self, .clinic),
        // Users (one stream per user: user-<name>).
        EventSchema("UserAdded", 1, Stipple_V1_UserAdded.self, .user),
        EventSchema("UserTokenRotated", 1, Stipple_V1_UserTokenRotated.self, .user),
        EventSchema("UserDisabled", 1, Stipple_V1_UserDisabled.self, .user),
        EventSchema("UserPasswordSet", 1, Stipple_V1_UserPasswordSet.self, .user),
        EventSchema("UserSecondFactorSet", 1, Stipple_V1_UserSecondFactorSet.self, .user),
        EventSchema("UserAccessChanged", 1, Stipple_V1_UserAccessChanged.self, .user),
    ]

    private static let byKey: [String: [Int32: EventSchema]] = {
        var map: [String: [Int32: EventSchema]] = [:]
        for schema in all { map[schema.type, default: [:]][schema.version] = schema }
        return map
    }()

    /// Every type name, sorted.
    public static var typeNames: [String] { byKey.keys.sorted() }

    /// The schema of `type` at `version`, or `nil` when there is none.
    public static func schema(type: String, version: Int32) -> EventSchema? {
        byKey[type]?[version]
    }

    /// The newest schema of `type`, or `nil` for an unknown type.
    public static func newest(type: String) -> EventSchema? {
        byKey[type].flatMap { versions in versions.keys.max().flatMap { versions[$0] } }
    }

    /// Resolves a type and an optional version (default: the newest).
    ///
    /// - Throws: ``CatalogueError/unknownType(_:)`` or
    ///   ``CatalogueError/unknownVersion(type:version:newest:)``.
    public static func resolve(type: String, version: Int32?) throws(CatalogueError) -> EventSchema {
        guard let newest = newest(type: type) else { throw .unknownType(type) }
        guard let version else { return newest }
        guard let schema = schema(type: type, version: version) else {
            throw .unknownVersion(type: type, version: version, newest: newest.version)
        }
        return schema
    }
}

/// A payload that does not fit the catalogue, with what a person needs to fix it.
public enum CatalogueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No event type of that name.
    case unknownType(String)
    /// The type exists, but not at that schema version.
    case unknownVersion(type: String, version: Int32, newest: Int32)
    /// The JSON does not match the type's message (an unknown field, a wrong value type…).
    case invalidJSON(type: String, reason: String)
    /// Stored bytes that do not decode as the type's message.
    case invalidPayload(type: String, version: Int32, reason: String)

    public var description: String {
        switch self {
        case .unknownType(let type):
            return "unknown event type \"\(type)\" (known: \(EventCatalogue.typeNames.joined(separator: ", ")))"
        case .unknownVersion(let type, let version, let newest):
            return "\(type) has no schema version \(version) (versions 1 to \(newest))"
        case .invalidJSON(let type, let reason):
            return "the data does not match \(type): \(reason)"
        case .invalidPayload(let type, let version, let reason):
            return "the stored payload is not a \(type) version \(version): \(reason)"
        }
    }
}
