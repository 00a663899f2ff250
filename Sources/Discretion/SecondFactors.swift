import Crypto
import EventLog
import Foundation
import GRDB
import HummingbirdOTP
import Recording
import Synchronization
import Treatment

/// Why a second factor is refused.
public enum SecondFactorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The code was missing, wrong, too old, or used already.
    case wrongCode
    /// An admin without a second factor signs in to the pages only once they have one.
    case required(String)

    public var description: String {
        switch self {
        case .wrongCode:
            return "the code from the authenticator app is missing or wrong (each code works once, within about a minute)"
        case .required(let name):
            return "an admin signs in to the pages with a second factor: an admin gives \(name) one with `stipple user second-factor \(name)`"
        }
    }
}

/// Second factors of the people who sign in to the pages: a TOTP secret per user (RFC
/// 6238: six digits, 30 seconds, HMAC-SHA1, what authenticator apps use), computed with
/// hummingbird-auth's `HummingbirdOTP`.
///
/// The secret is kept in the `user_totp` table beside the log, sealed with the log's
/// second-factor key (itself wrapped by the master key, so a rotation keeps it readable);
/// the user's stream records `UserSecondFactorSet` with the SHA-256 of the sealed secret,
/// so a row swapped behind the log's back is refused.
public struct SecondFactors: Sendable {
    package let log: EventLog
    let keys: ClientKeys

    package init(log: EventLog, keys: ClientKeys) {
        self.log = log
        self.keys = keys
    }

    static let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    static func create(in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS user_totp (
                name TEXT PRIMARY KEY,
                sealed BLOB NOT NULL,
                set_at REAL NOT NULL
            ) WITHOUT ROWID
            """)
    }

    /// What an enrolment gives the person once: the secret to type into an authenticator
    /// app, and the `otpauth://` URL a QR code would carry.
    public struct Enrolment: Sendable {
        /// The secret as authenticator apps take it (base32).
        public var secret: String
        public var url: String
        /// The secret itself (what the codes are computed from; tests compute codes with it).
        package var key: String
    }

    /// A new second factor for `name` (it replaces the one before): what to show once, and
    /// the decision that stores it.
    package func enrolling(_ name: String, at now: Date) async throws -> (enrolment: Enrolment, decision: Recorder.Decision) {
        var generator = SystemRandomNumberGenerator()
        let secret = String((0..<32).map { _ in Self.secretAlphabet[Int.random(in: 0..<32, using: &generator)] })
        let key = try await keys.logKey(.secondFactors)
        let sealed = try Sealing.seal(Array(secret.utf8), client: Users.stream(name), context: "totp", key: key)
        let totp = TOTP(secret: secret)
        let enrolment = Enrolment(secret: totp.createAuthenticatorURL(label: "Stipple:\(name)", issuer: "Stipple").secretParameter ?? secret,
                                  url: totp.createAuthenticatorURL(label: "Stipple:\(name)", issuer: "Stipple"), key: secret)
        return (enrolment, { reader in
            let version = try reader.version(of: Users.stream(name))
            guard version > 0 else { throw UserError.unknownUser(name) }
            return try reader.withDatabase { db -> [NewEvent] in
                try Self.create(in: db)
                try db.execute(sql: "PRAGMA secure_delete = ON")
                try db.execute(
                    sql: "INSERT OR REPLACE INTO user_totp (name, sealed, set_at) VALUES (?, ?, ?)",
                    arguments: [name, Data(sealed), now.timeIntervalSince1970])
                var set = Stipple_V1_UserSecondFactorSet()
                set.sealedDigest = SHA256.hash(data: sealed).hexString
                return [try Users.event(set, type: "UserSecondFactorSet", user: name, expected: .exactly(version))]
            }
        })
    }

    /// Whether `name` has a second factor.
    package func isEnrolled(_ name: String) async throws -> Bool { try await sealedSecret(of: name) != nil }

    private func sealedSecret(of name: String) async throws -> [UInt8]? {
        try await log.readTables { db in
            guard try db.tableExists("user_totp") else { return nil }
            return try Data.fetchOne(db, sql: "SELECT sealed FROM user_totp WHERE name = ?", arguments: [name]).map { Array($0) }
        }
    }

    /// The time step `code` is `name`'s code for (now, or one step either side for a
    /// phone's clock), or `nil` when it is none of them; `nil` too when the row is not the
    /// one the chain recorded.
    ///
    /// - Returns: `.notEnrolled` when `name` has no second factor.
    package func check(_ name: String, code: String, at now: Date) async throws -> Check {
        guard let sealed = try await sealedSecret(of: name) else { return .notEnrolled }
        let events = try await log.read(stream: Users.stream(name), limit: Int.max)
        guard Self.recordedDigest(in: events) == SHA256.hash(data: sealed).hexString else { return .wrong }
        let secret = String(decoding: try Sealing.open(sealed, client: Users.stream(name), context: "totp", key: try await keys.logKey(.secondFactors)), as: UTF8.self)
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, let value = Int(digits) else { return .wrong }
        let totp = TOTP(secret: secret)
        let step = Int64(now.timeIntervalSince1970 / 30)
        for offset in [0, -1, 1] where totp.compute(date: Date(timeIntervalSince1970: Double((step + Int64(offset)) * 30))) == value {
            return .right(step: step + Int64(offset))
        }
        return .wrong
    }

    /// What the second-factor rows say that the chain does not: one line per user (checked
    /// without the master key: the digests of the sealed secrets).
    package static func mismatches(in log: EventLog) async throws -> [String] {
        let rows = try await log.readTables { db -> [(name: String, digest: String)] in
            guard try db.tableExists("user_totp") else { return [] }
            return try Row.fetchAll(db, sql: "SELECT name, sealed FROM user_totp ORDER BY name").map { ($0[0], SHA256.hash(data: $0[1] as Data).hexString) }
        }
        return try await Users.unbackedRows(rows, in: log, what: "second factor", recorded: recordedDigest)
    }

    /// The digest of the newest `UserSecondFactorSet` of a user's events.
    static func recordedDigest(in events: [RecordedEvent]) -> String? {
        Users.newest("UserSecondFactorSet", as: Stipple_V1_UserSecondFactorSet.self, in: events)?.sealedDigest
    }

    /// The code of `key` (an enrolment's) at `date`, six digits.
    package static func code(key: String, at date: Date) -> String {
        let value = TOTP(secret: key).compute(date: date)
        return String(repeating: "0", count: max(0, 6 - String(value).count)) + String(value)
    }

    package enum Check: Sendable, Equatable {
        case notEnrolled
        case wrong
        case right(step: Int64)
    }
}

extension String {
    /// The `secret=` parameter of an `otpauth://` URL.
    fileprivate var secretParameter: String? {
        URLComponents(string: self)?.queryItems?.first { $0.name == "secret" }?.value
    }
}
