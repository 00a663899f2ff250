import EventLog
import Foundation
import SwiftProtobuf
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
    /// A pseudonym stands for this client (in `name`): the report shows it in place of
    /// the client's id, and no contact.
    public var pseudonym: String?

    public init(name: String = "", phone: String = "", email: String = "", address: String = "", erased: Bool = false) {
        self.name = name
        self.phone = phone
        self.email = email
        self.address = address
        self.erased = erased
    }

    /// A contact that only names the client by pseudonym.
    public static func pseudonymous(_ pseudonym: String) -> ClientContact {
        var contact = ClientContact()
        contact.pseudonym = pseudonym
        return contact
    }

    /// The client column: the pseudonym in place of the id when there is one.
    public func shownClient(_ id: String) -> String { pseudonym ?? id }

    /// What a report prints for the name.
    public var shownName: String { erased ? "[erased]" : pseudonym != nil ? "" : name }
    /// Phone and email, as one contact column.
    public var shownContact: String { erased ? "[erased]" : pseudonym != nil ? "" : [phone, email].filter { !$0.isEmpty }.joined(separator: " ") }
}

/// Finds the contacts of clients for a report (nothing is kept in the projections).
public typealias ContactResolver = @Sendable ([String]) async throws -> [String: ClientContact]

/// Opens a client event's sealed personal data for a report that shows its free text (a
/// reason, the actions taken): the decoded message with `personal` restored, or as given
/// when it cannot be opened (erased, no master key).
public typealias EventOpener = @Sendable (RecordedEvent, any SwiftProtobuf.Message) async throws -> any SwiftProtobuf.Message

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
