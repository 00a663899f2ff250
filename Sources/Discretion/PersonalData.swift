import Crypto
import GRDB
import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

/// The client events that carry personal data in a `personal` message, and how to seal it
/// into their `sealed_personal` bytes and open it again (the generated messages share the
/// field names, so each conforms in one line).
protocol CarriesPersonal: SwiftProtobuf.Message {
    associatedtype Personal: SwiftProtobuf.Message & Equatable
    var personal: Personal { get set }
    var hasPersonal: Bool { get }
    mutating func clearPersonal()
    var sealedPersonal: Data { get set }
}

extension CarriesPersonal {
    /// The `personal` message's bytes, `nil` when it holds nothing.
    func personalBytes() throws -> [UInt8]? {
        guard hasPersonal, personal != Personal() else { return nil }
        return try personal.serializedBytes()
    }

    /// Keeps `sealed` and clears `personal`.
    mutating func keepSealed(_ sealed: [UInt8]) {
        clearPersonal()
        sealedPersonal = Data(sealed)
    }

    var sealedPersonalBytes: [UInt8] { Array(sealedPersonal) }

    /// Puts opened bytes back into `personal` and clears the sealed copy.
    mutating func restore(_ bytes: [UInt8]) throws {
        personal = try Personal(serializedBytes: bytes)
        sealedPersonal = Data()
    }
}

extension Stipple_V1_ClientRegistered: CarriesPersonal {}
extension Stipple_V1_ConsultationRecorded: CarriesPersonal {}
extension Stipple_V1_SessionRecordedV2: CarriesPersonal {}
extension Stipple_V1_TouchUpRecorded: CarriesPersonal {}
extension Stipple_V1_AdverseReactionReported: CarriesPersonal {}
extension Stipple_V1_RecordAmended: CarriesPersonal {}
extension Stipple_V1_SessionRescheduled: CarriesPersonal {}
extension Stipple_V1_SessionCancelled: CarriesPersonal {}
extension Stipple_V1_ExposureIncidentRecorded: CarriesPersonal {}

/// Sealing of personal data on the way into the log, and opening on the way out.
public enum PersonalData {
    /// Whose key seals the personal data of an event: the client's, on a client's stream;
    /// on an exposure incident's, the exposed person's when they are a client, otherwise the
    /// clinic's (``clinicKeyOwner(_:)``); `nil` for an event that carries none.
    package static func keyOwner(stream: String, message: any SwiftProtobuf.Message) -> String? {
        if let client = StreamCategory.client.id(in: stream) { return client }
        guard StreamCategory(stream: stream) == .incident, let incident = message as? Stipple_V1_ExposureIncidentRecorded else { return nil }
        if !incident.exposedClientID.isEmpty { return incident.exposedClientID }
        return incident.clinicID.isEmpty ? nil : clinicKeyOwner(incident.clinicID)
    }

    /// The name a clinic's key has in the key table. Ids hold no `:` (the service checks
    /// every id it is given), so no client's key can take a clinic's name.
    package static func clinicKeyOwner(_ clinic: String) -> String { "clinic:" + clinic }

    /// Wraps decisions so that every client event they return has its personal data sealed
    /// with the client's key before it is stored. A client's first key is made in the same
    /// transaction as the event that needs it; an erased client gets no personal data again.
    ///
    /// - Throws (from the decision): ``DiscretionError/clientErased(_:)``.
    package static func sealing(_ decisions: [Recorder.Decision], master: MasterKey) -> [Recorder.Decision] {
        decisions.map { decision in
            { reader in
                try decision(reader).map { event in
                    let category = StreamCategory(stream: event.stream)
                    guard category == .client || category == .incident else { return event }
                    let schema = try EventCatalogue.resolve(type: event.type, version: event.schemaVersion)
                    let decoded = try PayloadCodec.message(fromBinary: event.payload, schema: schema)
                    if category == .incident { return try sealingIncident(event, decoded, reader: reader, master: master) }
                    guard let client = StreamCategory.client.id(in: event.stream) else { return event }
                    // An older schema version with personal data cannot be sealed in place: it
                    // is refused rather than stored in clear.
                    if !(decoded is any CarriesPersonal), let old = decoded as? Stipple_V1_SessionRecorded, old.hasPersonal,
                       old.personal != Stipple_V1_ProcedurePersonal() {
                        throw DiscretionError.unsealedInput(client: client, type: event.type, reason: "personal data in schema version \(event.schemaVersion); write it in the newest version")
                    }
                    if let amended = decoded as? Stipple_V1_RecordAmended, Amendments.typedValuesHavePersonal(amended) {
                        throw DiscretionError.unsealedInput(
                            client: client, type: event.type,
                            reason: "personal values of a correction go in personal.correctedValuesJson, which is sealed, not in its typed values (stored in clear)")
                    }
                    guard let message = Self.movingFreeText(decoded) as? any CarriesPersonal else { return event }
                    return try sealed(event, message, owner: client, reader: reader, master: master)
                }
            }
        }
    }

    /// `event` with `message`'s personal data sealed with `owner`'s key (made in the
    /// reader's transaction if it has none yet), or as it was when there is none to seal.
    private static func sealed(
        _ event: NewEvent, _ message: some CarriesPersonal, owner: String, reader: TransactionReader, master: MasterKey
    ) throws -> NewEvent {
        var message = message
        // Sealed bytes come from the sealing only, never from the input.
        if !message.sealedPersonalBytes.isEmpty {
            let reason = "sealedPersonal is set by Stipple, not by the caller"
            throw StreamCategory(stream: event.stream) == .incident
                ? DiscretionError.unsealedIncident(stream: event.stream, reason: reason)
                : DiscretionError.unsealedInput(client: owner, type: event.type, reason: reason)
        }
        guard let plain = try message.personalBytes() else { return event }
        let key = try reader.withDatabase { db in try ClientKeys.keyCreatingIfNeeded(owner, in: db, master: master) }
        message.keepSealed(try Sealing.seal(plain, client: owner, context: event.type, key: key))
        var sealed = event
        sealed.payload = try message.serializedBytes()
        return sealed
    }

    /// An exposure incident with its personal data (who was exposed, the details, the
    /// actions taken) sealed with the exposed client's key, or the clinic's.
    ///
    /// - Throws: ``DiscretionError/unsealedIncident(stream:reason:)`` when there is no key
    ///   to seal with (no clinic, an exposed client who is not in the log);
    ///   ``DiscretionError/clientErased(_:)`` for an erased exposed client.
    private static func sealingIncident(
        _ event: NewEvent, _ decoded: any SwiftProtobuf.Message, reader: TransactionReader, master: MasterKey
    ) throws -> NewEvent {
        guard var incident = decoded as? Stipple_V1_ExposureIncidentRecorded else { return event }
        if !incident.actionsTaken.isEmpty {
            incident.personal.actionsTaken = incident.actionsTaken
            incident.actionsTaken = ""
        }
        guard try incident.personalBytes() != nil || !incident.sealedPersonalBytes.isEmpty else { return event }
        if !incident.exposedClientID.isEmpty, try reader.version(of: Recorder.Streams.client(incident.exposedClientID)) == 0 {
            throw DiscretionError.unsealedIncident(
                stream: event.stream,
                reason: "the exposed client \(incident.exposedClientID) is not in this log (their key seals the incident's personal data)")
        }
        guard let owner = keyOwner(stream: event.stream, message: incident) else {
            throw DiscretionError.unsealedIncident(
                stream: event.stream,
                reason: "name the clinic where it happened (clinicId): the incident's personal data is sealed with that clinic's key")
        }
        return try sealed(event, incident, owner: owner, reader: reader, master: master)
    }

    /// `message` with the free text that may tell of the client's health moved from its
    /// clear field into `personal`, to be sealed with it: a reschedule's or cancellation's
    /// reason, an amendment's reason, a reaction's actions taken (README, "Not protected").
    static func movingFreeText(_ message: any SwiftProtobuf.Message) -> any SwiftProtobuf.Message {
        switch message {
        case var moved as Stipple_V1_SessionRescheduled where !moved.reason.isEmpty:
            moved.personal.reason = moved.reason
            moved.reason = ""
            return moved
        case var cancelled as Stipple_V1_SessionCancelled where !cancelled.reason.isEmpty:
            cancelled.personal.reason = cancelled.reason
            cancelled.reason = ""
            return cancelled
        case var amended as Stipple_V1_RecordAmended where !amended.reason.isEmpty:
            amended.personal.reason = amended.reason
            amended.reason = ""
            return amended
        case var reaction as Stipple_V1_AdverseReactionReported where !reaction.actionsTaken.isEmpty:
            reaction.personal.actionsTaken = reaction.actionsTaken
            reaction.actionsTaken = ""
            return reaction
        default:
            return message
        }
    }

    /// What reading a client's personal data gave.
    public enum Opened: Sendable {
        /// The message with `personal` restored (or as stored, when nothing was sealed).
        case readable(any SwiftProtobuf.Message)
        /// The client was erased: the message without its personal data.
        case erased(any SwiftProtobuf.Message)
    }

    /// Opens the sealed personal data of a decoded client event, if it has any.
    ///
    /// - Throws: ``DiscretionError/unsealable(client:reason:)`` for a value that does not
    ///   open with the client's key.
    package static func open(_ message: any SwiftProtobuf.Message, type: String, client: String, keys: ClientKeys) async throws -> Opened {
        let lookup = try await keys.lookup(client)
        guard var carrier = message as? any CarriesPersonal else {
            // An old version's personal data (never sealed) is not shown once erased.
            if case .erased = lookup, var old = message as? Stipple_V1_SessionRecorded, old.hasPersonal {
                old.clearPersonal()
                return .erased(old)
            }
            return .readable(message)
        }
        switch lookup {
        case .key(let key):
            guard !carrier.sealedPersonalBytes.isEmpty else { return .readable(carrier) }
            try carrier.restore(try Sealing.open(carrier.sealedPersonalBytes, client: client, context: type, key: key))
            return .readable(carrier)
        case .erased:
            // Sealed data cannot open; data written before sealing existed is not shown.
            carrier.keepSealed([])
            return .erased(carrier)
        case .none:
            guard !carrier.sealedPersonalBytes.isEmpty else { return .readable(carrier) }
            carrier.keepSealed([])
            return .erased(carrier)
        }
    }
}

extension PersonalData {
    /// The erasure of a client's personal data, as one decision: the client's key is
    /// destroyed (secure delete) and `ClientErased` appended, in the same transaction.
    /// Every sealed value of the client is unreadable from then on; the clinical facts
    /// stay. Callers should empty the WAL after it commits
    /// (``EventLog/checkpointAndTruncateWAL()``).
    ///
    /// - Throws (from the decision): ``DiscretionError/clientErased(_:)`` when the client
    ///   was erased already.
    package static func erasure(
        client: String, reason: String, at seconds: Int64, metadata: EventMetadata, id: UUID = UUID.v7()
    ) -> Recorder.Decision {
        { reader in
            let erasedAlready = try reader.withDatabase { db -> Bool in
                try db.tableExists("client_keys")
                    && (try Int.fetchOne(db, sql: "SELECT count(*) FROM client_keys WHERE client = ? AND wrapped IS NULL", arguments: [client]) ?? 0) > 0
            }
            if erasedAlready { throw DiscretionError.clientErased(client) }
            try reader.withDatabase { db in try ClientKeys.destroy(client, in: db, at: Date(timeIntervalSince1970: Double(seconds))) }
            var erased = Stipple_V1_ClientErased()
            erased.reason = reason
            erased.erasedAt.seconds = seconds
            return [try Recorder.newEvent(
                erased, type: "ClientErased", stream: Recorder.Streams.client(client), expected: .any, metadata: metadata, id: id)]
        }
    }
}
