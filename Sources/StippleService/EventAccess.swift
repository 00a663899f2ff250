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

    /// The permission an event of `type` on `stream` needs (at some clinic, for the
    /// clinic-scoped roles).
    static func permission(type: String, stream: String) -> Permission {
        switch StreamCategory(stream: stream) {
        case .client?:
            if adminTypes.contains(type) { return .manageConfidentiality }
            return bookingTypes.contains(type) ? .recordBookings : .recordClinical
        case .batch?, .incident?: return .recordClinical
        case .access?: return .importEvents
        case .user?: return .manageUsers
        case .technician?, .clinic?, .form?, nil: return .manageStaff
        }
    }

    /// Every (permission, clinic) an event needs. On an existing client's or lot's stream
    /// the clinic it was registered at always counts, and so does a clinic the event names:
    /// naming one's own clinic on another clinic's client grants nothing.
    static func requirements(for event: NewEvent, reader: TransactionReader) throws -> [(Permission, String?)] {
        let permission = Self.permission(type: event.type, stream: event.stream)
        let named = nonEmpty(clinic(of: try Self.message(of: event)))
        switch StreamCategory(stream: event.stream) {
        case .client? where !adminTypes.contains(event.type), .batch?:
            let registered = registrationClinic(event.stream, reader: reader)
            let clinics = Set([registered, named].compactMap { $0 })
            return clinics.isEmpty ? [(permission, nil)] : clinics.sorted().map { (permission, $0) }
        case .incident?:
            // An exposure incident happens at a clinic; clinicians record their clinic's.
            return [(permission, named)]
        default:
            // Confidentiality and erasure, the access log (written by the reading use cases
            // themselves), staff and clinics: across the chain.
            return [(permission, nil)]
        }
    }

    /// The access to a command's target stream, checked before its decision runs: the
    /// permission the command needs (`permission`: a session's is clinical, a booking's
    /// reception's), at the clinic the stream was registered at. A refusal names no
    /// clinic, so it says nothing about whether the client (or lot) exists, and comes
    /// before any rule could say something about the record.
    ///
    /// - Parameter creates: the command starts the stream (a registration, a receipt, an
    ///   incident). Any other command on a stream that does not exist is refused to a
    ///   clinic-scoped user exactly as one at another clinic is, so that nobody learns
    ///   from a refusal whether a client or lot exists anywhere in the chain.
    static func checkTarget(
        _ stream: String, permission: Permission, creates: Bool, principal: Principal, reader: TransactionReader
    ) throws {
        let denied = AccessDenied(user: principal.user, role: principal.role, permission: permission, clinic: nil)
        let clinic = registrationClinic(stream, reader: reader)
        if clinic == nil, principal.role.isClinicScoped, !creates, try reader.version(of: stream) == 0 { throw denied }
        let allowed = (try? AccessPolicy.check(principal, permission, clinic: clinic)) != nil
            || (clinic == nil && principal.role.isClinicScoped && AccessPolicy.grants[principal.role]?.contains(permission) == true)
        if !allowed { throw denied }
        if StreamCategory(stream: stream) == .client, let client = try? reader.read(stream: stream, limit: Int.max),
           AccessLog.verdict(for: principal, clientEvents: client, purpose: "recording") == .refused {
            throw denied
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
        case let m as Stipple_V1_ExposureIncidentRecorded: return m.clinicID
        // A correction that moves a procedure to a clinic needs the right to record there.
        case let m as Stipple_V1_RecordAmended where m.fields.contains("clinicId"):
            switch m.corrected {
            case .session(let values)?: return values.clinicID
            case .touchUp(let values)?: return values.clinicID
            case nil: return nil
            }
        default: return nil
        }
    }

    static func message(of event: NewEvent) throws -> any SwiftProtobuf.Message {
        let schema = try EventCatalogue.resolve(type: event.type, version: event.schemaVersion)
        return try Upcasting.upcast(try PayloadCodec.message(fromBinary: event.payload, schema: schema), type: event.type, version: event.schemaVersion)
    }

    static func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
}
