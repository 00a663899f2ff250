import Crypto
import EventLog
import Foundation
import GRDB
import Recording

/// Why an invite link does not set a password.
public enum InviteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Used, expired, replaced by a newer one, or never made: the link says not which.
    case invalid
    /// The user was disabled after the invite was made.
    case disabled

    public var description: String {
        switch self {
        case .invalid: return "this invite link is not valid (it was used, it expired or a newer one replaced it): ask an admin for a new one"
        case .disabled: return "this user is disabled: ask an admin"
        }
    }
}

/// One-time invite links that let a person set their own password (an admin's "invite" or
/// "reset"). Only the SHA-256 of each link's token is kept, in the `user_invites` table
/// beside the log (like passwords, never in an event: a backup holds nothing that opens an
/// account); one link per user at a time, for 72 hours. Setting the password through a
/// link deletes it and stores the password in the same transaction, so a link works once.
public struct Invites: Sendable {
    package let log: EventLog

    package init(log: EventLog) { self.log = log }

    /// How long a link works.
    public static let lifetime: TimeInterval = 72 * 3600

    /// A link's token, shown once.
    public struct Invite: Sendable, Hashable {
        public var user: String
        public var token: String
        public var expiresAt: Date
    }

    static func create(in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS user_invites (
                digest TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                expires_at REAL NOT NULL,
                made_by TEXT NOT NULL
            ) WITHOUT ROWID
            """)
    }

    static func digest(_ token: String) -> String { SHA256.hash(data: Array(token.utf8)).hexString }

    /// A new link for `name` (an older one stops working), made by `admin`.
    ///
    /// - Throws: ``UserError/unknownUser(_:)``, ``InviteError/disabled``.
    package func make(for name: String, by admin: String, at now: Date) async throws -> Invite {
        let users = try await Users(log: log).list()
        guard let user = users.first(where: { $0.name == name }) else { throw UserError.unknownUser(name) }
        guard !user.disabled else { throw InviteError.disabled }
        let token = Tokens.random(bytes: 32)
        let invite = Invite(user: name, token: token, expiresAt: now.addingTimeInterval(Self.lifetime))
        try await log.writeTables { db in
            try Self.create(in: db)
            try db.execute(sql: "DELETE FROM user_invites WHERE name = ? OR expires_at < ?", arguments: [name, now.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT INTO user_invites (digest, name, expires_at, made_by) VALUES (?, ?, ?, ?)",
                arguments: [Self.digest(token), name, invite.expiresAt.timeIntervalSince1970, admin])
        }
        return invite
    }

    /// The user a link is for, while it works.
    ///
    /// - Throws: ``InviteError``.
    package func user(of token: String, at now: Date) async throws -> String {
        let digest = Self.digest(token)
        let found = try await log.readTables { db -> String? in
            guard try db.tableExists("user_invites") else { return nil }
            return try String.fetchOne(
                db, sql: "SELECT name FROM user_invites WHERE digest = ? AND expires_at >= ?", arguments: [digest, now.timeIntervalSince1970])
        }
        guard let found else { throw InviteError.invalid }
        guard let user = try await Users(log: log).list().first(where: { $0.name == found }), !user.disabled else { throw InviteError.disabled }
        return found
    }

    /// The decision that uses the link `token` to store `bcrypt` as its user's password:
    /// the link deleted, the row stored and `UserPasswordSet` recorded in one transaction.
    ///
    /// - Throws (from the decision): ``InviteError/invalid`` for a link used meanwhile.
    /// The event names the admin who made the link (`invitedBy`): the chain shows whose link
    /// set the password, not only who typed it.
    package static func accepting(_ token: String, for name: String, bcrypt: String, at now: Date) -> Recorder.Decision {
        { reader in
            let madeBy = try reader.withDatabase { db -> String in
                try create(in: db)
                let arguments: StatementArguments = [digest(token), name, now.timeIntervalSince1970]
                guard let madeBy = try String.fetchOne(
                    db, sql: "SELECT made_by FROM user_invites WHERE digest = ? AND name = ? AND expires_at >= ?", arguments: arguments)
                else { throw InviteError.invalid }
                try db.execute(sql: "DELETE FROM user_invites WHERE digest = ?", arguments: [digest(token)])
                return madeBy
            }
            return try Passwords.setting(name, bcrypt: bcrypt, at: now, invitedBy: madeBy)(reader)
        }
    }

    /// Removes `name`'s link, in the transaction that sets their password or disables them.
    static func revoke(for name: String, in db: Database) throws {
        guard try db.tableExists("user_invites") else { return }
        try db.execute(sql: "DELETE FROM user_invites WHERE name = ?", arguments: [name])
    }
}
