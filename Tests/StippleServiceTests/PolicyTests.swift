import Discretion
import EventLog
import Foundation
import Reports
import StippleService
import StippleTesting
import Testing

/// Runs `body` and returns the ``ServiceError`` it throws (the test fails if it throws
/// nothing, or something else).
func serviceError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> ServiceError? {
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let error as ServiceError {
        return error
    } catch {
        Issue.record("expected a ServiceError, not \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The access policy of recording, in-process: every row of ``PolicyCases/recording`` for
/// every user (event type × role × clinic), through the one write path.
@Suite("Policy: who may record what")
struct RecordingPolicyTests {
    @Test("each row is recorded for the users it names and refused, revealing nothing, to every other", arguments: PolicyCases.recording)
    func row(_ row: PolicyCases.Case) async throws {
        for user in TestUser.allCases {
            let chain = try await TestChain.make()
            let before = try await chain.head()
            switch row.expected(for: user) {
            case .recorded:
                let recorded = try await chain.record(row.line, as: user)
                #expect(recorded.events.count == 1, "\(row) as \(user)")
                #expect(try await chain.head() != before)
            case .denied:
                let error = await serviceError({ try await chain.record(row.line, as: user) })
                #expect(error?.kind == .denied, "\(row) as \(user): \(error?.message ?? "recorded")")
                #expect(error?.message.hasPrefix("refused: \(user) (") == true, "\(error?.message ?? "")")
                #expect(try await chain.head() == before, "\(row) as \(user): a refusal writes nothing")
                // A refusal never names a clinic the user does not work for, unless their own
                // line named it: what the record's clinic is stays unsaid.
                let foreign = user == .bramptonClinician ? "toronto" : [.clinician, .otherClinician, .reception].contains(user) ? "brampton" : nil
                if let foreign, !row.line.contains("\"\(foreign)\"") {
                    #expect(error?.message.contains(foreign) == false, "\(row) as \(user): \(error?.message ?? "")")
                }
            }
        }
    }

    @Test("the actor and role are the session's user, whatever the line says")
    func stamp() async throws {
        let chain = try await TestChain.make()
        let line = #"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v5","coversProcedure":true},"metadata":{"actor":"someone-else","correlationId":"visit-7"}}"#
        let recorded = try await chain.record(line, as: .clinician)
        let stored = try await chain.session(.admin).readStream("client-42", from: recorded.events[0].streamVersion, limit: 1).events[0].event
        let metadata = try stored.metadata()
        #expect(metadata.actor == "dr-lee")
        #expect(metadata.extra["role"] == .string("clinician"))
        #expect(metadata.correlationId == "visit-7")
    }

    @Test("the permission comes before the rules: reception learns nothing from a session's refusal")
    func permissionBeforeRules() async throws {
        let chain = try await TestChain.make()
        // A session that the rules would refuse (an unknown lot): reception is refused for
        // access, and the message says nothing of lots, consent or sessions.
        let line = #"{"command":"session","client":"42","data":{"sessionNumber":3,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"NOPE-1","dilutionPercent":30}],"depthMm":0.9}}"#
        let error = await serviceError({ try await chain.record(line, as: .reception) })
        #expect(error?.kind == .denied)
        #expect(error?.message == "refused: desk-1 (reception) may not record clinical events; nothing was done")
        // The same line by a clinician meets the rules: every reason, with its line.
        let refused = await serviceError({ try await chain.record(line, as: .clinician) })
        #expect(refused?.kind == .refused)
        guard case .violations(let violations, let line)? = refused?.detail else {
            Issue.record("no violations in \(String(describing: refused))")
            return
        }
        #expect(line == 1)
        #expect(Set(violations.map(\.rule.rawValue)).isSuperset(of: ["session-numbers-consecutive", "lot-received"]), "\(violations)")
        #expect(refused?.message.hasPrefix("line 1: refused for") == true)
        #expect(refused?.message.hasSuffix("Nothing was recorded.") == true)
    }

    @Test("a lot must have been received before it is opened or discarded, on every path")
    func lotReceived() async throws {
        let chain = try await TestChain.make()
        for type in ["BatchOpened", "BatchDiscarded"] {
            let line = #"{"command":"record","stream":"batch-NOPE-1","type":"\#(type)","data":{"reason":"x"}}"#
                .replacingOccurrences(of: #","data":{"reason":"x"}"#, with: type == "BatchOpened" ? #","data":{"clinicId":"toronto"}"# : #","data":{"reason":"x"}"#)
            let error = await serviceError({ try await chain.record(line) })
            #expect(error?.kind == .refused, "\(type)")
            #expect(error?.message.contains("[lot-received] lot NOPE-1 was never received") == true, "\(error?.message ?? "")")
        }
    }

    @Test("errors carry their kind: bad input, not found, conflict, refused, denied")
    func kinds() async throws {
        let chain = try await TestChain.make()
        let admin = try await chain.session(.admin)
        let bad = await serviceError({ _ = try CommandLines.parse(Array(#"{"command":"paint"}"#.utf8)) })
        #expect(bad?.kind == .badInput)
        #expect(bad?.detail == .line(1))
        let guarded = await serviceError({ try await chain.record(#"{"command":"record","stream":"client-42","type":"RecordAccessed","data":{}}"#) })
        #expect(guarded?.kind == .badInput)
        let missing = await serviceError({ _ = try await admin.history(client: "99") })
        #expect(missing?.kind == .notFound)
        let twice = #"{"command":"record","stream":"clinic-toronto","type":"ClinicOpened","data":{"name":"again","openedOn":"2021-05-01"}}"#
        let conflict = await serviceError({ try await chain.record(twice) })
        #expect(conflict?.kind == .conflict)
        guard case .conflict(let stream, _, let actual, _)? = conflict?.detail else {
            Issue.record("no conflict detail in \(String(describing: conflict))")
            return
        }
        #expect(stream == "clinic-toronto" && actual == 1)
        let token = await serviceError({ _ = try await chain.service.authenticate("stp_" + String(repeating: "A", count: 43)) })
        #expect(token?.kind == .denied)
        let none = await serviceError({ _ = try await chain.service.authenticate(nil) })
        #expect(none?.kind == .denied)
    }

    @Test("import is admins' only; the importer is the actor; personal data is sealed on the way in")
    func importEvents() async throws {
        let chain = try await TestChain.make()
        let line = #"{"stream":"client-60","type":"ClientRegistered","data":{"clientId":"60","clinicId":"toronto","personal":{"name":"Imported Person"}},"metadata":{"actor":"elsewhere"}}"#
        let batch = try ImportLines.parse(Array(line.utf8))
        for user in TestUser.allCases where user != .admin {
            let error = await serviceError({ _ = try await chain.session(user).importEvents(batch) })
            #expect(error?.kind == .denied, "\(user)")
        }
        let recorded = try await chain.session(.admin).importEvents(batch)
        let stored = try await chain.session(.admin).readStream("client-60").events[0]
        #expect(try stored.event.metadata().actor == "admin")
        #expect(recorded.events.count == 1)
        let raw = try Data(contentsOf: URL(fileURLWithPath: chain.databasePath)) + ((try? Data(contentsOf: URL(fileURLWithPath: chain.databasePath + "-wal"))) ?? Data())
        #expect(raw.range(of: Data("Imported Person".utf8)) == nil, "sealed before it is stored")
        #expect(stored.json.canonicalString.contains("Imported Person"), "opened for the admin who reads it")
    }

    @Test("administration: users, keys, erasure, backups, rebuilds and export are admins' only")
    func administration() async throws {
        let chain = try await TestChain.make()
        for user in TestUser.allCases where user != .admin {
            let session = try await chain.session(user)
            let attempts: [(String, () async throws -> Void)] = [
                ("add a user", { _ = try await session.addUser("x", role: .auditor, clinics: []) }),
                ("list users", { _ = try await session.users() }),
                ("disable", { try await session.disableUser("dr-kim") }),
                ("change a role", { try await session.changeAccess(of: "dr-kim", role: .admin, clinics: []) }),
                ("rotate a token", { _ = try await session.rotateToken(of: "dr-kim") }),
                ("rotate the master key", { _ = try await session.rotateMasterKey() }),
                ("erase", { _ = try await session.erase(client: "42", reason: "request") }),
                ("export", { _ = try await session.export(client: "42", purpose: "request") }),
                ("back up", { _ = try await session.backup(to: chain.folder.file("copy-\(user).sqlite")) }),
                ("rebuild", { _ = try await session.rebuild(nil) }),
                ("train", { _ = try await session.trainDictionary() }),
                ("demo", { _ = try await session.demo(clients: 1, seed: 1, years: 1) }),
            ]
            for (what, attempt) in attempts {
                let error = await serviceError(attempt)
                #expect(error?.kind == .denied, "\(user) may \(what): \(error?.message ?? "")")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: chain.folder.file("copy-audit-1.sqlite")))
        // Every user may verify the log and see its figures.
        for user in TestUser.allCases {
            #expect(try await chain.session(user).verify().isIntact)
        }
    }
}

@Suite("Sign-ins")
struct SignInTests {
    @Test("a sign-in remembered by a long-running service ends when another process disables the user or rotates the token")
    func rememberedSignIns() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.session(.clinician)
        _ = try await chain.session(.otherClinician)
        // Another process: the command line of an admin, on the same files.
        let other = try await Service.open(chain.configuration)
        let admin = try await other.authenticate(chain.tokens[.admin])
        try await admin.disableUser(TestUser.clinician.rawValue)
        _ = try await admin.rotateToken(of: TestUser.otherClinician.rawValue)
        let disabled = await serviceError({ _ = try await chain.session(.clinician) })
        #expect(disabled?.message.contains("dr-lee is disabled") == true, "\(disabled?.message ?? "signed in")")
        let rotated = await serviceError({ _ = try await chain.session(.otherClinician) })
        #expect(rotated?.message.contains("not valid") == true, "\(rotated?.message ?? "signed in")")
        try other.close()
    }
}
