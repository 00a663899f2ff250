import Discretion
import EventLog
import Foundation
import GRDB
import Reports
import StippleService
import StippleTesting
import Testing
import Treatment

/// The findings of the outside security review of December 2026
/// (`../shared/reviews/security-2026-12/FINDINGS.md`), each as a test that failed before
/// its fix. File-handling findings are tested through the command line (`SecurityCLITests`).
@Suite("Security review, December 2026")
struct SecurityReviewTests {
    static let consent = #"{"formVersion":"v9","signedAt":"2026-02-25T10:00:00Z","coversProcedure":true}"#

    @Test("3: a recording command refuses an unknown client or lot exactly as a hidden one, to clinicians and reception")
    func noExistenceOracle() async throws {
        let chain = try await TestChain.make()
        let before = try await chain.head()
        for user in [TestUser.otherClinician, .reception] {
            func refusal(_ line: String) async -> String? {
                await serviceError({ try await chain.record(line, as: user) })?.message
            }
            let booking = #"{"bookingId":"B1","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-09T10:00:00Z","expectedMinutes":180,"sessionNumber":1}"#
            for type in ["ConsentSigned", "SessionBooked"] {
                let data = type == "ConsentSigned" ? Self.consent : booking
                let unknown = await refusal(#"{"command":"record","stream":"client-999","type":"\#(type)","data":\#(data)}"#)
                let otherClinic = await refusal(#"{"command":"record","stream":"client-43","type":"\#(type)","data":\#(data)}"#)
                let confidential = await refusal(#"{"command":"record","stream":"client-44","type":"\#(type)","data":\#(data)}"#)
                #expect(unknown != nil && unknown == otherClinic && unknown == confidential, "\(user) \(type): \(unknown ?? "-") / \(otherClinic ?? "-") / \(confidential ?? "-")")
            }
            let unknownLot = await refusal(#"{"command":"record","stream":"batch-NOPE-9","type":"BatchOpened","data":{"clinicId":"toronto"}}"#)
            let otherLot = await refusal(#"{"command":"record","stream":"batch-PB-2000~perma-blend","type":"BatchOpened","data":{"clinicId":"toronto"}}"#)
            #expect(unknownLot != nil && unknownLot == otherLot, "\(user): \(unknownLot ?? "-") / \(otherLot ?? "-")")
            // A session's and an amendment's refusals do not tell either.
            let session = #"{"command":"session","client":"999","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","depthMm":0.9}}"#
            #expect(await refusal(session) == (await refusal(session.replacingOccurrences(of: #""client":"999""#, with: #""client":"43""#))))
        }
        #expect(try await chain.head() == before)
        // Admins and auditors may know what exists: an admin hears the rule.
        let admin = await serviceError({ try await chain.record(#"{"command":"record","stream":"client-999","type":"ConsentSigned","data":\#(Self.consent)}"#) })
        #expect(admin?.kind == .refused)
        #expect(admin?.message.contains("client-999 is not registered") == true)
    }

    @Test("5: a client id starting with a combining mark is refused; stream names are classified by their bytes")
    func combiningMark() async throws {
        #expect(StreamCategory(stream: "client-\u{301}x1") == .client, "byte-level: it is a client stream")
        #expect(StreamCategory.client.id(in: "client-\u{301}x1") == "\u{301}x1")
        #expect(StreamCategory(stream: "client-") == nil)
        let chain = try await TestChain.make()
        let before = try await chain.head()
        let line = #"{"command":"record","stream":"client-\u0301x1","type":"ClientRegistered","data":{"clinicId":"toronto","personal":{"name":"Combining Clearname"}}}"#
        let error = await serviceError({ try await chain.record(line) })
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains("cannot be an id: it must start with a letter or a digit") == true, "\(error?.message ?? "")")
        let imported = await serviceError({
            _ = try await chain.session(.admin).importEvents(try ImportLines.parse(Array(line.replacingOccurrences(of: #""command":"record","#, with: "").utf8)))
        })
        #expect(imported?.kind == .badInput, "the import path checks ids too")
        #expect(try await chain.head() == before)
    }

    @Test("6, 11: ids are one safe ASCII shape everywhere in an event: no look-alikes, newlines, paths or controls")
    func idShapes() async throws {
        let chain = try await TestChain.make()
        let cases: [(String, String)] = [
            (#"{"command":"record","stream":"client-\u00e91","type":"ClientRegistered","data":{"clinicId":"toronto"}}"#, #"field "stream""#),
            (#"{"command":"record","stream":"client-82\n83","type":"ClientRegistered","data":{"clinicId":"toronto"}}"#, #"field "stream""#),
            (#"{"command":"record","stream":"client-../../etc/passwd","type":"ClientRegistered","data":{"clinicId":"toronto"}}"#, #"field "stream""#),
            (#"{"command":"record","stream":"client-70","type":"ClientRegistered","data":{"clinicId":"toronto\u0301"}}"#, #"field "data.clinicId""#),
            (#"{"command":"record","stream":"client-42","type":"AdverseReactionReported","data":{"severity":"mild","lots":["PB 1187"]}}"#, #"field "data.lots[0]""#),
            (#"{"command":"record","stream":"client-70","type":"ClientRegistered","data":{"clinicId":"toronto","personal":{"name":"Evil\u001b[2K\rInnocent"}}}"#, #"field "data.personal.name" holds a control character (U+001B)"#),
            (#"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v5"},"metadata":{"correlationId":"Zebulon Quartzfield +1-416-555-0142"}}"#, #"key "correlationId""#),
            (#"{"command":"record","stream":"client-70","type":"ClientRegistered","data":{"clinicId":"toronto","personal":{"name":"Evil‮Innocent"}}}"#, "holds a bidirectional control character (U+202E)"),
        ]
        let before = try await chain.head()
        for (line, field) in cases {
            let error = await serviceError({ try await chain.record(line) })
            #expect(error?.kind == .badInput, "\(line)")
            #expect(error?.message.contains(field) == true, "\(error?.message ?? "recorded")")
            #expect(error?.message.hasPrefix("line 1: ") == true)
        }
        #expect(try await chain.head() == before)
        // Names stay Unicode, with newlines in notes.
        try await chain.record(#"{"command":"record","stream":"client-71","type":"ClientRegistered","data":{"clinicId":"toronto","personal":{"name":"Zoë Ångström-Nuñez"}}}"#)
        #expect(try await chain.session(.admin).history(client: "71").sections[0].title.contains("Zoë Ångström-Nuñez"))
    }

    @Test("7: RecordAccessed, ClientErased and the confidentiality marks are written by their own use cases only; the access report shows who wrote each entry")
    func noForgedLogs() async throws {
        let chain = try await TestChain.make()
        let admin = try await chain.session(.admin)
        let forgeries = [
            #"{"stream":"access-42","type":"RecordAccessed","data":{"clientId":"42","actor":"dr-lee","role":"clinician","purpose":"curiosity","command":"history","accessedAt":"2026-11-30T03:00:00Z"}}"#,
            #"{"stream":"client-42","type":"ClientErased","data":{"reason":"fake"}}"#,
            #"{"stream":"client-42","type":"ClientMarkedConfidential","data":{"reason":"x"}}"#,
            #"{"stream":"client-44","type":"ClientConfidentialityLifted","data":{"reason":"x"}}"#,
        ]
        let before = try await chain.head()
        for line in forgeries {
            let error = await serviceError({ _ = try await admin.importEvents(try ImportLines.parse(Array(line.utf8))) })
            #expect(error?.kind == .badInput, "\(line)")
            #expect(error?.message.contains("is recorded by its own command") == true, "\(error?.message ?? "")")
        }
        #expect(try await chain.head() == before)
        _ = try await chain.session(.auditor).history(client: "42")
        let report = try await admin.report(.access(client: "42"))
        #expect(report.sections[0].columns.contains("recordedBy") && report.sections[0].columns.contains("recorded"))
        #expect(report.sections[0].column("recordedBy") == [.text("audit-1")])
    }

    @Test("10: import refuses free metadata keys, as do does")
    func noFreeMetadata() async throws {
        let chain = try await TestChain.make()
        let line = #"{"stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v5"},"metadata":{"note":"Plainy McPlain 555"}}"#
        let error = await serviceError({ _ = try ImportLines.parse(Array(line.utf8)) })
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains(#"key "note" is not known"#) == true, "\(error?.message ?? "")")
        _ = chain
    }

    @Test("14: an event id already used elsewhere is refused without naming its stream, type or position (to clinic-scoped users)")
    func idReuse() async throws {
        let chain = try await TestChain.make()
        let taken = TestChain.registrationOf42.uuidString.lowercased()
        let line = #"{"command":"record","stream":"client-90","type":"ClientRegistered","id":"\#(taken)","data":{"clinicId":"toronto"}}"#
        let error = await serviceError({ try await chain.record(line, as: .reception) })
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains(taken) == true)
        for leak in ["client-42", "ClientRegistered", "position"] {
            #expect(error?.message.contains(leak) == false, "\(error?.message ?? "")")
        }
    }

    @Test("15: a purpose of only spaces, newlines or controls is no purpose")
    func blankPurpose() async throws {
        let chain = try await TestChain.make()
        for blank in ["\n", " \t\n", "\r\n", "\u{7}"] {
            let error = await serviceError({ _ = try await chain.session(.auditor).history(client: "44", purpose: blank) })
            #expect(error?.detail == .purposeRequired(.client("44")), "\(blank.debugDescription)")
            let wholeLog = await serviceError({ _ = try await chain.session(.admin).readLog(purpose: blank) })
            #expect(wholeLog?.detail == .purposeRequired(.wholeLog))
        }
    }

    @Test("18: duplicate JSON keys are refused with the line and the key; invalid UTF-8 is named as such")
    func jsonHygiene() async throws {
        let duplicate = #"{"stream":"client-42","stream":"client-43","type":"ConsentSigned","data":{}}"#
        let error = await serviceError({ _ = try ImportLines.parse(Array(duplicate.utf8)) })
        #expect(error?.message.contains(#"line 1: "#) == true)
        #expect(error?.message.contains(#"key "stream" appears twice"#) == true, "\(error?.message ?? "")")
        let nested = #"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formVersion":"a","formVersion":"b"}}"#
        #expect(await serviceError({ _ = try CommandLines.parse(Array(nested.utf8)) })?.message.contains(#"key "formVersion" appears twice"#) == true)
        let surrogate = #"{"stream":"client-42","type":"ConsentSigned","data":{"formVersion":"\ud800"}}"#
        #expect(await serviceError({ _ = try ImportLines.parse(Array(surrogate.utf8)) })?.message.contains("half of a surrogate pair") == true)
        let bom = [0xEF, 0xBB, 0xBF] + Array(#"{"stream":"client-42","type":"ConsentSigned","data":{}}"#.utf8)
        #expect(await serviceError({ _ = try ImportLines.parse(bom) })?.message.contains("byte order mark") == true)
        var invalid = Array(#"{"stream":"client-42","type":"ConsentSigned","data":{"formVersion":"x"}}"#.utf8)
        invalid[invalid.count - 5] = 0xFF
        let utf8 = await serviceError({ _ = try ImportLines.parse(invalid) })
        #expect(utf8?.message.contains("not valid UTF-8") == true, "\(utf8?.message ?? "")")
    }
}

/// Finding 8: user management in the tamper-evident log; tables edited behind its back.
@Suite("Security review, December 2026: users and report tables in the chain")
struct TamperingTests {
    /// Runs SQL on the chain's file from another connection, as someone with the file would.
    static func tamper(_ chain: TestChain, _ sql: String) throws {
        let queue = try DatabaseQueue(path: chain.databasePath)
        defer { try? queue.close() }
        try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    @Test("8: adding, disabling and rotating a user append events on the user's stream")
    func userEvents() async throws {
        let chain = try await TestChain.make()
        let admin = try await chain.session(.admin)
        var head = try await chain.head()
        _ = try await admin.addUser("dr-new", role: .clinician, clinics: ["brampton"])
        #expect(try await chain.head() != head)
        head = try await chain.head()
        _ = try await admin.rotateToken(of: "dr-new")
        #expect(try await chain.head() != head)
        try await admin.disableUser("dr-new")
        let types = try await admin.readStream("user-dr-new").events.map(\.event.type)
        #expect(types == ["UserAdded", "UserTokenRotated", "UserDisabled"])
        let added = try await admin.readStream("user-dr-new").events[0]
        #expect(try added.event.metadata().actor == "admin")
        #expect(!added.json.canonicalString.contains("stp_"), "the token is never stored, only its hash")
        #expect(try await admin.verify().isIntact)
    }

    @Test("8: a users table edited outside Stipple signs nobody in, and verify names what differs", arguments: [
        ("UPDATE users SET role = 'admin', clinics = '' WHERE name = 'dr-lee'", "dr-lee", "role admin in the table, clinician in the log"),
        ("UPDATE users SET disabled = 0 WHERE name = 'dr-kim'", "dr-kim", "disabled in the log, active in the table"),
        ("UPDATE users SET clinics = 'toronto,brampton' WHERE name = 'desk-1'", "desk-1", "clinics brampton,toronto in the table, toronto in the log"),
    ])
    func usersTable(sql: String, user: String, difference: String) async throws {
        let chain = try await TestChain.make()
        if user == "dr-kim" { try await chain.session(.admin).disableUser("dr-kim") }
        try Self.tamper(chain, sql)
        let signIn = await serviceError({ _ = try await chain.session(TestUser(rawValue: user)!) })
        #expect(signIn?.kind == .denied)
        #expect(signIn?.message.contains("the users table does not match the log's events for user \(user)") == true, "\(signIn?.message ?? "")")
        let verification = try await chain.session(.admin).verify()
        #expect(!verification.isIntact)
        #expect(verification.userMismatches.contains { $0.hasPrefix("\(user): ") && $0.contains(difference) }, "\(verification.userMismatches)")
    }

    @Test("8: a user added by hand, with no events, signs nobody in")
    func forgedUser() async throws {
        let chain = try await TestChain.make()
        let hash = String(repeating: "ab", count: 32)
        try Self.tamper(chain, "INSERT INTO users (name, role, clinics, token_hash, created_by, created_at) VALUES ('mallory', 'admin', '', '\(hash)', 'admin', 0)")
        let verification = try await chain.session(.admin).verify()
        #expect(verification.userMismatches == ["mallory: in the users table, but the log never added them"])
    }
}

extension TamperingTests {
    @Test("8: report rows edited outside Stipple are found by comparing with a fold from scratch")
    func reportTables() async throws {
        let chain = try await TestChain.make()
        try await chain.record(#"{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#)
        let admin = try await chain.session(.admin)
        let clean = try await admin.checkReports()
        #expect(clean.count == 7 && clean.allSatisfy { $0.matches }, "\(clean)")
        // Someone with the file removes client 42 from the lot trace (a recall's contact list).
        let queue = try DatabaseQueue(path: chain.databasePath)
        let uses = try await queue.read { db in
            try String.fetchOne(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rp_lots_%_uses'")
        }
        try await queue.write { db in try db.execute(sql: "DELETE FROM \"\(try #require(uses))\"") }
        try queue.close()
        let checks = try await admin.checkReports()
        // The rows went from the lot trace's index too (its triggers keep it in step).
        #expect(checks.first { $0.name == "lots" }?.differingTables == ["uses", "uses_by_lot"], "\(checks)")
        #expect(checks.filter { $0.name != "lots" }.allSatisfy { $0.matches })
        #expect(try FileManager.default.contentsOfDirectory(atPath: chain.folder.path).allSatisfy { !$0.contains(".check-") }, "the scratch copy is removed")
        // Clinicians and reception do not run it.
        #expect(await serviceError({ _ = try await chain.session(.clinician).checkReports() })?.kind == .denied)
    }
}

extension SecurityReviewTests {
    @Test("also found: a session typed without lot details keeps each lot's expiry from its receipt (the records report shows it)")
    func lotExpiry() async throws {
        let chain = try await TestChain.make()
        try await chain.record(#"{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#)
        let report = try await chain.session(.admin).report(.records(from: Day("2026-03-01")!, to: Day("2026-03-31")!))
        #expect(report.text.contains("PB-1187 Perma Blend (exp. 2027-05-31)") && report.text.contains("NC-0412 Kwadron (exp. 2027-05-31)"), "\(report.text)")
        #expect(!report.text.contains("(exp. ?)"))
        let stored = try await chain.session(.admin).readStream("client-42", backward: true, limit: 1).events[0].json.canonicalString
        #expect(stored.contains(#""brand":"Perma Blend""#) && stored.contains(#""manufacturer":"Kwadron""#), "\(stored)")
    }
}

/// What the re-test of the fixes found (the helper review of December 2026).
@Suite("Security re-test, December 2026")
struct SecurityRetestTests {
    @Test("N2: what the input says alone is refused before the target's access, the same for every target")
    func inputBeforeAccess() async throws {
        let chain = try await TestChain.make()
        let bad = #"{"command":"record","stream":"client-CLIENT","type":"ClientRegistered","data":{"clinicId":"toronto","personal":{"name":"P","email":"x\u0007"}}}"#
        var messages: Set<String> = []
        for client in ["42", "998", "43", "44"] {
            let error = await serviceError({ try await chain.record(bad.replacingOccurrences(of: "CLIENT", with: client), as: .reception) })
            #expect(error?.kind == .badInput, "\(client): \(error?.message ?? "")")
            messages.insert(error?.message ?? "")
        }
        #expect(messages.count == 1, "\(messages)")
        let lot = #"{"command":"record","stream":"batch-LOT","type":"BatchReceived","data":{"lot":"LOT","kind":"BATCH_KIND_CARTRIDGE","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.9,"expiry":"2027-05-31","clinicId":"toronto"}}"#
        var lotMessages: Set<String> = []
        for name in ["PB-2000", "PB-1187", "NEW-1"] {
            lotMessages.insert(await serviceError({ try await chain.record(lot.replacingOccurrences(of: "LOT", with: name), as: .otherClinician) })?.message.replacingOccurrences(of: name, with: "LOT") ?? "")
        }
        #expect(lotMessages.count == 1, "\(lotMessages)")
    }

    @Test("N4: a lot received at another clinic is, to a clinician's procedure, a lot never received")
    func otherClinicsLots() async throws {
        let chain = try await TestChain.make()
        let session = #"{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"LOT","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#
        let foreign = await serviceError({ try await chain.record(session.replacingOccurrences(of: "LOT", with: "PB-2000"), as: .clinician) })
        let unknown = await serviceError({ try await chain.record(session.replacingOccurrences(of: "LOT", with: "NOPE-7"), as: .clinician) })
        #expect(foreign?.kind == .refused)
        #expect(foreign?.message.replacingOccurrences(of: "PB-2000", with: "LOT") == unknown?.message.replacingOccurrences(of: "NOPE-7", with: "LOT"))
        #expect(foreign?.message.contains("lot PB-2000 was never received") == true, "\(foreign?.message ?? "")")
        // An admin sees every clinic's stock.
        #expect(try await chain.record(session.replacingOccurrences(of: "LOT", with: "PB-2000")).events.count == 1)
    }

    @Test("notes: a registration's id is its stream's; confidentiality needs a reason; a user's clinics are ids")
    func valueRules() async throws {
        let chain = try await TestChain.make()
        let mismatch = await serviceError({ try await chain.record(#"{"command":"record","stream":"client-99","type":"ClientRegistered","data":{"clientId":"42","clinicId":"toronto"}}"#) })
        #expect(mismatch?.kind == .refused)
        #expect(mismatch?.message.contains("clientId: is 42, but the stream is client-99") == true, "\(mismatch?.message ?? "")")
        let noReason = await serviceError({ try await chain.record(#"{"command":"record","stream":"client-42","type":"ClientMarkedConfidential","data":{"reason":" \n"}}"#) })
        #expect(noReason?.message.contains("reason: must say why the record is confidential") == true, "\(noReason?.message ?? "")")
        let clinic = await serviceError({ _ = try await chain.session(.admin).addUser("u1", role: .clinician, clinics: ["t'x"]) })
        #expect(clinic?.kind == .badInput)
        #expect(clinic?.message.contains("cannot be a clinic") == true)
    }

    @Test("N1: a second live generation, made by hand to hide rows from a report, is found by the check")
    func secondLiveGeneration() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.session(.admin).checkReports()
        let queue = try DatabaseQueue(path: chain.databasePath)
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO report_projections SELECT name, 0, version, signature, layout, 'live', checkpoint, created_at, swapped_at, index_phase
                FROM report_projections WHERE name = 'lots' AND state = 'live'
                """)
        }
        try queue.close()
        let checks = try await chain.session(.admin).checkReports()
        let lots = try #require(checks.first { $0.name == "lots" })
        #expect(!lots.matches)
        #expect(lots.differingTables.first?.contains("2 live generations") == true, "\(lots.differingTables)")
    }

    @Test("N3: scratch copies an interrupted check left beside the log are removed by the next check and by an erasure")
    func scratchLeftovers() async throws {
        let chain = try await TestChain.make()
        let leftover = chain.databasePath + ".check-0a1b2c3d"
        let other = chain.databasePath + ".check-notmine"
        for path in [leftover, leftover + "-wal", other] { FileManager.default.createFile(atPath: path, contents: Data("copy".utf8)) }
        _ = try await chain.session(.admin).checkReports()
        #expect(!FileManager.default.fileExists(atPath: leftover) && !FileManager.default.fileExists(atPath: leftover + "-wal"))
        #expect(FileManager.default.fileExists(atPath: other), "a file of another shape is not ours to remove")
        FileManager.default.createFile(atPath: leftover, contents: Data("copy".utf8))
        _ = try await chain.session(.admin).erase(client: "42", reason: "erasure request")
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }
}
