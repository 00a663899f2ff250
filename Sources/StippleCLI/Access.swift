import ArgumentParser
import Discretion
import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

/// What a command needs of its user, checked before it does anything.
enum Access {
    /// Any valid token (status, verify, stats).
    case anyUser
    /// A permission, for one clinic or (`nil`) across the chain.
    case permission(Permission, clinic: String? = nil)
    /// A permission per event, decided inside the write transaction (see ``authorized(_:principal:)``).
    case perEvent
}

extension GlobalOptions {
    /// The token: `--token`, else `STIPPLE_TOKEN`.
    var accessToken: String? {
        if let token, !token.isEmpty { return token }
        return ProcessInfo.processInfo.environment["STIPPLE_TOKEN"]
    }

    /// The master key file: `STIPPLE_MASTER_KEY_FILE`, else `./stipple.key`.
    var masterKeyPath: String {
        if let path = ProcessInfo.processInfo.environment["STIPPLE_MASTER_KEY_FILE"], !path.isEmpty { return path }
        return "./stipple.key"
    }

    /// The master key, checked against the log's client keys.
    ///
    /// - Throws: ``DiscretionError`` (no file, a file others may read, a wrong key).
    func masterKey(for log: EventLog) async throws -> MasterKey {
        let master = try MasterKey.load(from: masterKeyPath)
        try await ClientKeys(log: log, master: master, masterPath: masterKeyPath).prepare()
        return master
    }

    /// The client keys, when a master key file is there (reading works without it, showing
    /// personal data still sealed).
    func clientKeysIfAvailable(for log: EventLog) async throws -> ClientKeys? {
        guard FileManager.default.fileExists(atPath: masterKeyPath) else { return nil }
        let master = try await masterKey(for: log)
        return ClientKeys(log: log, master: master, masterPath: masterKeyPath)
    }

    /// Opens the log and checks the token and its user's permission before anything else.
    ///
    /// - Throws: ``UserError`` or ``AccessDenied`` (exit 5), nothing written.
    func open(readOnly: Bool = false, for access: Access) async throws -> (EventLog, Principal) {
        let log = try await open(readOnly: readOnly)
        // A key file others may read is refused before anything, by every command.
        if FileManager.default.fileExists(atPath: masterKeyPath) { _ = try MasterKey.load(from: masterKeyPath) }
        let principal = try await Users(log: log).authenticate(accessToken)
        if case .permission(let permission, let clinic) = access {
            try AccessPolicy.check(principal, permission, clinic: clinic)
        }
        return (log, principal)
    }
}

/// The decisions of a command as they are recorded: each event allowed for `principal`
/// and carrying them as actor, its personal data sealed with the client's key.
///
/// - Parameter target: the stream the command is about, when known: the user's access to
///   it is checked before the decision runs, so a refused user learns nothing from the
///   domain's rules (not whether the client exists, nor their consent or sessions).
func recorded(
    _ decisions: [Recorder.Decision], principal: Principal, options: GlobalOptions, log: EventLog, target: String? = nil
) async throws -> [Recorder.Decision] {
    let master = try await options.masterKey(for: log)
    return PersonalData.sealing(authorized(decisions, principal: principal, target: target), master: master)
}

/// Wraps decisions so that every event they return is allowed for `principal` (checked
/// inside the write transaction, where the client's clinic is read) and carries the
/// principal as its actor, whatever the input said.
func authorized(_ decisions: [Recorder.Decision], principal: Principal, target: String? = nil) -> [Recorder.Decision] {
    decisions.map { decision in
        { reader in
            if let target { try EventAccess.checkTarget(target, principal: principal, reader: reader) }
            return try decision(reader).map { event in
                for (permission, clinic) in try EventAccess.requirements(for: event, reader: reader) {
                    try AccessPolicy.check(principal, permission, clinic: clinic)
                }
                // The target's own confidentiality was checked above, before the decision.
                if event.stream != target { try EventAccess.checkConfidential(event, principal: principal, reader: reader) }
                var event = event
                event.metadata.actor = principal.user
                event.metadata.extra["role"] = .string(principal.role.rawValue)
                return event
            }
        }
    }
}

/// Which permissions an event needs, and for which clinics.
enum EventAccess {
    /// Bookings and registrations (reception's work); every other client event is clinical.
    static let bookingTypes: Set<String> = ["ClientRegistered", "SessionBooked", "SessionRescheduled", "SessionCancelled", "SessionNoShow"]
    /// Who may see a client, and the erasure of their data: admins only.
    static let adminTypes: Set<String> = ["ClientMarkedConfidential", "ClientConfidentialityLifted", "ClientErased"]

    /// Every (permission, clinic) an event needs. On an existing client's or lot's stream
    /// the clinic it was registered at always counts, and so does a clinic the event names:
    /// naming one's own clinic on another clinic's client grants nothing.
    static func requirements(for event: NewEvent, reader: TransactionReader) throws -> [(Permission, String?)] {
        let message = try EventAccess.message(of: event)
        let named = nonEmpty(clinic(of: message))
        func scoped(_ permission: Permission) -> [(Permission, String?)] {
            let registered = registrationClinic(event.stream, reader: reader)
            let clinics = Set([registered, named].compactMap { $0 })
            return clinics.isEmpty ? [(permission, nil)] : clinics.sorted().map { (permission, $0) }
        }
        switch StreamCategory(stream: event.stream) {
        case .client?:
            if adminTypes.contains(event.type) { return [(.manageConfidentiality, nil)] }
            return scoped(bookingTypes.contains(event.type) ? .recordBookings : .recordClinical)
        case .batch?:
            return scoped(.recordClinical)
        case .incident?:
            // An exposure incident happens at a clinic; clinicians record their clinic's.
            return [(.recordClinical, named)]
        case .access?:
            // Written by the reading commands themselves, never through a decision of a user.
            return [(.importEvents, nil)]
        case .technician?, .clinic?, nil:
            return [(.manageStaff, nil)]
        }
    }

    /// The access to a command's target stream, checked before its decision runs: the
    /// least any event on it needs, at the clinic it was registered at. A refusal names no
    /// clinic, so it says nothing about whether the client (or lot) exists.
    static func checkTarget(_ stream: String, principal: Principal, reader: TransactionReader) throws {
        let permission: Permission
        switch StreamCategory(stream: stream) {
        case .client?: permission = .recordBookings
        case .batch?, .incident?: permission = .recordClinical
        case .access?: permission = .importEvents
        case .technician?, .clinic?, nil: permission = .manageStaff
        }
        let clinic = registrationClinic(stream, reader: reader)
        let allowed = (try? AccessPolicy.check(principal, permission, clinic: clinic)) != nil
            || (clinic == nil && principal.role.isClinicScoped && AccessPolicy.grants[principal.role]?.contains(permission) == true)
        if !allowed { throw AccessDenied(user: principal.user, role: principal.role, permission: permission, clinic: nil) }
        if StreamCategory(stream: stream) == .client, let client = try? reader.read(stream: stream, limit: Int.max),
           AccessLog.verdict(for: principal, clientEvents: client, purpose: "recording") == .refused {
            throw AccessDenied(user: principal.user, role: principal.role, permission: permission, clinic: nil)
        }
    }

    /// A confidential client's clinical events are recorded only by admins and the
    /// clinicians already caring for them (who recorded a consultation or procedure): nobody
    /// joins the care team of a confidential client by recording one.
    static func checkConfidential(_ event: NewEvent, principal: Principal, reader: TransactionReader) throws {
        guard StreamCategory(stream: event.stream) == .client, !adminTypes.contains(event.type) else { return }
        let events = try reader.read(stream: event.stream, limit: Int.max)
        if AccessLog.verdict(for: principal, clientEvents: events, purpose: "recording") == .refused {
            throw AccessDenied(user: principal.user, role: principal.role, permission: .recordClinical, clinic: nil)
        }
    }

    /// The clinic where a client was registered (or a lot received), from its stream's first event.
    static func registrationClinic(_ stream: String, reader: TransactionReader) -> String? {
        guard let first = try? reader.read(stream: stream, limit: 1).first, let message = try? Recorder.decode(first) else { return nil }
        return nonEmpty(clinic(of: message))
    }

    /// The clinic a message names, if it names one.
    static func clinic(of message: any SwiftProtobuf.Message) -> String? {
        switch message {
        case let m as Stipple_V1_ClientRegistered: return m.clinicID
        case let m as Stipple_V1_ConsultationRecorded: return m.clinicID
        case let m as Stipple_V1_ConsentSigned: return m.clinicID
        case let m as Stipple_V1_SessionBooked: return m.clinicID
        case let m as Stipple_V1_SessionRecordedV2: return m.clinicID
        case let m as Stipple_V1_TouchUpRecorded: return m.clinicID
        case let m as Stipple_V1_BatchReceived: return m.clinicID
        case let m as Stipple_V1_BatchOpened: return m.clinicID
        default: return nil
        }
    }

    static func message(of event: NewEvent) throws -> any SwiftProtobuf.Message {
        let schema = try EventCatalogue.resolve(type: event.type, version: event.schemaVersion)
        return try Upcasting.upcast(try PayloadCodec.message(fromBinary: event.payload, schema: schema), type: event.type, version: event.schemaVersion)
    }

    static func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
}

/// The clinic where `client` was registered, read from the log (for commands that read a
/// client's record).
func clientClinic(_ client: String, log: EventLog) async throws -> String? {
    guard let first = try await log.read(stream: Recorder.Streams.client(client), limit: 1).first else { return nil }
    return EventAccess.nonEmpty(EventAccess.clinic(of: try Recorder.decode(first)))
}

/// Why a record is shown (`--reason`): required for a confidential client, kept in the
/// access log with every read.
struct PurposeOption: ParsableArguments {
    @Option(name: .customLong("reason"), help: ArgumentHelp(
        "Why you look (kept in the access log; required for a confidential client).", valueName: "text"))
    var purpose: String?
}

/// Checks that `principal` may be shown `client`'s record, then logs the access
/// (`RecordAccessed`, durable) before anything is shown.
///
/// - Throws: ``AccessDenied`` that reveals nothing for a confidential client the user may
///   not see; a refusal asking for `--reason` when the purpose is missing.
func showRecord(
    of client: String, log: EventLog, principal: Principal, purpose: String?, command: String
) async throws {
    let events = try await log.read(stream: Recorder.Streams.client(client), limit: Int.max)
    switch AccessLog.verdict(for: principal, clientEvents: events, purpose: purpose) {
    case .allowed: break
    case .purposeRequired:
        throw Failure(code: .denied, message: "refused: client \(client) is confidential: say why you look with --reason (it is kept in the access log)")
    case .refused:
        // The same refusal as for a client that does not exist.
        throw AccessDenied(user: principal.user, role: principal.role, permission: .readClinical, clinic: nil)
    }
    try await logAccess(to: [client], log: log, principal: principal, purpose: purpose, command: command)
}

/// Appends one `RecordAccessed` per client shown (durable before the record is printed).
func logAccess(to clients: [String], log: EventLog, principal: Principal, purpose: String?, command: String) async throws {
    guard !clients.isEmpty else { return }
    try await log.append(try AccessLog.entries(
        clients: clients, principal: principal, purpose: purpose, command: command, at: Int64(Date().timeIntervalSince1970)))
}
