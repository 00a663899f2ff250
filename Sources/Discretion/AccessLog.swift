import EventLog
import Foundation
import Recording
import Treatment

/// The access log: who was shown whose record, when and why (DOMAIN.md, "Records law").
public enum AccessLog {
    /// The `RecordAccessed` events for `clients` being shown to `principal` (one each, on
    /// the client's access stream).
    package static func entries(
        clients: [String], principal: Principal, purpose: String?, command: String, at seconds: Int64,
        newID: () -> UUID = { UUID.v7() }
    ) throws -> [NewEvent] {
        try Set(clients).sorted().map { client in
            var accessed = Stipple_V1_RecordAccessed()
            accessed.clientID = client
            accessed.actor = principal.user
            accessed.role = principal.role.rawValue
            accessed.purpose = purpose ?? ""
            accessed.accessedAt.seconds = seconds
            accessed.command = command
            var metadata = EventMetadata(actor: principal.user)
            metadata.extra["role"] = .string(principal.role.rawValue)
            return try Recorder.newEvent(
                accessed, type: "RecordAccessed", stream: Recorder.Streams.access(client), expected: .any, metadata: metadata, id: newID())
        }
    }

    /// Whether a client's stream leaves them marked confidential.
    package static func isConfidential(_ events: [RecordedEvent]) -> Bool {
        var confidential = false
        for event in events {
            if event.type == "ClientMarkedConfidential" { confidential = true }
            if event.type == "ClientConfidentialityLifted" { confidential = false }
        }
        return confidential
    }

    /// Whether `user` consulted or treated the client: recorded a consultation, session or
    /// touch-up of theirs (the actor of those events is the recording user's token).
    package static func hasConsultedOrTreated(_ events: [RecordedEvent], user: String) -> Bool {
        let clinical: Set<String> = ["ConsultationRecorded", "SessionRecorded", "TouchUpRecorded"]
        return events.contains { event in clinical.contains(event.type) && (try? event.metadata().actor) == user }
    }

    /// Who may see a confidential client's record: admins, auditors, and clinicians who
    /// consulted or treated the client — each with a purpose.
    public enum Verdict: Sendable, Equatable {
        case allowed
        /// Allowed, once a purpose is given.
        case purposeRequired
        /// Refused, revealing nothing (not even that the client exists).
        case refused
    }

    package static func verdict(for principal: Principal, clientEvents: [RecordedEvent], purpose: String?) -> Verdict {
        guard isConfidential(clientEvents) else { return .allowed }
        let may: Bool
        switch principal.role {
        case .admin, .auditor: may = true
        case .clinician: may = hasConsultedOrTreated(clientEvents, user: principal.user)
        case .reception: may = false
        }
        guard may else { return .refused }
        return isBlank(purpose) ? .purposeRequired : .allowed
    }

    /// Whether a purpose says nothing: missing, or only spaces, newlines and control characters.
    package static func isBlank(_ purpose: String?) -> Bool {
        purpose?.unicodeScalars.allSatisfy { CharacterSet.whitespacesAndNewlines.contains($0) || CharacterSet.controlCharacters.contains($0) } ?? true
    }
}
