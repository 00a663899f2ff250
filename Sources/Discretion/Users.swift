import EventLog
import Foundation
import GRDB

/// A user as the users table holds it (never the token, only its hash).
public struct UserRecord: Sendable, Hashable {
    public var name: String
    public var role: Role
    public var clinics: [String]
    public var disabled: Bool
    public var createdBy: String
    public var createdAt: Date
    public var tokenRotatedAt: Date?
}

/// Why a user command or a token is refused.
public enum UserError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No token given to a command that needs one.
    case noToken
    /// Something that is not a token at all (a typo, a truncated copy).
    case notAToken
    /// A token no user has: wrong, or replaced by a rotation.
    case unknownToken
    /// The token's user was disabled.
    case disabled(String)
    case userExists(String)
    case unknownUser(String)
    case invalidName(String)
    /// Clinicians and reception work for named clinics; admins and auditors for none.
    case clinicsRequired(Role)
    case clinicsNotAllowed(Role)
    /// A clinic name that cannot be stored (empty, or with a comma).
    case invalidClinic(String)
    /// The last enabled admin cannot be disabled (nobody could manage users after).
    case lastAdmin(String)
    /// The log has no users yet (made before users existed): `stipple init` adds the first admin.
    case noUsers

    public var description: String {
        switch self {
        case .noToken:
            return "no access token: set STIPPLE_TOKEN (or pass --token) to the token you were given"
        case .notAToken:
            return "that is not a Stipple access token (they start with stp_ and have 47 characters)"
        case .unknownToken:
            return "that access token is not valid (wrong, or replaced by a new one): ask an admin for yours"
        case .disabled(let name):
            return "user \(name) is disabled: ask an admin"
        case .userExists(let name):
            return "there is a user \(name) already"
        case .unknownUser(let name):
            return "there is no user \(name)"
        case .invalidName(let name):
            return "\"\(name)\" cannot be a user name: use 1 to 64 letters, digits, '.', '-' or '_'"
        case .clinicsRequired(let role):
            return "a \(role.rawValue) works for named clinics: give at least one --clinic"
        case .clinicsNotAllowed(let role):
            return "an \(role.rawValue) works for the whole chain: give no --clinic"
        case .invalidClinic(let clinic):
            return "\"\(clinic)\" cannot be a clinic: give one clinic per --clinic, without commas"
        case .lastAdmin(let name):
            return "\(name) is the last enabled admin; make another admin first"
        case .noUsers:
            return "this log has no users yet: run `stipple init` to add the first admin"
        }
    }
}

/// The users table beside the log: names, roles, clinics and token hashes.
public struct Users: Sendable {
    package let log: EventLog

    package init(log: EventLog) { self.log = log }

    static let table = "users"

    static func create(in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS users (
                name TEXT PRIMARY KEY,
                role TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'clinician', 'reception')),
                clinics TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                disabled INTEGER NOT NULL DEFAULT 0,
                created_by TEXT NOT NULL,
                created_at REAL NOT NULL,
                token_rotated_at REAL
            ) WITHOUT ROWID
            """)
    }

    /// Whether `name` can be a user name.
    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
    }

    /// Adds the first admin when the log has no user yet; returns its token (to show once),
    /// or `nil` when there are users already.
    package func addFirstAdmin(_ name: String, at now: Date = Date()) async throws -> String? {
        guard Self.isValidName(name) else { throw UserError.invalidName(name) }
        let (token, hash) = Tokens.generate()
        let added = try await log.writeTables { db -> Bool in
            try Self.create(in: db)
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM users") == 0 else { return false }
            try db.execute(
                sql: "INSERT INTO users (name, role, clinics, token_hash, created_by, created_at) VALUES (?, 'admin', '', ?, 'stipple init', ?)",
                arguments: [name, hash, now.timeIntervalSince1970])
            return true
        }
        return added ? token : nil
    }

    /// Adds a user; returns the token to show once.
    package func add(_ name: String, role: Role, clinics: [String], by creator: String, at now: Date = Date()) async throws -> String {
        guard Self.isValidName(name) else { throw UserError.invalidName(name) }
        if role.isClinicScoped && clinics.isEmpty { throw UserError.clinicsRequired(role) }
        if let bad = clinics.first(where: { $0.isEmpty || $0.contains(",") }) { throw UserError.invalidClinic(bad) }
        if !role.isClinicScoped && !clinics.isEmpty { throw UserError.clinicsNotAllowed(role) }
        let (token, hash) = Tokens.generate()
        try await log.writeTables { db in
            try Self.create(in: db)
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE name = ?", arguments: [name]) != 0 {
                throw UserError.userExists(name)
            }
            try db.execute(
                sql: "INSERT INTO users (name, role, clinics, token_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [name, role.rawValue, clinics.sorted().joined(separator: ","), hash, creator, now.timeIntervalSince1970])
        }
        return token
    }

    /// Every user, by name.
    package func list() async throws -> [UserRecord] {
        try await log.readTables { db in
            guard try db.tableExists(Self.table) else { return [] }
            return try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map { row in
                let clinics: String = row["clinics"]
                return UserRecord(
                    name: row["name"], role: Role(rawValue: row["role"]) ?? .reception,
                    clinics: clinics.isEmpty ? [] : clinics.split(separator: ",").map(String.init), disabled: row["disabled"],
                    createdBy: row["created_by"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    tokenRotatedAt: (row["token_rotated_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// Disables a user: their token stops working at once.
    package func disable(_ name: String) async throws {
        try await log.writeTables { db in
            try Self.create(in: db)
            guard let role = try String.fetchOne(db, sql: "SELECT role FROM users WHERE name = ?", arguments: [name]) else {
                throw UserError.unknownUser(name)
            }
            if role == Role.admin.rawValue,
               try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name <> ?", arguments: [name]) == 0 {
                throw UserError.lastAdmin(name)
            }
            try db.execute(sql: "UPDATE users SET disabled = 1 WHERE name = ?", arguments: [name])
        }
    }

    /// Gives a user a new token (the old one stops working at once); returns it to show once.
    package func rotateToken(_ name: String, at now: Date = Date()) async throws -> String {
        let (token, hash) = Tokens.generate()
        try await log.writeTables { db in
            try Self.create(in: db)
            try db.execute(
                sql: "UPDATE users SET token_hash = ?, token_rotated_at = ? WHERE name = ?",
                arguments: [hash, now.timeIntervalSince1970, name])
            if db.changesCount == 0 { throw UserError.unknownUser(name) }
        }
        return token
    }

    /// The user a token belongs to.
    ///
    /// - Throws: ``UserError/noToken``, ``UserError/notAToken``, ``UserError/unknownToken``,
    ///   ``UserError/disabled(_:)``, ``UserError/noUsers``.
    package func authenticate(_ token: String?) async throws -> Principal {
        guard let token, !token.isEmpty else { throw UserError.noToken }
        guard Tokens.looksLikeToken(token) else { throw UserError.notAToken }
        let hash = Tokens.hash(token)
        let (hasUsers, found) = try await log.readTables { db -> (Bool, (String, String, String, Bool)?) in
            guard try db.tableExists(Self.table), try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0 > 0 else { return (false, nil) }
            let row = try Row.fetchOne(db, sql: "SELECT name, role, clinics, disabled FROM users WHERE token_hash = ?", arguments: [hash])
            return (true, row.map { ($0[0], $0[1], $0[2], $0[3]) })
        }
        guard hasUsers else { throw UserError.noUsers }
        guard let (name, role, clinics, disabled) = found, let parsedRole = Role(rawValue: role) else { throw UserError.unknownToken }
        if disabled { throw UserError.disabled(name) }
        return Principal(user: name, role: parsedRole, clinics: Set(clinics.split(separator: ",").map(String.init)))
    }
}
