import Discretion
import EventLog
import Recording
import SwiftProtobuf
import Treatment

/// Which permissions an event needs, and for which clinics: the recording half of the
/// access policy (the roles' grants are ``AccessPolicy``'s).
enum EventAccess {
    /// Bookings and registrations (reception's work); every other client event is clinical.
    static let bookingTypes: Set<String> = ["ClientRegistered", "SessionBooked", "SessionRescheduled", "SessionCancelled", "SessionNoShow"]
    /// Who may see a client, and the erasure of their data: admins only.
    static let adminTypes: Set<String> = ["ClientMarkedConfidential", "ClientConfidentialityLifted", "ClientErased"]

    /// Every (permission, clinic) an event needs. On an existing client's or lot's stream
    /// the clinic it was registered at always counts, and so does a clinic the event names:
    /// naming one's own clinic on another clinic's client grants nothing.
    static func requirements(for event: NewEvent, reader: TransactionReader) throws -> [(Permission, String?)] {
        let message = try Self.message(of: event)
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
            // Written by the reading use cases themselves, never through a decision of a user.
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

    /// The clinic where a client was registered, read from the log (for reads of a record).
    static func registrationClinic(ofClient client: String, log: EventLog) async throws -> String? {
        guard let first = try await log.read(stream: Recorder.Streams.client(client), limit: 1).first else { return nil }
        return nonEmpty(clinic(of: try Recorder.decode(first)))
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
