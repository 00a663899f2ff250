import Discretion
import EventLog
import Foundation
import Recording
import Reports
import Treatment

/// An authenticated user's view of a chain: every use case, each checking this user's
/// role and clinics before it does anything.
///
/// Sessions are cheap values: a server makes one per request from its token.
public struct Session: Sendable {
    let service: Service
    /// Who the token identified.
    public let principal: Principal

    init(service: Service, principal: Principal) {
        self.service = service
        self.principal = principal
    }

    var log: EventLog { service.log }
    var configuration: ServiceConfiguration { service.configuration }

    /// Refuses, before anything is read, what the user's role does not grant (at `clinic`
    /// for a clinic-scoped role).
    func require(_ permission: Permission, clinic: String? = nil) throws(ServiceError) {
        do { try AccessPolicy.check(principal, permission, clinic: clinic) } catch { throw ServiceError.denied(error) }
    }

    /// ``require(_:clinic:)`` for a permission about one client or lot whose clinic comes
    /// from the record: the refusal names no clinic, so it says nothing of where (or
    /// whether) the record exists.
    func requireWithoutRevealing(_ permission: Permission, clinic: String?) throws(ServiceError) {
        do {
            try AccessPolicy.check(principal, permission, clinic: clinic)
        } catch {
            throw ServiceError.denied(AccessDenied(user: error.user, role: error.role, permission: error.permission, clinic: nil))
        }
    }

    /// The metadata every event this user records carries: the user as actor, and their role.
    var stamp: EventMetadata {
        var metadata = EventMetadata(actor: principal.user)
        metadata.extra["role"] = .string(principal.role.rawValue)
        return metadata
    }

    /// The id of a client given as `42` or `client-42`.
    public static func clientID(_ text: String) -> String {
        StreamCategory.client.id(in: text) ?? text
    }

    /// Whether the log holds `client`.
    func clientExists(_ client: String) async throws -> Bool {
        try await log.streamVersion(Recorder.Streams.client(client)) > 0
    }
}

extension Session {
    /// Whether this user may do `permission` (at `clinic`, for a clinic-scoped role): for a
    /// front end deciding which links and forms to offer. The action still checks.
    public func may(_ permission: Permission, clinic: String? = nil) -> Bool {
        (try? AccessPolicy.check(principal, permission, clinic: clinic)) != nil
    }

    /// Whether this user may do `permission` at one of their clinics at least (or across
    /// the chain, for a role that is not clinic-scoped).
    public func mayAnywhere(_ permission: Permission) -> Bool {
        principal.role.isClinicScoped ? principal.clinics.contains { may(permission, clinic: $0) } : may(permission)
    }
}
