import EventLog
import Foundation
import Recording
import Treatment

/// A client's name and contact, as a report may show them.
public struct ClientContact: Sendable, Hashable {
    public var name: String
    public var phone: String
    public var email: String
    public var address: String
    /// The client's personal data was erased: nothing to show.
    public var erased: Bool

    public init(name: String = "", phone: String = "", email: String = "", address: String = "", erased: Bool = false) {
        self.name = name
        self.phone = phone
        self.email = email
        self.address = address
        self.erased = erased
    }

    /// What a report prints for the name.
    public var shownName: String { erased ? "[erased]" : name }
    /// Phone and email, as one contact column.
    public var shownContact: String { erased ? "[erased]" : [phone, email].filter { !$0.isEmpty }.joined(separator: " ") }
}

/// Finds the contacts of clients for a report (nothing is kept in the projections).
public typealias ContactResolver = @Sendable ([String]) async throws -> [String: ClientContact]

extension ClinicReports {
    /// Contacts read from each client's registration as stored: what the log holds in
    /// clear (a log written without sealing); sealed data shows empty.
    public static func storedContacts(_ log: EventLog) -> ContactResolver {
        { clients in
            var contacts: [String: ClientContact] = [:]
            for client in clients {
                guard let first = try await log.read(stream: Recorder.Streams.client(client), limit: 1).first,
                      let registered = try Recorder.decode(first) as? Stipple_V1_ClientRegistered
                else { continue }
                contacts[client] = ClientContact(registered.personal)
            }
            return contacts
        }
    }
}

extension ClientContact {
    /// The contact of a registration's personal data.
    public init(_ personal: Stipple_V1_ClientPersonal) {
        self.init(name: personal.name, phone: personal.phone, email: personal.email, address: personal.address)
    }
}
