import Discretion
import EventLog
import Foundation
import Recording

extension Session {
    /// A one-time link's token for `user` to set their own password (a first password, or
    /// a reset): shown once, working for 72 hours, replacing any older link of theirs.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `notFound` for an unknown user; `refused` for
    ///   a disabled one).
    public func invite(_ user: String) async throws(ServiceError) -> Invites.Invite {
        try require(.manageUsers)
        return try await classified { try await Invites(log: log).make(for: user, by: principal.user, at: configuration.clock()) }
    }
}

extension Service {
    /// The user an invite link is for, while it works (the page then asks their password).
    ///
    /// - Throws: ``ServiceError`` (`refused`: used, expired, replaced, or a disabled user).
    public func invitedUser(token: String) async throws(ServiceError) -> String {
        try await classified { try await Invites(log: log).user(of: token, at: configuration.clock()) }
    }

    /// Sets the password of the link's user and uses the link up (one transaction: a link
    /// works once); the user's page sessions end. The password's event is recorded as the
    /// user's own.
    ///
    /// - Returns: the user's name.
    /// - Throws: ``ServiceError`` (`refused` for a link that does not work; `badInput` for
    ///   a password the rules refuse, leaving the link as it was).
    public func acceptInvite(token: String, password: String) async throws(ServiceError) -> String {
        let user = try await invitedUser(token: token)
        do { try Passwords.check(password, user: user) } catch { throw ServiceError(error) }
        let principal = try await classified { try await Users(log: log).principal(named: user) }
        let bcrypt = await Passwords.hash(password, cost: configuration.signIn.passwordCost)
        let session = Session(service: self, principal: principal)
        try await classified { _ = try await session.append([Invites.accepting(token, for: user, bcrypt: bcrypt, at: configuration.clock())]) }
        people.end(user: user)
        return user
    }
}
