import Crypto
import EventLog
import Foundation
import SwiftProtobuf
import Treatment

/// Records the commands of clinicians into the log, checking the domain's rules against
/// the current state of every stream a command touches, inside the write transaction
/// (so a lot recalled a millisecond earlier, or a certification revoked, is seen).
///
/// The decisions here are the rules only: they neither check who records nor seal personal
/// data, so they are `package`, not public. Outside the package, the one way to record is
/// the application layer (`StippleService`'s `Session.record`), which adds the access
/// checks, the actor and the sealing around them.
public struct Recorder: Sendable {
    package let log: EventLog

    package init(log: EventLog) { self.log = log }

    /// Stream names of the domain.
    public enum Streams {
        public static func client(_ id: String) -> String { "client-" + id }
        public static func technician(_ id: String) -> String { "technician-" + id }
        /// The stream of the lot `id` (see ``LotIdentity``).
        public static func batch(_ id: String) -> String { "batch-" + id }
        /// The stream of the lot `lot` of `manufacturer`, as a receipt starts it.
        public static func batch(lot: String, manufacturer: String) -> String { batch(LotIdentity.id(lot: lot, manufacturer: manufacturer)) }
        public static func clinic(_ id: String) -> String { "clinic-" + id }
        public static func access(_ client: String) -> String { "access-" + client }
        public static func form(_ id: String) -> String { "form-" + id }
    }

    /// The (type, schema version) pairs the log holds that this build cannot bring to the
    /// newest schema of their type (an unknown type, or a version with no upcaster).
    public static func unreadableVersions(in log: EventLog) async throws -> [(type: String, version: Int32)] {
        Upcasting.unreadable(try await log.storedTypeVersions())
    }

    /// Decodes a stored event into its message, upcast to the newest schema of its type.
    ///
    /// - Throws: ``CatalogueError`` when the type or version is unknown or the payload
    ///   is not its message.
    public static func decode(_ event: RecordedEvent) throws(CatalogueError) -> any SwiftProtobuf.Message {
        let schema = try EventCatalogue.resolve(type: event.type, version: event.schemaVersion)
        let message = try PayloadCodec.message(fromBinary: event.payload, schema: schema)
        return try Upcasting.upcast(message, type: event.type, version: event.schemaVersion)
    }

    /// The event to append for `message` of `type` (its newest schema) on `stream`.
    public static func newEvent(
        _ message: any SwiftProtobuf.Message, type: String, stream: String, expected: ExpectedVersion,
        metadata: EventMetadata, id: UUID = UUID.v7()
    ) throws -> NewEvent {
        let schema = try EventCatalogue.resolve(type: type, version: nil)
        let payload: [UInt8] = try message.serializedBytes()
        return NewEvent(
            id: id, stream: stream, type: type, schemaVersion: schema.version, expectedVersion: expected,
            metadata: metadata, payload: payload)
    }

    /// Whether a lot, as its receipt says (`nil`: never received), is the recording user's to see.
    package typealias LotVisibility = @Sendable (Stipple_V1_BatchReceived?) -> Bool

    /// A decision to take inside the write transaction (see ``EventLog/transact(_:)-([_])``).
    public typealias Decision = @Sendable (TransactionReader) throws -> [NewEvent]

    /// Types that only their own command may record (their rules read other streams).
    public static let guardedTypes: Set<String> = [
        "SessionRecorded", "TouchUpRecorded", "BatchRecalled", "CertificationRenewed", "RecordAmended",
        // A photo's event names the sealed photo stored with it (client photo add).
        "PhotoAttached",
        // Discretion's own: erasure destroys a key first; access is logged by the reading command;
        // users are changed by the user commands.
        "ClientErased", "RecordAccessed", "UserAdded", "UserTokenRotated", "UserDisabled", "UserPasswordSet", "UserSecondFactorSet", "UserAccessChanged",
    ]

    /// Records a session of a client's course.
    ///
    /// Reads the client's, the technician's (and supervisor's) and every named lot's
    /// stream in the write transaction, decides with ``SessionRules``, and appends
    /// `SessionRecorded` (version 2) with the audit flags (`flags` in its metadata).
    ///
    /// - Throws: ``Refusal`` listing every rule broken (nothing is written), or a log error.
    @discardableResult
    package func recordSession(client: String, _ session: Stipple_V1_SessionRecordedV2, metadata: EventMetadata) async throws -> AppendedEvent {
        try await log.transact(Self.session(client: client, session, metadata: metadata))[0]
    }

    /// Records a touch-up: the session's rules (client, consent, certification, lots, one
    /// procedure a day), without the course numbering.
    @discardableResult
    package func recordTouchUp(client: String, _ touchUp: Stipple_V1_TouchUpRecorded, metadata: EventMetadata) async throws -> AppendedEvent {
        try await log.transact(Self.touchUp(client: client, touchUp, metadata: metadata))[0]
    }

    /// Records a recall of a lot; a lot is recalled once.
    @discardableResult
    package func recallBatch(lot: String, _ recall: Stipple_V1_BatchRecalled, metadata: EventMetadata) async throws -> AppendedEvent {
        try await log.transact(Self.recall(lot: lot, recall, metadata: metadata))[0]
    }

    /// Records the renewal of a certification; refused after a revocation.
    @discardableResult
    package func renewCertification(
        technician: String, _ renewal: Stipple_V1_CertificationRenewed, metadata: EventMetadata
    ) async throws -> AppendedEvent {
        try await log.transact(Self.renewal(technician: technician, renewal, metadata: metadata))[0]
    }

    /// Records an amendment; it must point at an event of the same client.
    @discardableResult
    package func amend(client: String, _ amendment: Stipple_V1_RecordAmended, metadata: EventMetadata) async throws -> AppendedEvent {
        try await log.transact(Self.amendment(client: client, amendment, metadata: metadata))[0]
    }

    /// Records an event that no rule across streams guards (registrations, receipts,
    /// grants, …): its values and its subject checked (see ``checked(_:)``).
    @discardableResult
    package func record(
        _ message: any SwiftProtobuf.Message, type: String, stream: String, expected: ExpectedVersion = .any,
        metadata: EventMetadata
    ) async throws -> AppendedEvent {
        try await log.transact(try Self.checked(try Self.newEvent(message, type: type, stream: stream, expected: expected, metadata: metadata)))[0]
    }

    // MARK: - Decisions

    /// The session decision of ``recordSession(client:_:metadata:)``.
    ///
    /// - Parameter lotVisible: whether the recording user may see a lot (as received); a
    ///   lot they may not see is, to the rules, a lot never received.
    package static func session(
        client clientID: String, _ session: Stipple_V1_SessionRecordedV2, metadata: EventMetadata, id: UUID = UUID.v7(),
        lotVisible: @escaping LotVisibility = { _ in true }
    ) -> Decision {
        { reader in
            let clientStream = Streams.client(clientID)
            var session = session
            (session.pigments, session.cartridges) = try resolvedLots(session.pigments, session.cartridges, lotVisible: lotVisible, reader)
            let context = try context(
                client: clientStream, clinic: session.clinicID, technician: session.technicianID, supervisor: session.supervisorID,
                lots: session.pigments.map(\.lotID) + session.cartridges.map(\.lotID), lotVisible: lotVisible, reader)
            let decision = try SessionRules.decide(session, context: context).get()
            var metadata = metadata
            // Audit flags are the rules' to set, never the caller's.
            metadata.extra["flags"] = decision.flags.isEmpty ? nil : .array(decision.flags.map { .string($0) })
            return [try newEvent(
                decision.session, type: "SessionRecorded", stream: clientStream,
                expected: .exactly(try reader.version(of: clientStream)), metadata: metadata, id: id)]
        }
    }

    /// The touch-up decision of ``recordTouchUp(client:_:metadata:)``.
    package static func touchUp(
        client clientID: String, _ touchUp: Stipple_V1_TouchUpRecorded, metadata: EventMetadata, id: UUID = UUID.v7(),
        lotVisible: @escaping LotVisibility = { _ in true }
    ) -> Decision {
        { reader in
            let clientStream = Streams.client(clientID)
            var touchUp = touchUp
            (touchUp.pigments, touchUp.cartridges) = try resolvedLots(touchUp.pigments, touchUp.cartridges, lotVisible: lotVisible, reader)
            let context = try context(
                client: clientStream, clinic: touchUp.clinicID, technician: touchUp.technicianID, supervisor: touchUp.supervisorID,
                lots: touchUp.pigments.map(\.lotID) + touchUp.cartridges.map(\.lotID), lotVisible: lotVisible, reader)
            let accepted = try SessionRules.decideTouchUp(touchUp, context: context).get()
            return [try newEvent(
                accepted, type: "TouchUpRecorded", stream: clientStream,
                expected: .exactly(try reader.version(of: clientStream)), metadata: metadata, id: id)]
        }
    }

    /// The recall decision of ``recallBatch(lot:_:metadata:)``.
    package static func recall(lot: String, _ recall: Stipple_V1_BatchRecalled, metadata: EventMetadata, id: UUID = UUID.v7()) -> Decision {
        { reader in
            let stream = Streams.batch(lot)
            var batch = BatchState()
            try fold(stream, reader) { batch.apply(type: $0, message: $1, id: $2) }
            let accepted = try RecordRules.decideRecall(recall, lot: lot, batch: batch).get()
            return [try newEvent(
                accepted, type: "BatchRecalled", stream: stream, expected: .exactly(try reader.version(of: stream)), metadata: metadata, id: id)]
        }
    }

    /// The renewal decision of ``renewCertification(technician:_:metadata:)``.
    package static func renewal(
        technician technicianID: String, _ renewal: Stipple_V1_CertificationRenewed, metadata: EventMetadata, id: UUID = UUID.v7()
    ) -> Decision {
        { reader in
            let stream = Streams.technician(technicianID)
            var technician = TechnicianState()
            try fold(stream, reader) { technician.apply(type: $0, message: $1, id: $2) }
            let accepted = try RecordRules.decideRenewal(renewal, technician: technician).get()
            return [try newEvent(
                accepted, type: "CertificationRenewed", stream: stream, expected: .exactly(try reader.version(of: stream)), metadata: metadata, id: id)]
        }
    }

    /// The amendment decision of ``amend(client:_:metadata:)``.
    package static func amendment(client clientID: String, _ amendment: Stipple_V1_RecordAmended, metadata: EventMetadata, id: UUID = UUID.v7()) -> Decision {
        { reader in
            let stream = Streams.client(clientID)
            var amendment = amendment
            // Corrected lots are named as a procedure's are: by number and manufacturer.
            switch amendment.corrected {
            case .session(var session)?:
                (session.pigments, session.cartridges) = try resolvedLots(session.pigments, session.cartridges, reader)
                amendment.session = session
            case .touchUp(var touchUp)?:
                (touchUp.pigments, touchUp.cartridges) = try resolvedLots(touchUp.pigments, touchUp.cartridges, reader)
                amendment.touchUp = touchUp
            case nil:
                break
            }
            var client = ClientState()
            let targetID = UUID(uuidString: amendment.correctsEventID)
            var events: [(id: UUID, type: String, message: any SwiftProtobuf.Message)] = []
            try fold(stream, reader) { type, message, id in
                client.apply(type: type, message: message, id: id)
                events.append((id, type, message))
            }
            // The target as its earlier typed corrections left it.
            let folded = Amendments.folded(events.map { (id: $0.id, message: $0.message) })
            let target = events.firstIndex { $0.id == targetID }.map { (type: events[$0].type, message: folded[$0]) }
            let accepted = try RecordRules.decideAmendment(amendment, client: client, target: target).get()
            return [try newEvent(
                accepted, type: "RecordAmended", stream: stream, expected: .exactly(try reader.version(of: stream)), metadata: metadata, id: id)]
        }
    }

    /// An event with no rule across streams, as a decision (for batches of commands).
    package static func plain(_ event: NewEvent) -> Decision {
        { _ in [event] }
    }

    /// An event with no rule across streams, its values checked (``ValueRules``) first.
    ///
    /// - Throws: ``Refusal`` for values out of range, ``CatalogueError`` when the payload
    ///   is not its type's message.
    package static func checked(_ event: NewEvent) throws -> Decision {
        let schema = try EventCatalogue.resolve(type: event.type, version: event.schemaVersion)
        let message = try PayloadCodec.message(fromBinary: event.payload, schema: schema)
        var violations = ValueRules.violations(message)
        // A registration's (or a receipt's) own id is its stream's: one client, one name.
        switch message {
        case let registered as Stipple_V1_ClientRegistered
            where !registered.clientID.isEmpty && registered.clientID != StreamCategory.client.id(in: event.stream):
            violations.append(RuleViolation(.valueInRange, field: "clientId", "is \(registered.clientID), but the stream is \(event.stream): leave it out or make them agree"))
        case let batch as Stipple_V1_BatchReceived
            where !batch.lot.isEmpty && Streams.batch(lot: batch.lot, manufacturer: batch.manufacturer) != event.stream:
            // A lot is its manufacturer and its number (LotIdentity): one stream per pair.
            let stream = Streams.batch(lot: batch.lot, manufacturer: batch.manufacturer)
            let of = batch.manufacturer.isEmpty ? "with no manufacturer" : "of \(batch.manufacturer)"
            violations.append(RuleViolation(.valueInRange, field: "lot", "lot \(batch.lot) \(of) is the stream \(stream), not \(event.stream)"))
        default:
            break
        }
        if !violations.isEmpty { throw Refusal(violations) }
        var event = event
        // Events that start a stream start it: a second registration (or a second receipt of
        // a lot, which would rewrite its expiry) is a version conflict.
        if creationTypes.contains(event.type) { event.expectedVersion = .noStream }
        return { [event] reader in
            [try checkSubject(of: event, message: message, reader)]
        }
    }

    /// Types that start their stream.
    package static let creationTypes: Set<String> = ["ClientRegistered", "TechnicianRegistered", "BatchReceived", "ClinicOpened"]

    /// Facts about a client, a technician or a lot need them registered (received);
    /// suspensions and revocations need the certification, and a grant a new
    /// certification id; a consent a published form in force (its text's hash pinned), and
    /// a form's version its rules (``ConsentRules``).
    ///
    /// - Returns: the event to record (a consent's or a form's hash pinned).
    static func checkSubject(of event: NewEvent, message: any SwiftProtobuf.Message, _ reader: TransactionReader) throws -> NewEvent {
        if let batch = message as? Stipple_V1_BatchReceived, !batch.manufacturer.isEmpty {
            // A lot received before lot identity has the number alone as its stream: the
            // same manufacturer's lot is that one, not a second stream of the pair.
            let earlier = try lots(numbered: batch.lot, reader).first {
                !LotIdentity.namesManufacturer($0.id) && LotIdentity.slug($0.received?.manufacturer ?? "") == LotIdentity.slug(batch.manufacturer)
            }
            if let earlier {
                throw Refusal([RuleViolation(
                    .valueInRange, field: "lot", "lot \(batch.lot) of \(batch.manufacturer) was received already (stream \(Streams.batch(earlier.id)))")])
            }
        }
        guard !creationTypes.contains(event.type) else { return event }
        switch StreamCategory(stream: event.stream) {
        case .client?:
            if try reader.version(of: event.stream) == 0 {
                throw Refusal([RuleViolation(.clientRegistered, "\(event.stream) is not registered: register the client first")])
            }
            if let consent = message as? Stipple_V1_ConsentSigned {
                let state = try consentForm(consent.formID, reader)
                return try reencoded(event, try ConsentRules.decideConsent(consent, form: state).get())
            }
        case .form?:
            let formID = StreamCategory.form.id(in: event.stream) ?? ""
            let state = try consentForm(formID, reader)
            switch message {
            case let published as Stipple_V1_ConsentFormPublished:
                return try reencoded(event, try ConsentRules.decidePublication(
                    published, formID: formID, state: state, textSHA256: textSHA256(published.text)).get())
            case let withdrawn as Stipple_V1_ConsentFormWithdrawn:
                return try reencoded(event, try ConsentRules.decideWithdrawal(withdrawn, formID: formID, state: state).get())
            default:
                break
            }
        case .technician?:
            var technician = TechnicianState()
            try fold(event.stream, reader) { technician.apply(type: $0, message: $1, id: $2) }
            if !technician.registered {
                throw Refusal([RuleViolation(.technicianCertified, "\(event.stream) is not registered: register the technician first")])
            }
            var violations: [RuleViolation] = []
            switch message {
            case let granted as Stipple_V1_CertificationGranted where technician.certifications[granted.certificationID] != nil:
                violations.append(RuleViolation(
                    .valueInRange, field: "certificationId", "certification \(granted.certificationID) exists already: renew it instead"))
            case let suspended as Stipple_V1_CertificationSuspended:
                if technician.certifications[suspended.certificationID] == nil {
                    violations.append(RuleViolation(.valueInRange, field: "certificationId", "the technician holds no certification \(suspended.certificationID)"))
                }
            case let revoked as Stipple_V1_CertificationRevoked:
                if let certification = technician.certifications[revoked.certificationID] {
                    if let earlier = certification.revokedOn {
                        violations.append(RuleViolation(.valueInRange, field: "certificationId", "certification \(revoked.certificationID) was revoked on \(earlier) already"))
                    }
                } else {
                    violations.append(RuleViolation(.valueInRange, field: "certificationId", "the technician holds no certification \(revoked.certificationID)"))
                }
            default:
                break
            }
            if !violations.isEmpty { throw Refusal(violations) }
        case .batch?:
            // Opening or discarding a lot needs it received (whatever path records it).
            if try reader.version(of: event.stream) == 0 {
                let lot = StreamCategory.batch.id(in: event.stream) ?? event.stream
                throw Refusal([RuleViolation(.lotReceived, "lot \(lot) was never received")])
            }
        default:
            break
        }
        return event
    }

    /// The SHA-256 of a consent form's text (its UTF-8 bytes), lower-case hex.
    package static func textSHA256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A consent form's versions (none for an empty id or a form never published).
    static func consentForm(_ formID: String, _ reader: TransactionReader) throws -> ConsentFormState {
        var state = ConsentFormState()
        guard !formID.isEmpty else { return state }
        try fold(Streams.form(formID), reader) { _, message, _ in state.apply(message) }
        return state
    }

    /// `event` carrying `message` (decided, e.g. a hash pinned) instead of its payload.
    static func reencoded(_ event: NewEvent, _ message: any SwiftProtobuf.Message) throws -> NewEvent {
        var event = event
        event.payload = try message.serializedBytes()
        event.schemaVersion = EventCatalogue.newest(type: event.type)?.version ?? event.schemaVersion
        return event
    }

    /// Folds the streams a procedure's rules read: the client, the technician, the
    /// supervisor and every lot named.
    static func context(
        client stream: String, clinic: String, technician: String, supervisor: String, lots: [String],
        lotVisible: LotVisibility = { _ in true }, _ reader: TransactionReader
    ) throws -> SessionContext {
        var client = ClientState()
        try fold(stream, reader) { client.apply(type: $0, message: $1, id: $2) }
        let times = try clinicTimes(Set([clinic] + client.procedures.map(\.clinicID)), reader)
        var technicianState = TechnicianState()
        try fold(Streams.technician(technician), reader) { technicianState.apply(type: $0, message: $1, id: $2) }
        var supervisorState: TechnicianState?
        if !supervisor.isEmpty {
            var state = TechnicianState()
            try fold(Streams.technician(supervisor), reader) { state.apply(type: $0, message: $1, id: $2) }
            supervisorState = state
        }
        var batches: [String: BatchState] = [:]
        for lot in Set(lots) where !lot.isEmpty {
            var batch = BatchState()
            try fold(Streams.batch(lot), reader) { batch.apply(type: $0, message: $1, id: $2) }
            if batch.received != nil || batch.recalled != nil, lotVisible(batch.received) { batches[lot] = batch }
        }
        return SessionContext(client: client, technician: technicianState, supervisor: supervisorState, lots: batches, times: times)
    }

    /// The lots numbered `number` (see ``LotIdentity``) that the recording user may see, by
    /// id, with their receipts (`nil`: a lot's stream with no receipt, e.g. an import's).
    static func lots(
        numbered number: String, lotVisible: LotVisibility = { _ in true }, _ reader: TransactionReader
    ) throws -> [(id: String, received: Stipple_V1_BatchReceived?)] {
        let plain = Streams.batch(number)
        return try reader.streamNames(prefix: plain).compactMap { stream in
            guard stream == plain || stream.hasPrefix(plain + String(LotIdentity.separator)),
                  let id = StreamCategory.batch.id(in: stream) else { return nil }
            let received = try reader.read(stream: stream, limit: 1).first.flatMap { try decode($0) as? Stipple_V1_BatchReceived }
            return lotVisible(received) ? (id, received) : nil
        }
    }

    /// Names in each use the lot it used (`batchID`), found by its number and its
    /// manufacturer (a pigment's brand) among the lots the user may see.
    ///
    /// - Throws: ``Refusal`` naming each use whose lot is ambiguous (two manufacturers'
    ///   lots share the number and none was named) or is not the manufacturer's named.
    ///   A lot not found is left to the rules ("never received").
    static func resolvedLots(
        _ pigments: [Stipple_V1_PigmentUse], _ cartridges: [Stipple_V1_CartridgeUse],
        lotVisible: LotVisibility = { _ in true }, _ reader: TransactionReader
    ) throws -> ([Stipple_V1_PigmentUse], [Stipple_V1_CartridgeUse]) {
        var violations: [RuleViolation] = []
        /// The use's lot number and the lot's id (empty: not found).
        func resolve(lot: String, manufacturer: String, batchID: String, field: String) throws -> (lot: String, batchID: String) {
            guard batchID.isEmpty, !lot.isEmpty else { return (lot, batchID) }
            let number = LotIdentity.number(of: lot)
            // A lot typed as its id needs no search among the lots of its number.
            let candidates = LotIdentity.namesManufacturer(lot) ? [] : try lots(numbered: number, lotVisible: lotVisible, reader)
            let resolution = LotIdentity.resolve(lot: lot, manufacturer: manufacturer, among: candidates)
            if let problem = resolution.problem(lot: lot, manufacturer: manufacturer) {
                violations.append(RuleViolation(.lotReceived, field: field, problem))
            }
            if case .found(let id) = resolution { return (number, id) }
            return (number, "")
        }
        var pigments = pigments, cartridges = cartridges
        for (index, use) in pigments.enumerated() {
            (pigments[index].lot, pigments[index].batchID) = try resolve(
                lot: use.lot, manufacturer: use.brand, batchID: use.batchID, field: "pigments[\(index)].brand")
        }
        for (index, use) in cartridges.enumerated() {
            (cartridges[index].lot, cartridges[index].batchID) = try resolve(
                lot: use.lot, manufacturer: use.manufacturer, batchID: use.batchID, field: "cartridges[\(index)].manufacturer")
        }
        if !violations.isEmpty { throw Refusal(violations) }
        return (pigments, cartridges)
    }

    /// The time zones of `clinics`, from their `ClinicOpened` (the chain's default zone
    /// for a clinic without one).
    package static func clinicTimes(_ clinics: Set<String>, _ reader: TransactionReader) throws -> ClinicTimes {
        var times = ClinicTimes()
        for clinic in clinics where !clinic.isEmpty {
            try fold(Streams.clinic(clinic), reader) { _, message, _ in times.apply(clinic: clinic, message) }
        }
        return times
    }

    /// Folds every event of `stream` through `apply` (type, newest message, event id).
    static func fold(
        _ stream: String, _ reader: TransactionReader, _ apply: (String, any SwiftProtobuf.Message, UUID) -> Void
    ) throws {
        for event in try reader.read(stream: stream) {
            apply(event.type, try decode(event), event.id)
        }
    }
}
