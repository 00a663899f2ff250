import Discretion
import EventLog
import Foundation
import Recording
import Reports
import SwiftProtobuf
import Treatment

/// The use cases that show a client's record, named as the access log records them.
public enum RecordUse: String, Sendable, Hashable, CaseIterable {
    case history
    case read
    case readAll = "read --all"
    case export = "client export"
    case lotReport = "report lot"
    case dueReport = "report due"
    case recordsReport = "report records"
    /// Reports that open no name (workload, conversion, audit).
    case report
    /// A search by name (the pages' "find a client"): each client shown by name.
    case search = "client search"
    /// A client's page (the pages' record of one client).
    case page = "client page"
    /// A clinic's day (its bookings, by name for those who book there).
    case clinicDay = "clinic day"
    /// One of the client's photos, opened.
    case photo = "client photo"

    /// Who is shown clients' names in this use: the reader of a record (checked before)
    /// in a history, an export and a read; admins only in the other reports; everyone
    /// else sees a pseudonym.
    func mayName(_ principal: Principal) -> Bool {
        switch self {
        case .history, .read, .readAll, .export, .search, .page, .clinicDay, .photo: return true
        case .lotReport, .dueReport, .recordsReport, .report: return principal.role == .admin
        }
    }

    /// Whether the use logs its one access itself, before it reads (see ``Session/disclose(_:purpose:use:)``).
    var logsBeforeReading: Bool { self == .history || self == .read || self == .export || self == .page || self == .photo }
}

// The one read path for a client's record: need-to-know (the confidential client's care
// team), the purpose where one is required, the access logged (durably) before any data
// is returned. Names are opened here and nowhere else.
extension Session {
    /// Checks that the user may be shown `client`'s record, then logs the access
    /// (`RecordAccessed`, durable) before anything is shown.
    ///
    /// - Throws: ``ServiceError``: `denied` revealing nothing for a confidential client the
    ///   user may not see (the words a client that does not exist gets), `denied` with
    ///   ``ServiceError/PurposeRequired/client(_:)`` when the purpose is missing.
    func disclose(_ client: String, purpose: String?, use: RecordUse) async throws(ServiceError) {
        let events = try await classified { try await log.read(stream: Recorder.Streams.client(client), limit: Int.max) }
        switch AccessLog.verdict(for: principal, clientEvents: events, purpose: purpose) {
        case .allowed: break
        case .purposeRequired:
            throw ServiceError(
                .denied, "refused: client \(client) is confidential: say why you look (the purpose is kept in the access log)",
                detail: .purposeRequired(.client(client)))
        case .refused:
            // The same refusal as for a client that does not exist.
            throw ServiceError.denied(AccessDenied(user: principal.user, role: principal.role, permission: .readClinical, clinic: nil))
        }
        try await logAccess(to: [client], purpose: purpose, use: use)
    }

    /// The longest purpose kept in the access log.
    static let maximumPurposeLength = 500

    /// Appends one `RecordAccessed` per client shown, durable before the record is returned.
    func logAccess(to clients: [String], purpose: String?, use: RecordUse) async throws(ServiceError) {
        guard !clients.isEmpty else { return }
        if let purpose, purpose.count > Self.maximumPurposeLength {
            throw ServiceError.badInput("a purpose has at most \(Self.maximumPurposeLength) characters: say why in a sentence")
        }
        let entries = try await classified {
            try AccessLog.entries(
                clients: clients, principal: principal, purpose: purpose, command: use.rawValue, at: configuration.nowSeconds,
                newID: configuration.newID)
        }
        // Access streams hold no personal data to seal: appended as they are, stamped by
        // the entries themselves with this user.
        _ = try await classified { try await log.append(entries) }
    }

    /// Names and contacts for a report, read from each client's registration and opened
    /// with the client's key, for those `use` lets see names (and who may see each client:
    /// a confidential client's name needs the care team and a purpose); everyone else
    /// sees a pseudonym. Every name shown is logged before the report is returned. An
    /// erased client shows as erased; without a master key file no name can be opened.
    func contacts(purpose: String?, use: RecordUse) async throws(ServiceError) -> ContactResolver {
        let keys = try await classified { try await service.clientKeysIfAvailable() }
        let pseudonyms = try await classified { try await keys?.pseudonyms() }
        let session = self
        return { clients in
            var contacts: [String: ClientContact] = [:]
            guard let keys else { return contacts }
            var revealed: [String] = []
            for client in Set(clients) {
                let events = try await session.log.read(stream: Recorder.Streams.client(client), limit: Int.max)
                guard let first = events.first, let registered = try Recorder.decode(first) as? Stipple_V1_ClientRegistered else { continue }
                let pseudonym = ClientContact.pseudonymous(pseudonyms?.pseudonym(for: client) ?? "C-?")
                guard use.mayName(session.principal),
                      AccessLog.verdict(for: session.principal, clientEvents: events, purpose: purpose) == .allowed
                else {
                    contacts[client] = pseudonym
                    continue
                }
                switch try await PersonalData.open(registered, type: "ClientRegistered", client: client, keys: keys) {
                case .readable(let opened):
                    contacts[client] = ClientContact((opened as? Stipple_V1_ClientRegistered)?.personal ?? registered.personal)
                    revealed.append(client)
                case .erased:
                    contacts[client] = ClientContact(erased: true)
                }
            }
            if !use.logsBeforeReading { try await session.logAccess(to: revealed, purpose: purpose, use: use) }
            return contacts
        }
    }

    /// Opens the sealed free text of the events a history shows (reasons, actions taken),
    /// for a reader the record was disclosed to (checked and logged before): the message as
    /// stored when it cannot be opened (erased, no master key file).
    func opener(keys: ClientKeys?) -> EventOpener {
        { event, message in
            guard let keys, let owner = self.keyOwner(event, message),
                  case .readable(let opened)? = try? await PersonalData.open(message, type: event.type, client: owner, keys: keys)
            else { return message }
            return opened
        }
    }

    /// Whose key opens the personal data of `event` for this user, or `nil` when they may
    /// not see it: a client's (disclosed by the read that shows it: checked and logged), or
    /// an exposure incident's clinic's, for those who may read that clinic's clinical records.
    func keyOwner(_ event: RecordedEvent, _ message: any SwiftProtobuf.Message) -> String? {
        if let incident = message as? Stipple_V1_ExposureIncidentRecorded, incident.exposedClientID.isEmpty,
           !may(.readClinical, clinic: incident.clinicID) {
            return nil
        }
        return PersonalData.keyOwner(stream: event.stream, message: message)
    }

    /// An event as the user may see it: personal data opened with the client's key when
    /// the master key file is there.
    func shown(_ event: RecordedEvent, keys: ClientKeys?) async throws -> ShownEvent {
        guard let keys, let schema = EventCatalogue.schema(type: event.type, version: event.schemaVersion),
              let message = try? PayloadCodec.message(fromBinary: event.payload, schema: schema),
              let owner = keyOwner(event, message)
        else { return ShownEvent(event: event, personal: .asStored) }
        var shown = event
        let opened: PersonalData.Opened
        do {
            opened = try await PersonalData.open(message, type: event.type, client: owner, keys: keys)
        } catch let error as DiscretionError {
            // One value that does not open does not hide the rest of the record.
            return ShownEvent(event: event, personal: .unreadable(error.description))
        }
        switch opened {
        case .readable(let opened):
            shown.payload = try opened.serializedBytes()
            return ShownEvent(event: shown, personal: .opened)
        case .erased(let stripped):
            shown.payload = try stripped.serializedBytes()
            return ShownEvent(event: shown, personal: .erased)
        }
    }
}
