import Discretion
import EventLog
import Foundation
import Recording
import Treatment

/// Clients' names, phones and emails, opened from their registrations and held in the
/// server's memory only, for finding a client by part of them. Nothing of it is written
/// anywhere: names stay sealed at rest. It catches up with the log before every search,
/// so a client registered or erased a moment ago is found, or gone, at once.
actor ClientDirectory {
    struct Entry: Sendable {
        var client: String
        var clinic: String
        var name: String
        var phone: String
        var email: String
        /// The folded forms searched.
        var foldedName: String
        var phoneDigits: String
        var foldedEmail: String
    }

    private var entries: [String: Entry] = [:]
    /// The log position the directory has read up to (`nil`: not built yet).
    private var position: Int64?

    /// Catches up with the log, then returns the entries.
    func current(log: EventLog, keys: ClientKeys) async throws -> [String: Entry] {
        if let position {
            var from = position + 1
            while true {
                let events = try await log.readAll(from: from, limit: 1_000)
                for event in events { try await apply(event, keys: keys) }
                guard let last = events.last else { break }
                from = last.position + 1
                self.position = last.position
            }
        } else {
            // First use: each client stream once (a client's stream is short), from a head
            // read before, so later events are applied again by the next catch-up (a
            // registration or an erasure applies twice to the same result).
            let head = try await log.head().position
            for stream in try await log.streamNames(prefix: StreamCategory.client.prefix) {
                for event in try await log.read(stream: stream, limit: Int.max) { try await apply(event, keys: keys) }
            }
            position = head
        }
        return entries
    }

    private func apply(_ event: RecordedEvent, keys: ClientKeys) async throws {
        guard let client = StreamCategory.client.id(in: event.stream) else { return }
        switch event.type {
        case "ClientRegistered":
            guard let registered = try Recorder.decode(event) as? Stipple_V1_ClientRegistered else { return }
            switch try await PersonalData.open(registered, type: event.type, client: client, keys: keys) {
            case .readable(let opened):
                let personal = (opened as? Stipple_V1_ClientRegistered)?.personal ?? registered.personal
                entries[client] = Entry(
                    client: client, clinic: registered.clinicID, name: personal.name, phone: personal.phone, email: personal.email,
                    foldedName: Self.fold(personal.name), phoneDigits: Self.digits(personal.phone), foldedEmail: Self.fold(personal.email))
            case .erased:
                entries[client] = nil
            }
        case "ClientErased":
            entries[client] = nil
        default:
            break
        }
    }

    /// Lower case, without accents or marks: "Zoë" is found by "zoe".
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_CA"))
    }

    static func digits(_ text: String) -> String { String(text.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init)) }

    /// The entries matching `query`: every word of it in the name, or the email holding
    /// it, or (three digits or more) the phone's digits holding its digits.
    static func matches(_ query: String, in entries: some Sequence<Entry>) -> [Entry] {
        let folded = fold(query.trimmingCharacters(in: .whitespacesAndNewlines))
        let words = folded.split(whereSeparator: \.isWhitespace).map(String.init)
        let digits = digits(query)
        let phoneQuery = digits.count >= 3 && digits.count * 2 >= folded.filter { !$0.isWhitespace && $0 != "-" }.count
        return entries.filter { entry in
            if !words.isEmpty && words.allSatisfy({ entry.foldedName.contains($0) }) { return true }
            if folded.contains("@") || folded.count >= 3, !folded.contains(" "), entry.foldedEmail.contains(folded) { return true }
            return phoneQuery && entry.phoneDigits.contains(digits)
        }
    }
}

/// One client found by a search, as the user may see them.
public struct FoundClient: Sendable, Hashable {
    public var client: String
    public var clinic: String
    /// The name, phone and email; `nil` for a confidential client (their care team sees a
    /// pseudonym here and the name once they say why they open the record).
    public var name: String?
    public var phone: String?
    public var email: String?
    public var pseudonym: String
    public var confidential: Bool
}

/// What a search found.
public struct ClientSearch: Sendable, Hashable {
    public var clients: [FoundClient]
    /// How many more matched than are shown (type more of the name).
    public var more: Int
}

extension Session {
    /// The clients whose name (every word typed), email or phone holds `query`, among
    /// those this user books for (reception and clinicians of the client's clinic,
    /// admins): at most `limit`, by name. A confidential client is found only by those
    /// who may open their record, and shown by pseudonym until they say why. Every client
    /// shown is logged as an access (`client search`) before the result is returned.
    ///
    /// - Throws: ``ServiceError``: `badInput` for fewer than 2 characters, `failure`
    ///   without the master key file (names cannot be opened), `denied` for a role that
    ///   books for no clinic.
    public func findClients(_ query: String, limit: Int = 25) async throws(ServiceError) -> ClientSearch {
        guard principal.role == .admin || principal.role.isClinicScoped else {
            throw ServiceError.denied(AccessDenied(user: principal.user, role: principal.role, permission: .recordBookings, clinic: nil))
        }
        let trimmed = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= 2 else { throw ServiceError.badInput("type at least 2 letters of the name, or 3 digits of the phone") }
        guard trimmed.count <= 200 else { throw ServiceError.badInput("a search has at most 200 characters") }
        let keys = try await classified { try await service.clientKeysIfAvailable() }
        guard let keys else { throw ServiceError.failure("names cannot be searched without the master key file (\(configuration.masterKeyPath))") }
        let entries = try await classified { try await service.directory.current(log: log, keys: keys) }
        let pseudonyms = try await classified { try await keys.pseudonyms() }
        var found: [FoundClient] = []
        for entry in ClientDirectory.matches(trimmed, in: entries.values).sorted(by: { ($0.foldedName, $0.client) < ($1.foldedName, $1.client) }) {
            guard (try? AccessPolicy.check(principal, .recordBookings, clinic: entry.clinic)) != nil else { continue }
            let events = try await classified { try await log.read(stream: Recorder.Streams.client(entry.client), limit: Int.max) }
            let verdict = AccessLog.verdict(for: principal, clientEvents: events, purpose: nil)
            guard verdict != .refused else { continue }
            let hidden = verdict == .purposeRequired
            found.append(FoundClient(
                client: entry.client, clinic: entry.clinic, name: hidden ? nil : entry.name, phone: hidden ? nil : entry.phone,
                email: hidden ? nil : entry.email, pseudonym: pseudonyms.pseudonym(for: entry.client), confidential: hidden || AccessLog.isConfidential(events)))
        }
        let shown = Array(found.prefix(max(0, limit)))
        // Every client shown is logged, by name or by pseudonym: a hit on a confidential
        // client's name tells the searcher who the pseudonym is.
        try await logAccess(to: shown.map(\.client), purpose: nil, use: .search)
        return ClientSearch(clients: shown, more: found.count - shown.count)
    }
}
