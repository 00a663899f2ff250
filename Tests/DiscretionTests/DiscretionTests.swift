import Crypto
import EventLog
import Foundation
import StippleTesting
import Testing
@testable import Discretion

/// A temporary folder with a log, for the key tests.
struct KeyFolder {
    let folder: TemporaryFolder
    var path: String { folder.path }

    init() throws { folder = try TemporaryFolder("stipple-discretion") }

    /// The database file and its WAL, as bytes.
    func databaseBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for name in ["log.sqlite", "log.sqlite-wal"] {
            if let data = FileManager.default.contents(atPath: path + "/" + name) { bytes += Array(data) }
        }
        return bytes
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { start in self[start..<start + needle.count].elementsEqual(needle) }
    }
}

@Suite("Master key file")
struct MasterKeyTests {
    @Test("a new key file is the owner's only, and loads back to the same key")
    func createAndLoad() throws {
        let folder = try KeyFolder()
        let path = folder.path + "/stipple.key"
        let created = try MasterKey.create(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try MasterKey.load(from: path).check == created.check)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("stipple-master-key v1\n"))
    }

    @Test("a key file others may read is refused, naming the mode and the fix")
    func openPermissions() throws {
        let folder = try KeyFolder()
        let path = folder.path + "/stipple.key"
        _ = try MasterKey.create(at: path)
        chmod(path, 0o644)
        #expect(throws: DiscretionError.keyFileTooOpen(path: path, mode: "644")) { try MasterKey.load(from: path) }
        #expect(DiscretionError.keyFileTooOpen(path: path, mode: "644").description.contains("chmod 600"))
        chmod(path, 0o640)
        #expect(throws: DiscretionError.keyFileTooOpen(path: path, mode: "640")) { try MasterKey.load(from: path) }
    }

    @Test("a missing, existing or malformed key file is refused with its reason; nothing is overwritten")
    func badFiles() throws {
        let folder = try KeyFolder()
        let path = folder.path + "/stipple.key"
        #expect(throws: DiscretionError.noMasterKey(path: path)) { try MasterKey.load(from: path) }
        let first = try MasterKey.create(at: path)
        #expect(throws: DiscretionError.masterKeyExists(path: path)) { try MasterKey.create(at: path) }
        #expect(try MasterKey.load(from: path).check == first.check)
        let other = folder.path + "/other.key"
        FileManager.default.createFile(atPath: other, contents: Data("hello\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(throws: DiscretionError.malformedKeyFile(path: other, reason: "its first line is not \"stipple-master-key v1\"")) {
            try MasterKey.load(from: other)
        }
        try Data("stipple-master-key v1\nAAAA\n".utf8).write(to: URL(fileURLWithPath: other))
        #expect(throws: DiscretionError.malformedKeyFile(path: other, reason: "the key is not 32 bytes of base64")) {
            try MasterKey.load(from: other)
        }
    }
}

@Suite("Sealing personal data")
struct SealingTests {
    @Test("sealed data opens with the client's key, and with no other client's or key")
    func roundTrip() throws {
        let key = Sealing.newClientKey()
        let plaintext = Array("Jean-Luc Example, +1-416-555-0199".utf8)
        let sealed = try Sealing.seal(plaintext, client: "42", key: key)
        #expect(!sealed.contains(Array("Jean-Luc".utf8)))
        #expect(try Sealing.open(sealed, client: "42", key: key) == plaintext)
        #expect(throws: DiscretionError.unsealable(client: "43", reason: "it was altered, or it is not this client's")) {
            try Sealing.open(sealed, client: "43", key: key)
        }
        #expect(throws: DiscretionError.self) { try Sealing.open(sealed, client: "42", key: Sealing.newClientKey()) }
        var altered = sealed
        altered[altered.count / 2] ^= 0x01
        #expect(throws: DiscretionError.self) { try Sealing.open(altered, client: "42", key: key) }
        #expect(throws: DiscretionError.unsealable(client: "42", reason: "unknown format")) {
            try Sealing.open([9] + sealed.dropFirst(), client: "42", key: key)
        }
        // The same plaintext seals differently each time (a fresh nonce).
        #expect(try Sealing.seal(plaintext, client: "42", key: key) != sealed)
    }
}

@Suite("Pseudonyms and tokens")
struct PseudonymTokenTests {
    @Test("a pseudonym is stable for a client and key, differs between clients and keys, and has the documented shape")
    func pseudonyms() throws {
        let folder = try KeyFolder()
        let one = Pseudonyms(master: try MasterKey.create(at: folder.path + "/a.key"))
        let two = Pseudonyms(master: try MasterKey.create(at: folder.path + "/b.key"))
        let name = one.pseudonym(for: "42")
        #expect(name == one.pseudonym(for: "42"))
        #expect(name != one.pseudonym(for: "43"))
        #expect(name != two.pseudonym(for: "42"))
        #expect(name.wholeMatch(of: /C-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}/) != nil)
        let many = Set((0..<20_000).map { one.pseudonym(for: "client-\($0)") })
        #expect(many.count == 20_000)
    }

    @Test("tokens are random, shaped, and stored only as their hash")
    func tokens() {
        let (token, hash) = Tokens.generate()
        #expect(Tokens.looksLikeToken(token))
        #expect(!Tokens.looksLikeToken(token + "x"))
        #expect(hash == Tokens.hash(token))
        #expect(hash.count == 64 && !hash.contains(String(token.dropFirst(4).prefix(8))))
        #expect(Tokens.generate().token != token)
    }
}

@Suite("Roles and permissions")
struct AccessPolicyTests {
    @Test("each role's grants, and a refusal that names the missing permission", arguments: [
        (Role.admin, Permission.eraseClients, nil as String?, true),
        (.auditor, .readClinical, nil, true),
        (.auditor, .readAccessLog, nil, true),
        (.auditor, .recordClinical, "toronto", false),
        (.clinician, .recordClinical, "toronto", true),
        (.clinician, .recordClinical, "brampton", false),
        (.clinician, .readReports, nil, false),
        (.clinician, .manageUsers, nil, false),
        (.reception, .recordBookings, "toronto", true),
        (.reception, .readClinical, "toronto", false),
    ])
    func grants(role: Role, permission: Permission, clinic: String?, allowed: Bool) {
        let principal = Principal(user: "u1", role: role, clinics: ["toronto"])
        let result = Result { () throws(AccessDenied) in try AccessPolicy.check(principal, permission, clinic: clinic) }
        switch result {
        case .success: #expect(allowed)
        case .failure(let denied):
            #expect(!allowed)
            #expect(denied.permission == permission)
            #expect(denied.description.contains("may not \(permission.rawValue)"))
        }
    }

    @Test("a clinician of one clinic is refused for another, with the clinic in the message")
    func otherClinic() {
        let principal = Principal(user: "dr-lee", role: .clinician, clinics: ["toronto"])
        #expect(throws: AccessDenied(user: "dr-lee", role: .clinician, permission: .readClinical, clinic: "brampton")) {
            try AccessPolicy.check(principal, .readClinical, clinic: "brampton")
        }
        #expect(AccessDenied(user: "dr-lee", role: .clinician, permission: .readClinical, clinic: "brampton").description
            == "dr-lee (clinician) may not read clinical records for clinic brampton")
    }
}

@Suite("Client keys beside the log")
struct ClientKeysTests {
    func store(_ folder: KeyFolder, master: MasterKey, log: EventLog) async throws -> ClientKeys {
        let keys = ClientKeys(log: log, master: master, masterPath: folder.path + "/stipple.key")
        try await keys.prepare()
        return keys
    }

    @Test("a client's key is made once, kept wrapped, and destroyed for good: no copy left in the file or its WAL")
    func lifecycle() async throws {
        let folder = try KeyFolder()
        let log = try EventLog.create(at: folder.path + "/log.sqlite")
        let master = try MasterKey.create(at: folder.path + "/stipple.key")
        let keys = try await store(folder, master: master, log: log)
        #expect(try await keys.key(for: "42") == nil)
        let key = try await keys.keyCreatingIfNeeded(for: "42")
        #expect(try await keys.keyCreatingIfNeeded(for: "42") == key)
        let raw = key.withUnsafeBytes { Array($0) }
        let wrapped = try await log.readTables { db in
            try Data.fetchOne(db, sql: "SELECT wrapped FROM client_keys WHERE client = '42'").map { Array($0) } ?? []
        }
        #expect(!(try folder.databaseBytes()).contains(raw), "the key is stored wrapped, never in clear")
        #expect((try folder.databaseBytes()).contains(wrapped))
        #expect(try await keys.destroy(client: "42"))
        #expect(try await keys.key(for: "42") == nil)
        #expect(!(try folder.databaseBytes()).contains(wrapped), "secure delete and an emptied WAL leave no copy")
        #expect(try await keys.destroy(client: "42") == false)
    }

    @Test("a wrong master key is refused before any key is made; rotation rewraps every key")
    func wrongKeyAndRotation() async throws {
        let folder = try KeyFolder()
        let log = try EventLog.create(at: folder.path + "/log.sqlite")
        let master = try MasterKey.create(at: folder.path + "/stipple.key")
        let keys = try await store(folder, master: master, log: log)
        let key = try await keys.keyCreatingIfNeeded(for: "42")
        _ = try await keys.keyCreatingIfNeeded(for: "43")
        let wrong = ClientKeys(log: log, master: try MasterKey.create(at: folder.path + "/wrong.key"), masterPath: folder.path + "/wrong.key")
        await #expect(throws: DiscretionError.wrongMasterKey(path: folder.path + "/wrong.key")) { try await wrong.prepare() }
        let pseudonym = try await keys.pseudonyms().pseudonym(for: "42")
        let next = try MasterKey.create(at: folder.path + "/next.key")
        #expect(try await keys.rotate(to: next) == 2)
        let rotated = ClientKeys(log: log, master: next, masterPath: folder.path + "/next.key")
        try await rotated.prepare()
        #expect(try await rotated.key(for: "42") == key)
        #expect(try await rotated.pseudonyms().pseudonym(for: "42") == pseudonym, "pseudonyms survive a rotation")
        await #expect(throws: DiscretionError.wrongMasterKey(path: folder.path + "/stipple.key")) { try await keys.prepare() }
    }
}
