import Discretion
import EventLog
import Foundation

// Users, keys and the log's upkeep.
extension Session {
    /// Adds a user; returns the token to show once (only its hash is stored).
    ///
    /// - Throws: ``ServiceError`` (`denied`; `badInput` for a taken or bad name, clinics
    ///   missing for a clinician or reception, or given for an admin or auditor).
    public func addUser(_ name: String, role: Role, clinics: [String]) async throws(ServiceError) -> String {
        try require(.manageUsers)
        try Self.checkClinicIDs(clinics)
        return try await classified {
            let (token, decision) = try Users.adding(name, role: role, clinics: clinics, by: principal.user, at: configuration.clock())
            _ = try await append([decision])
            return token
        }
    }

    /// Every user, by name (no tokens).
    public func users() async throws(ServiceError) -> [UserRecord] {
        try require(.manageUsers)
        return try await classified { try await Users(log: log).list() }
    }

    /// Gives a user another role or other clinics, from their next request (a token: each
    /// request reads the user anew). Their page sessions end: they sign in again, under the
    /// new role's terms (an admin with a second factor). What they did before stays
    /// recorded under the role they had then.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `notFound`; `badInput` for clinics that do not
    ///   go with the role, the last enabled admin, a disabled user, or no change).
    public func changeAccess(of name: String, role: Role, clinics: [String]) async throws(ServiceError) {
        try require(.manageUsers)
        try Self.checkClinicIDs(clinics)
        try await classified { _ = try await append([try Users.changingAccess(name, role: role, clinics: clinics)]) }
        service.people.end(user: name)
    }

    /// Refuses a clinic id that cannot be one (what every id of the log is checked for).
    static func checkClinicIDs(_ clinics: [String]) throws(ServiceError) {
        for clinic in clinics {
            if let problem = InputHygiene.idProblem(clinic) {
                throw ServiceError(.badInput, "\"\(InputHygiene.printable(clinic))\" cannot be a clinic: it \(problem)", detail: .field("clinics"))
            }
        }
    }

    /// Disables a user: their token stops working at once. The last enabled admin stays.
    public func disableUser(_ name: String) async throws(ServiceError) {
        try require(.manageUsers)
        try await classified { _ = try await append([Users.disabling(name)]) }
        // Their page sessions end at once (a next request would refuse them anyway), so a
        // page following something is told nothing more.
        service.people.end(user: name)
    }

    /// Gives a user a new token (the old one stops working at once); returns it to show once.
    public func rotateToken(of name: String) async throws(ServiceError) -> String {
        try require(.manageUsers)
        let (token, decision) = Users.rotating(name, at: configuration.clock())
        try await classified { _ = try await append([decision]) }
        return token
    }

    /// Makes a new master key and wraps every client key (and the pseudonyms' key) with it
    /// in one transaction; the new key is staged in `<key file>.new` and then replaces the
    /// old file. Returns how many client keys were rewrapped.
    ///
    /// - Throws: ``ServiceError`` (`badInput` when an earlier rotation left a staged key;
    ///   `failure` when the new file could not replace the old one, saying what to do).
    public func rotateMasterKey() async throws(ServiceError) -> Int {
        try require(.manageKeys)
        let path = configuration.masterKeyPath
        let staged = path + ".new"
        return try await classified {
            let current = try await service.masterKey()
            if FileManager.default.fileExists(atPath: staged) {
                throw ServiceError.badInput("\(staged) exists (an earlier rotation stopped?): if the log opens with it, move it to \(path); else remove it, then run this again")
            }
            let next = try MasterKey.create(at: staged)
            let count = try await ClientKeys(log: log, master: current, masterPath: path).rotate(to: next)
            guard rename(staged, path) == 0 else {
                throw ServiceError.failure("the client keys are wrapped with the new key in \(staged), but it could not replace \(path): move it there by hand")
            }
            return count
        }
    }

    /// Copies the log to a new file (SQLite's online backup) while appends go on, and
    /// verifies the copy before it appears at `destination`: the operator's path (the
    /// command line). A service that serves the network (``ServiceConfiguration/backupsByNameOnly``)
    /// refuses it: there, ``backup(named:)`` writes only into the backup folder.
    public func backup(to destination: String) async throws(ServiceError) -> VerificationReport {
        try require(.backUp)
        guard !configuration.backupsByNameOnly else {
            throw ServiceError.badInput("this server writes backups only into its backup folder (stipple serve --backup-folder): give a file name, not a path")
        }
        return try await copy(to: destination)
    }

    private func copy(to destination: String) async throws(ServiceError) -> VerificationReport {
        return try await classified { try await log.backup(to: destination) }
    }

    /// Copies the log, as ``backup(to:)`` does, to the file `name` in the configured backup
    /// folder (made, owner-only, if missing): the server's path, which names a file and
    /// never a place. Returns where the copy is.
    public func backup(named name: String) async throws(ServiceError) -> (path: String, report: VerificationReport) {
        try require(.backUp)
        try Self.checkBackupName(name)
        let folder = configuration.resolvedBackupFolder
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServiceError.failure("the backup folder \(folder) cannot be made: \(error.localizedDescription)")
        }
        let path = (folder as NSString).appendingPathComponent(name)
        return (path, try await copy(to: path))
    }

    /// A backup's file name: letters, digits, `.`, `-` and `_`, ending in `.sqlite`.
    static func checkBackupName(_ name: String) throws(ServiceError) {
        let allowed = name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x2E || byte == 0x5F
        }
        guard (8...120).contains(name.utf8.count), allowed, !name.hasPrefix("."), name.hasSuffix(".sqlite") else {
            throw ServiceError.badInput(
                "a backup is named by a file name of letters, digits, '.', '-' and '_' ending in .sqlite (e.g. stipple-2026-12-02.sqlite), not \"\(InputHygiene.printable(name))\": it goes into the server's backup folder")
        }
    }

    /// Recomputes every chain hash, and checks the users table against the user events
    /// (any user: the record's integrity is everyone's to check).
    public func verify(progress: (@Sendable (Int64, Int64) -> Void)? = nil) async throws(ServiceError) -> Verification {
        try await classified {
            Verification(
                log: try await log.verify(progress: progress),
                userMismatches: try await Users(log: log).mismatches() + Passwords(log: log).mismatches()
                    + SecondFactors.mismatches(in: log),
                photoMismatches: try await Photos.mismatches(in: log))
        }
    }

    /// The log's size, compression per codec and head.
    public func stats() async throws(ServiceError) -> LogStats {
        try await classified { try await log.stats() }
    }

    /// Trains a new LZ4 dictionary from recent payloads for new events (`nil`: no events yet).
    public func trainDictionary() async throws(ServiceError) -> TrainingReport? {
        try require(.maintainLog)
        return try await classified { try await log.trainDictionary() }
    }
}

/// What `verify` found.
public struct Verification: Sendable {
    /// The chain: every hash, position and stream version.
    public var log: VerificationReport
    /// Users whose row in the users table differs from their events (edited outside
    /// Stipple), one sentence each.
    public var userMismatches: [String]
    /// Photos whose stored bytes differ from the hash their event names, one sentence each.
    public var photoMismatches: [String] = []

    public var isIntact: Bool { log.isIntact && userMismatches.isEmpty && photoMismatches.isEmpty }

    /// `{"intact","events","headPosition","headHash","missingTriggers","userMismatches","break"?}`,
    /// as `verify --json` prints it and the API returns it.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "intact": .bool(isIntact), "events": .int(log.eventCount),
            "headPosition": .int(log.head.position), "headHash": .string(log.head.hashHex),
            "missingTriggers": .array(log.missingTriggers.map { .string($0) }),
            "userMismatches": .array(userMismatches.map { .string($0) }),
            "photoMismatches": .array(photoMismatches.map { .string($0) }),
        ]
        if let problem = log.firstBreak {
            object["break"] = .object([
                "position": .int(problem.position), "kind": .string(problem.kind.rawValue), "detail": .string(problem.detail),
            ])
        }
        return .object(object)
    }
}
