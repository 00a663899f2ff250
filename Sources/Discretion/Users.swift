import EventLog
import Foundation
import GRDB
import Recording
import SwiftProtobuf
import Treatment

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
    /// The last enabled admin cannot be disabled or made another role (nobody could manage users after).
    case lastAdmin(String)
    /// A change of role and clinics to those the user has already.
    case accessUnchanged(String)
    /// A change of role or clinics for a disabled user (who stays disabled).
    case changeOfDisabled(String)
    /// The log has no users yet (made before users existed): `stipple init` adds the first admin.
    case noUsers
    /// The users table says something about a user that the chain's user events do not:
    /// it was edited behind the log's back. Nobody signs in as that user until it is mended.
    case tampered(String)

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
        case .accessUnchanged(let name):
            return "\(name) has that role and those clinics already: nothing to change"
        case .changeOfDisabled(let name):
            return "\(name) is disabled, and stays so: add a new user for the person instead"
        case .noUsers:
            return "this log has no users yet: run `stipple init` to add the first admin"
        case .tampered(let name):
            return "the users table does not match the log's events for user \(name) (it was edited outside Stipple): nobody signs in as \(name) until an admin restores it from a backup; `stipple verify` lists what differs"
        }
    }
}

/// Stipple's users: each change is an event on the user's stream (`user-<name>`, in the
/// chain, so `verify` covers it), and the `users` table beside the log is its index by
/// token hash. A sign-in is checked against both: a row edited behind the log's back
/// (a role raised, a token swapped) matches no event and signs nobody in.
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

    /// The stream of `name`'s events.
    package static func stream(_ name: String) -> String { StreamCategory.user.prefix + name }

    /// The rows of a table kept beside the users (passwords, second factors), each as the
    /// digest the chain should record, checked against the newest digest the user's stream
    /// does record (`recorded`): one line per row that differs, naming `what` it holds.
    package static func unbackedRows(
        _ rows: [(name: String, digest: String)], in log: EventLog, what: String, recorded: ([RecordedEvent]) -> String?
    ) async throws -> [String] {
        var problems: [String] = []
        for (name, digest) in rows where recorded(try await log.read(stream: stream(name), limit: Int.max)) != digest {
            problems.append("\(name): the \(what) in the table is not the one the log recorded")
        }
        return problems
    }

    /// The newest event of `type` among a user's events, decoded as `M`.
    package static func newest<M: SwiftProtobuf.Message>(_ type: String, as _: M.Type, in events: [RecordedEvent]) -> M? {
        events.last { $0.type == type }.flatMap { try? Recorder.decode($0) as? M }
    }

    /// Whether `name` can be a user name (1 to 64 letters, digits, '.', '-', '_').
    package static func isValidUserName(_ name: String) -> Bool { isValidName(name) }

    /// Whether `name` can be a user name.
    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
    }

    /// A user as the chain's events make them.
    package struct Folded: Sendable, Hashable {
        package var role: String
        package var clinics: [String]
        package var tokenHash: String
        package var disabled: Bool
    }

    /// The fold of one user's events (`nil` when there are none).
    static func fold(_ events: [RecordedEvent]) throws -> Folded? {
        var user: Folded?
        for event in events {
            switch try Recorder.decode(event) {
            case let added as Stipple_V1_UserAdded:
                user = Folded(role: added.role, clinics: added.clinics.sorted(), tokenHash: added.tokenHash, disabled: false)
            case let rotated as Stipple_V1_UserTokenRotated:
                user?.tokenHash = rotated.tokenHash
            case is Stipple_V1_UserDisabled:
                user?.disabled = true
            case let changed as Stipple_V1_UserAccessChanged:
                user?.role = changed.role
                user?.clinics = changed.clinics.sorted()
            default:
                break
            }
        }
        return user
    }

    /// The event of `message` on `name`'s stream, `expected` at its version.
    static func event(_ message: any SwiftProtobuf.Message, type: String, user name: String, expected: ExpectedVersion) throws -> NewEvent {
        try Recorder.newEvent(message, type: type, stream: stream(name), expected: expected, metadata: EventMetadata())
    }

    // MARK: - Changes, as decisions (the application layer stamps and appends them)

    /// The first admin, when the log has no user yet: the token to show once, and the
    /// decision (which records nothing when there are users already).
    package static func firstAdmin(_ name: String, at now: Date) throws -> (token: String, decision: Recorder.Decision) {
        guard isValidName(name) else { throw UserError.invalidName(name) }
        let (token, hash) = Tokens.generate()
        return (token, { reader in
            try reader.withDatabase { db -> [NewEvent] in
                try create(in: db)
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM users") == 0 else { return [] }
                try db.execute(
                    sql: "INSERT INTO users (name, role, clinics, token_hash, created_by, created_at) VALUES (?, 'admin', '', ?, 'stipple init', ?)",
                    arguments: [name, hash, now.timeIntervalSince1970])
                var added = Stipple_V1_UserAdded()
                added.role = Role.admin.rawValue
                added.tokenHash = hash
                return [try event(added, type: "UserAdded", user: name, expected: .noStream)]
            }
        })
    }

    /// Refuses clinics that do not go with `role`: clinicians and reception work for named
    /// clinics, admins and auditors for none.
    static func checkClinics(_ clinics: [String], for role: Role) throws {
        if role.isClinicScoped && clinics.isEmpty { throw UserError.clinicsRequired(role) }
        if let bad = clinics.first(where: { $0.isEmpty || $0.contains(",") }) { throw UserError.invalidClinic(bad) }
        if !role.isClinicScoped && !clinics.isEmpty { throw UserError.clinicsNotAllowed(role) }
    }

    /// A new user: the token to show once, and the decision.
    package static func adding(
        _ name: String, role: Role, clinics: [String], by creator: String, at now: Date
    ) throws -> (token: String, decision: Recorder.Decision) {
        guard isValidName(name) else { throw UserError.invalidName(name) }
        try checkClinics(clinics, for: role)
        let (token, hash) = Tokens.generate()
        return (token, { reader in
            try reader.withDatabase { db -> [NewEvent] in
                try create(in: db)
                if try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE name = ?", arguments: [name]) != 0 {
                    throw UserError.userExists(name)
                }
                try db.execute(
                    sql: "INSERT INTO users (name, role, clinics, token_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [name, role.rawValue, clinics.sorted().joined(separator: ","), hash, creator, now.timeIntervalSince1970])
                var added = Stipple_V1_UserAdded()
                added.role = role.rawValue
                added.clinics = clinics.sorted()
                added.tokenHash = hash
                return [try event(added, type: "UserAdded", user: name, expected: .noStream)]
            }
        })
    }

    /// Disables a user (their token stops working at once); the last enabled admin stays.
    package static func disabling(_ name: String) -> Recorder.Decision {
        { reader in
            let version = try reader.version(of: stream(name))
            return try reader.withDatabase { db -> [NewEvent] in
                try create(in: db)
                guard let role = try String.fetchOne(db, sql: "SELECT role FROM users WHERE name = ?", arguments: [name]) else {
                    throw UserError.unknownUser(name)
                }
                if role == Role.admin.rawValue,
                   try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name <> ?", arguments: [name]) == 0 {
                    throw UserError.lastAdmin(name)
                }
                try db.execute(sql: "UPDATE users SET disabled = 1 WHERE name = ?", arguments: [name])
                try Invites.revoke(for: name, in: db)
                return [try event(Stipple_V1_UserDisabled(), type: "UserDisabled", user: name, expected: .exactly(version))]
            }
        }
    }

    /// A user's new role and clinics, from their next request; the last enabled admin stays
    /// an admin, a disabled user stays disabled, and a change to what they have already is
    /// refused (it would record nothing new).
    package static func changingAccess(_ name: String, role: Role, clinics: [String]) throws -> Recorder.Decision {
        try checkClinics(clinics, for: role)
        let clinics = Array(Set(clinics)).sorted()
        return { reader in
            let version = try reader.version(of: stream(name))
            return try reader.withDatabase { db -> [NewEvent] in
                try create(in: db)
                guard let row = try Row.fetchOne(db, sql: "SELECT role, clinics, disabled FROM users WHERE name = ?", arguments: [name]) else {
                    throw UserError.unknownUser(name)
                }
                let (current, currentClinics, disabled): (String, String, Bool) = (row[0], row[1], row[2])
                if disabled { throw UserError.changeOfDisabled(name) }
                if current == role.rawValue && currentClinics == clinics.joined(separator: ",") { throw UserError.accessUnchanged(name) }
                if current == Role.admin.rawValue, role != .admin,
                   try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name <> ?", arguments: [name]) == 0 {
                    throw UserError.lastAdmin(name)
                }
                try db.execute(sql: "UPDATE users SET role = ?, clinics = ? WHERE name = ?", arguments: [role.rawValue, clinics.joined(separator: ","), name])
                var changed = Stipple_V1_UserAccessChanged()
                changed.role = role.rawValue
                changed.clinics = clinics
                return [try event(changed, type: "UserAccessChanged", user: name, expected: .exactly(version))]
            }
        }
    }

    /// A new token for a user (the old one stops working at once): the token to show
    /// once, and the decision.
    package static func rotating(_ name: String, at now: Date) -> (token: String, decision: Recorder.Decision) {
        let (token, hash) = Tokens.generate()
        return (token, { reader in
            let version = try reader.version(of: stream(name))
            return try reader.withDatabase { db -> [NewEvent] in
                try create(in: db)
                try db.execute(
                    sql: "UPDATE users SET token_hash = ?, token_rotated_at = ? WHERE name = ?",
                    arguments: [hash, now.timeIntervalSince1970, name])
                if db.changesCount == 0 { throw UserError.unknownUser(name) }
                var rotated = Stipple_V1_UserTokenRotated()
                rotated.tokenHash = hash
                return [try event(rotated, type: "UserTokenRotated", user: name, expected: .exactly(version))]
            }
        })
    }

    /// The events of a log whose users were made before user events existed: one
    /// `UserAdded` (and `UserDisabled`) per user of the table, so the chain holds them.
    /// Nothing when the log has user events already (a row added since would be a forgery,
    /// not a user to adopt).
    package static func recordingTable() -> Recorder.Decision {
        { reader in
            try reader.withDatabase { db -> [NewEvent] in
                guard try db.tableExists(table) else { return [] }
                var events: [NewEvent] = []
                for row in try Row.fetchAll(db, sql: "SELECT name, role, clinics, token_hash, disabled FROM users ORDER BY name") {
                    let name: String = row[0]
                    guard try reader.version(of: stream(name)) == 0 else { return [] }
                    var added = Stipple_V1_UserAdded()
                    added.role = row[1]
                    let clinics: String = row[2]
                    added.clinics = clinics.isEmpty ? [] : clinics.split(separator: ",").map(String.init).sorted()
                    added.tokenHash = row[3]
                    events.append(try event(added, type: "UserAdded", user: name, expected: .noStream))
                    if row[4] as Bool {
                        var disabled = Stipple_V1_UserDisabled()
                        disabled.reason = "disabled before user events were recorded"
                        events.append(try event(disabled, type: "UserDisabled", user: name, expected: .exactly(1)))
                    }
                }
                return events
            }
        }
    }

    /// Whether the log holds any user event (a log made before them holds none).
    package func hasUserEvents() async throws -> Bool {
        try await log.storedTypeVersions().contains { $0.type == "UserAdded" }
    }

    // MARK: - Reading

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

    /// What the users table says that the chain does not: one line per user that differs
    /// (a row with no events, events with no row, or a role, clinics, token or state that
    /// differ). Empty when they agree, or when the log predates user events.
    package func mismatches() async throws -> [String] {
        guard try await hasUserEvents() else { return [] }
        let rows = try await list()
        let hashes = try await log.readTables { db -> [String: String] in
            guard try db.tableExists(Self.table) else { return [:] }
            return Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, token_hash FROM users").map { ($0[0] as String, $0[1] as String) })
        }
        var problems: [String] = []
        var seen: Set<String> = []
        for row in rows {
            seen.insert(row.name)
            guard let folded = try Self.fold(try await log.read(stream: Self.stream(row.name), limit: Int.max)) else {
                problems.append("\(row.name): in the users table, but the log never added them")
                continue
            }
            let table = Folded(role: row.role.rawValue, clinics: row.clinics.sorted(), tokenHash: hashes[row.name] ?? "", disabled: row.disabled)
            if table != folded { problems.append("\(row.name): " + Self.difference(table: table, log: folded)) }
        }
        for stream in try await log.streamNames(prefix: StreamCategory.user.prefix) {
            let name = StreamCategory.user.id(in: stream) ?? stream
            if !seen.contains(name) { problems.append("\(name): added in the log, but missing from the users table") }
        }
        return problems
    }

    static func difference(table: Folded, log: Folded) -> String {
        var parts: [String] = []
        if table.role != log.role { parts.append("role \(table.role) in the table, \(log.role) in the log") }
        if table.clinics != log.clinics {
            parts.append("clinics \(table.clinics.joined(separator: ",")) in the table, \(log.clinics.joined(separator: ",")) in the log")
        }
        if table.tokenHash != log.tokenHash { parts.append("another token in the table than in the log") }
        if table.disabled != log.disabled { parts.append(table.disabled ? "disabled in the table only" : "disabled in the log, active in the table") }
        return parts.joined(separator: "; ")
    }

    /// The user a token belongs to, as both the users table and the chain's events say.
    ///
    /// - Throws: ``UserError/noToken``, ``UserError/notAToken``, ``UserError/unknownToken``,
    ///   ``UserError/disabled(_:)``, ``UserError/noUsers``, ``UserError/tampered(_:)``.
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
        guard let (name, role, clinics, disabled) = found else { throw UserError.unknownToken }
        return try await checked(name: name, role: role, clinics: clinics, disabled: disabled, tokenHash: hash)
    }

    /// The user `name` (whose password was just checked), as both the users table and the
    /// chain's events say.
    ///
    /// - Throws: ``UserError/unknownUser(_:)``, ``UserError/disabled(_:)``, ``UserError/tampered(_:)``.
    package func principal(named name: String) async throws -> Principal {
        let found = try await log.readTables { db -> (String, String, String, Bool)? in
            guard try db.tableExists(Self.table) else { return nil }
            return try Row.fetchOne(db, sql: "SELECT role, clinics, token_hash, disabled FROM users WHERE name = ?", arguments: [name])
                .map { ($0[0], $0[1], $0[2], $0[3]) }
        }
        guard let (role, clinics, tokenHash, disabled) = found else { throw UserError.unknownUser(name) }
        return try await checked(name: name, role: role, clinics: clinics, disabled: disabled, tokenHash: tokenHash)
    }

    /// A users-table row checked against the chain: a row the events do not back signs
    /// nobody in.
    private func checked(name: String, role: String, clinics: String, disabled: Bool, tokenHash: String) async throws -> Principal {
        guard let parsedRole = Role(rawValue: role) else { throw UserError.tampered(name) }
        let clinicList = clinics.isEmpty ? [] : clinics.split(separator: ",").map(String.init).sorted()
        if let folded = try Self.fold(try await log.read(stream: Self.stream(name), limit: Int.max)) {
            guard folded == Folded(role: role, clinics: clinicList, tokenHash: tokenHash, disabled: disabled) else { throw UserError.tampered(name) }
        } else if try await hasUserEvents() {
            throw UserError.tampered(name)
        }
        if disabled { throw UserError.disabled(name) }
        return Principal(user: name, role: parsedRole, clinics: Set(clinicList))
    }
}
