import Discretion
import EventLog
import Foundation
import StippleService

/// The users of a ``TestChain``: one of every role, clinicians and reception at Toronto,
/// a clinician at Brampton, and a Toronto clinician who never treated anyone.
public enum TestUser: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case admin
    case auditor = "audit-1"
    /// Toronto; consulted client 44 before it was marked confidential (its care team).
    case clinician = "dr-lee"
    /// Toronto; never consulted or treated anyone.
    case otherClinician = "dr-kim"
    /// Brampton.
    case bramptonClinician = "dr-bram"
    /// Toronto reception.
    case reception = "desk-1"

    public var description: String { rawValue }

    var role: Role {
        switch self {
        case .admin: return .admin
        case .auditor: return .auditor
        case .clinician, .otherClinician, .bramptonClinician: return .clinician
        case .reception: return .reception
        }
    }

    var clinics: [String] {
        switch self {
        case .admin, .auditor: return []
        case .clinician, .otherClinician, .reception: return ["toronto"]
        case .bramptonClinician: return ["brampton"]
        }
    }
}

/// A small chain in a temporary folder, its master key beside it, with users of every
/// role: what most tests of the application layer and of the front ends start from.
///
/// - Clinics `toronto` and `brampton`; technician `17` certified (C-1, 2025-01-10 to
///   2027-01-10) with bloodborne-pathogens training, technician `18` registered only.
/// - Lots `PB-1187` (pigment) and `NC-0412` (3RL 0.25 mm cartridges) received at Toronto,
///   `PB-2000` at Brampton; all expire 2027-05-31.
/// - Client `42` (Toronto, "A. Client", +1-416-555-0142) with a signed consent; client `43`
///   (Brampton, "B. Client") with consent; client `44` (Toronto, "C. Client") consulted by
///   dr-lee, then marked confidential.
///
/// The first chain is built once per process; each ``make()`` copies it (a fresh file
/// for every test, in milliseconds).
public struct TestChain: Sendable {
    public let folder: TemporaryFolder
    public let service: Service
    /// Each user's token.
    public let tokens: [TestUser: String]

    /// The id of client 42's registration (an amendment's target).
    public static let registrationOf42 = UUID(uuidString: "00000000-0000-7000-8000-000000000042")!
    /// The chain's "now": 2026-03-01T09:00:00Z.
    public static let now = Date(timeIntervalSince1970: 1_772_355_600)

    public var databasePath: String { folder.file("stipple.sqlite") }
    public var masterKeyPath: String { folder.file("stipple.key") }

    /// A fresh copy of the chain, opened with the fixed clock and what `configure` changes.
    public static func make(configure: (inout ServiceConfiguration) -> Void = { _ in }) async throws -> TestChain {
        let template = try await Template.shared.chain()
        let folder = try TemporaryFolder("stipple-chain")
        for name in ["stipple.sqlite", "stipple.sqlite-wal", "stipple.key"]
        where FileManager.default.fileExists(atPath: template.folder.file(name)) {
            try FileManager.default.copyItem(atPath: template.folder.file(name), toPath: folder.file(name))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: folder.file(name))
        }
        var configuration = configuration(in: folder)
        configure(&configuration)
        let service = try await Service.open(configuration)
        return TestChain(folder: folder, service: service, tokens: template.tokens)
    }

    /// The configuration of the chain's files, with its fixed clock.
    static func configuration(in folder: TemporaryFolder) -> ServiceConfiguration {
        var configuration = ServiceConfiguration(databasePath: folder.file("stipple.sqlite"), masterKeyPath: folder.file("stipple.key"))
        configuration.clock = { now }
        return configuration
    }

    /// The configuration this chain was opened with (to open it again, or read-only).
    public var configuration: ServiceConfiguration { Self.configuration(in: folder) }

    /// `user`'s session.
    public func session(_ user: TestUser) async throws -> Session {
        try await service.authenticate(tokens[user])
    }

    /// The log's head: position and hash, to compare before and after a refusal.
    public func head() async throws -> String {
        let stats = try await session(.admin).stats()
        return "\(stats.headPosition) \(stats.headHash)"
    }

    /// Records `do` lines as `user`.
    @discardableResult
    public func record(_ lines: String, as user: TestUser = .admin) async throws -> Recorded {
        try await session(user).record(try CommandLines.parse(Array(lines.utf8)))
    }

    /// The text of version `version` of the chain's consent form, `smp-consent`.
    public static func consentText(_ version: Int) -> String {
        "I consent to scalp micropigmentation by Stipple's technicians (version \(version)). I was told of the risks: "
            + "redness, swelling, infection, an allergic reaction to the pigment, fading and colour change."
    }

    /// The chain's facts, as `do` lines.
    static let setUp = """
        {"command":"record","stream":"clinic-toronto","type":"ClinicOpened","data":{"name":"Stipple Toronto","openedOn":"2021-05-01","timeZone":"America/Toronto"}}
        {"command":"record","stream":"clinic-brampton","type":"ClinicOpened","data":{"name":"Stipple Brampton","openedOn":"2022-02-01","timeZone":"America/Toronto"}}
        {"command":"record","stream":"technician-17","type":"TechnicianRegistered","data":{"registeredAt":"2025-01-02T09:00:00Z","personal":{"name":"T. Seventeen"}}}
        {"command":"record","stream":"technician-17","type":"CertificationGranted","data":{"certificationId":"C-1","level":"CERTIFICATION_LEVEL_CERTIFIED","issuedOn":"2025-01-10","expiresOn":"2027-01-10","issuer":"Stipple Academy"}}
        {"command":"record","stream":"technician-17","type":"BloodbornePathogensTrainingRecorded","data":{"completedOn":"2025-09-01"}}
        {"command":"record","stream":"technician-17","type":"HepatitisBStatusRecorded","data":{"status":"HEPATITIS_B_STATUS_RECORDED","onFileFrom":"2025-01-02"}}
        {"command":"record","stream":"technician-18","type":"TechnicianRegistered","data":{"registeredAt":"2025-06-02T09:00:00Z","personal":{"name":"T. Eighteen"}}}
        {"command":"record","stream":"batch-PB-1187~perma-blend","type":"BatchReceived","data":{"lot":"PB-1187","kind":"BATCH_KIND_PIGMENT","manufacturer":"Perma Blend","shade":"SMP Black","expiry":"2027-05-31","clinicId":"toronto","quantity":4,"receivedAt":"2026-01-05T09:00:00Z"}}
        {"command":"record","stream":"batch-NC-0412~kwadron","type":"BatchReceived","data":{"lot":"NC-0412","kind":"BATCH_KIND_CARTRIDGE","manufacturer":"Kwadron","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25,"expiry":"2027-05-31","clinicId":"toronto","quantity":20,"receivedAt":"2026-01-05T09:00:00Z"}}
        {"command":"record","stream":"batch-PB-2000~perma-blend","type":"BatchReceived","data":{"lot":"PB-2000","kind":"BATCH_KIND_PIGMENT","manufacturer":"Perma Blend","shade":"SMP Black","expiry":"2027-05-31","clinicId":"brampton","quantity":4,"receivedAt":"2026-01-05T09:00:00Z"}}
        {"command":"record","stream":"form-smp-consent","type":"ConsentFormPublished","data":{"version":"v4","title":"Consent to scalp micropigmentation","text":"\(consentText(4))","coversProcedure":true,"coversPhotos":true,"coversMarketing":true,"publishedAt":"2026-01-02T09:00:00Z"}}
        {"command":"record","stream":"form-smp-consent","type":"ConsentFormPublished","data":{"version":"v5","title":"Consent to scalp micropigmentation","text":"\(consentText(5))","coversProcedure":true,"coversPhotos":true,"coversMarketing":true,"publishedAt":"2026-02-01T09:00:00Z"}}
        {"command":"record","stream":"client-42","type":"ClientRegistered","id":"\(registrationOf42.uuidString.lowercased())","data":{"clientId":"42","clinicId":"toronto","registeredAt":"2026-02-20T10:00:00Z","personal":{"name":"A. Client","phone":"+1-416-555-0142"}}}
        {"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","signedAt":"2026-02-20T10:30:00Z","coversProcedure":true}}
        {"command":"record","stream":"client-43","type":"ClientRegistered","data":{"clientId":"43","clinicId":"brampton","registeredAt":"2026-02-20T10:00:00Z","personal":{"name":"B. Client"}}}
        {"command":"record","stream":"client-43","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","signedAt":"2026-02-20T10:30:00Z","coversProcedure":true}}
        {"command":"record","stream":"client-44","type":"ClientRegistered","data":{"clientId":"44","clinicId":"toronto","registeredAt":"2026-02-20T10:00:00Z","personal":{"name":"C. Client"}}}
        {"command":"record","stream":"client-44","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","signedAt":"2026-02-20T10:30:00Z","coversProcedure":true}}
        """

    /// dr-lee's consultation of client 44, then the confidential mark.
    static let careTeam = """
        {"command":"record","stream":"client-44","type":"ConsultationRecorded","data":{"clinicId":"toronto","consultantId":"17","consultedAt":"2026-02-21T10:00:00Z","hairLossType":"HAIR_LOSS_TYPE_ANDROGENETIC","norwoodStage":"IV","fitzpatrickType":3,"estimatedSessions":3}}
        """
    static let confidential = """
        {"command":"record","stream":"client-44","type":"ClientMarkedConfidential","data":{"reason":"public figure"}}
        """

    /// Builds the chain once per process.
    actor Template {
        static let shared = Template()
        private var built: (folder: TemporaryFolder, tokens: [TestUser: String])?

        func chain() async throws -> (folder: TemporaryFolder, tokens: [TestUser: String]) {
            if let built { return built }
            let folder = try TemporaryFolder("stipple-chain-template")
            let initialized = try await Service.initialize(TestChain.configuration(in: folder), admin: TestUser.admin.rawValue)
            let service = initialized.service
            var tokens: [TestUser: String] = [.admin: try require(initialized.adminToken, "the admin token")]
            let admin = try await service.authenticate(tokens[.admin])
            for user in TestUser.allCases where user != .admin {
                tokens[user] = try await admin.addUser(user.rawValue, role: user.role, clinics: user.clinics)
            }
            _ = try await admin.record(try CommandLines.parse(Array(setUp.utf8)))
            _ = try await service.authenticate(tokens[.clinician]).record(try CommandLines.parse(Array(careTeam.utf8)))
            _ = try await admin.record(try CommandLines.parse(Array(confidential.utf8)))
            try service.close()
            built = (folder, tokens)
            return (folder, tokens)
        }
    }
}

/// A value that must be there in a fixture.
func require<T>(_ value: T?, _ what: String = #function) throws -> T {
    guard let value else { throw ServiceError.failure("the test chain could not be built: \(what)") }
    return value
}
