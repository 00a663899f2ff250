import Crypto
import Dispatch
import EventLog
import Foundation
import GRDB
import HummingbirdBcrypt
import Recording
import Synchronization
import Treatment

/// Why a password is refused.
public enum PasswordError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooShort(minimum: Int)
    /// bcrypt reads 72 bytes; a longer password would be silently cut.
    case tooLong(maximumBytes: Int)
    case sameAsName
    /// Control characters cannot be typed on a tablet's keyboard and hide in copies.
    case controlCharacters
    /// The one answer to a sign-in whose user is unknown, disabled before it had a
    /// password, has none, or typed another: nothing tells which.
    case wrongNameOrPassword
    /// A user who must type their current password to change it typed another.
    case wrongCurrentPassword

    public var description: String {
        switch self {
        case .tooShort(let minimum):
            return "a password needs at least \(minimum) characters (a phrase of a few words is easiest to type on a tablet)"
        case .tooLong(let maximum):
            return "a password may have at most \(maximum) bytes (about \(maximum) letters without accents)"
        case .sameAsName:
            return "a password must not be the user name"
        case .controlCharacters:
            return "a password cannot hold control characters (tabs, line breaks)"
        case .wrongNameOrPassword:
            return "the user name or the password is wrong"
        case .wrongCurrentPassword:
            return "the current password is wrong: nothing was changed"
        }
    }
}

/// Passwords of the people who sign in to the pages.
///
/// The bcrypt hash of each password lives in the `user_passwords` table beside the log,
/// never in an event (backups and exports carry nothing to guess from); the user's stream
/// records `UserPasswordSet` with the SHA-256 of that bcrypt string, so a row swapped
/// behind the log's back matches no event and signs nobody in.
public struct Passwords: Sendable {
    package let log: EventLog

    package init(log: EventLog) { self.log = log }

    /// The fewest characters a password may have.
    public static let minimumLength = 12
    /// The most UTF-8 bytes bcrypt reads.
    public static let maximumBytes = 72
    /// bcrypt's cost for new passwords (2^12 rounds: about a quarter of a second here).
    public static let defaultCost: UInt8 = 12

    static func create(in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS user_passwords (
                name TEXT PRIMARY KEY,
                bcrypt TEXT NOT NULL,
                set_at REAL NOT NULL
            ) WITHOUT ROWID
            """)
    }

    /// Refuses a password that cannot be set for `user`.
    ///
    /// - Throws: ``PasswordError``.
    package static func check(_ password: String, user: String) throws(PasswordError) {
        if password.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) { throw .controlCharacters }
        if password.count < minimumLength { throw .tooShort(minimum: minimumLength) }
        if password.utf8.count > maximumBytes { throw .tooLong(maximumBytes: maximumBytes) }
        if password.lowercased() == user.lowercased() { throw .sameAsName }
    }

    /// The bcrypt string of `password`, computed off the cooperative thread pool (bcrypt
    /// is slow on purpose: it must not hold up other requests).
    package static func hash(_ password: String, cost: UInt8) async -> String {
        await offPool { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches the bcrypt string, off the cooperative pool.
    package static func verify(_ password: String, against hash: String) async -> Bool {
        await offPool { Bcrypt.verify(password, hash: hash) }
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: work()) }
        }
    }

    /// SHA-256 (hex) of a bcrypt string: what the chain records.
    static func digest(_ bcrypt: String) -> String { SHA256.hash(data: Array(bcrypt.utf8)).hexString }

    /// The decision that stores `bcrypt` as `name`'s password: the row beside the log and
    /// `UserPasswordSet` on the user's stream, in one transaction.
    ///
    /// - Throws (from the decision): ``UserError/unknownUser(_:)``.
    /// - Parameter invitedBy: the admin whose invite link the user set it through.
    package static func setting(_ name: String, bcrypt: String, at now: Date, invitedBy: String = "") -> Recorder.Decision {
        { reader in
            let version = try reader.version(of: Users.stream(name))
            guard version > 0 else { throw UserError.unknownUser(name) }
            return try reader.withDatabase { db -> [NewEvent] in
                try create(in: db)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO user_passwords (name, bcrypt, set_at) VALUES (?, ?, ?)",
                    arguments: [name, bcrypt, now.timeIntervalSince1970])
                // A password set (through a link or not) ends the user's pending invite link.
                try Invites.revoke(for: name, in: db)
                var set = Stipple_V1_UserPasswordSet()
                set.hashDigest = digest(bcrypt)
                set.invitedBy = invitedBy
                return [try Users.event(set, type: "UserPasswordSet", user: name, expected: .exactly(version))]
            }
        }
    }

    /// A bcrypt string of no password at `cost`, checked when the user has none, so that
    /// an unknown name takes as long to refuse as a wrong password.
    private static func decoy(cost: UInt8) -> String {
        decoys.withLock { decoys in
            if let decoy = decoys[cost] { return decoy }
            let decoy = Bcrypt.hash("no password has this hash", cost: cost)
            decoys[cost] = decoy
            return decoy
        }
    }
    private static let decoys = Mutex<[UInt8: String]>([:])

    /// The user whose name and password these are, as the users table, the password row
    /// and the chain's events all say.
    ///
    /// - Throws: ``PasswordError/wrongNameOrPassword`` (unknown user, no password, wrong
    ///   password, a row the chain does not back), ``UserError/disabled(_:)`` only once the
    ///   password was right.
    /// - Parameter cost: the cost passwords are set with (the decoy's).
    package func signIn(_ name: String, password: String, cost: UInt8) async throws -> Principal {
        let stored = Users.isValidName(name) ? try await storedHash(of: name) : nil
        guard let stored else {
            _ = await Self.verify(password, against: Self.decoy(cost: cost))
            throw PasswordError.wrongNameOrPassword
        }
        let events = try await log.read(stream: Users.stream(name), limit: Int.max)
        guard Self.latestDigest(in: events) == Self.digest(stored), await Self.verify(password, against: stored) else {
            throw PasswordError.wrongNameOrPassword
        }
        return try await Users(log: log).principal(named: name)
    }

    /// The digest the chain records for `name`'s current password (`nil`: none set).
    package func digest(of name: String) async throws -> String? {
        Self.latestDigest(in: try await log.read(stream: Users.stream(name), limit: Int.max))
    }

    /// Whether `name` has a password set.
    package func hasPassword(_ name: String) async throws -> Bool { try await storedHash(of: name) != nil }

    private func storedHash(of name: String) async throws -> String? {
        try await log.readTables { db in
            guard try db.tableExists("user_passwords") else { return nil }
            return try String.fetchOne(db, sql: "SELECT bcrypt FROM user_passwords WHERE name = ?", arguments: [name])
        }
    }

    /// The digest of the newest `UserPasswordSet` of a user's events.
    static func latestDigest(in events: [RecordedEvent]) -> String? {
        Users.newest("UserPasswordSet", as: Stipple_V1_UserPasswordSet.self, in: events)?.hashDigest
    }

    /// What the password rows say that the chain does not: one line per user.
    package func mismatches() async throws -> [String] {
        let rows = try await log.readTables { db -> [(name: String, digest: String)] in
            guard try db.tableExists("user_passwords") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT name, bcrypt FROM user_passwords ORDER BY name").map { ($0[0], Self.digest($0[1])) }
        }
        return try await Users.unbackedRows(rows, in: log, what: "password", recorded: Self.latestDigest)
    }
}
