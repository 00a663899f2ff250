import Discretion
import EventLog
import Foundation
import Reports
import StippleService
import StippleTesting
import Testing
import Treatment

extension ClinicReports.Report {
    /// Every cell of every section, as text.
    var text: String {
        sections.map { section in
            ([section.title] + section.rows.map { $0.map(\.description).joined(separator: " | ") } + section.notes).joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}

/// The read path, in-process: need-to-know, purposes, the access log, names and pseudonyms.
@Suite("Policy: who may see what, and the access log")
struct DisclosureTests {
    /// The rows of client `client`'s access log.
    func accesses(_ chain: TestChain, _ client: String) async throws -> [[String]] {
        try await chain.session(.admin).report(.access(client: client)).sections[0].rows.map { $0.map(\.description) }
    }

    @Test("who may read a client's history, for a client of each kind", arguments: [
        // (client, user, purpose, expected): "ok", "denied", "purpose"
        ("42", TestUser.admin, nil, "ok"), ("42", .auditor, nil, "ok"), ("42", .clinician, nil, "ok"), ("42", .otherClinician, nil, "ok"),
        ("42", .bramptonClinician, nil, "denied"), ("42", .reception, nil, "denied"),
        ("43", .bramptonClinician, nil, "ok"), ("43", .clinician, nil, "denied"),
        ("44", .admin, nil, "purpose"), ("44", .admin, "audit", "ok"), ("44", .auditor, " ", "purpose"), ("44", .auditor, "yearly audit", "ok"),
        ("44", .clinician, nil, "purpose"), ("44", .clinician, "follow-up", "ok"), ("44", .otherClinician, "curious", "denied"),
        ("44", .reception, "booking", "denied"), ("44", .bramptonClinician, "curious", "denied"),
    ] as [(String, TestUser, String?, String)])
    func history(client: String, user: TestUser, purpose: String?, expected: String) async throws {
        let chain = try await TestChain.make()
        let before = try await accesses(chain, client).count
        let session = try await chain.session(user)
        switch expected {
        case "ok":
            let report = try await session.history(client: client, purpose: purpose)
            #expect(report.sections[0].rows.count >= 2)
            let log = try await accesses(chain, client)
            #expect(log.count == before + 1, "the access is logged")
            #expect(log.last.map { Array($0[1...4]) } == [user.rawValue, session.principal.role.rawValue, purpose ?? "", "history"])
        case "purpose":
            let error = await serviceError({ _ = try await session.history(client: client, purpose: purpose) })
            #expect(error?.kind == .denied)
            #expect(error?.detail == .purposeRequired(.client(client)))
            #expect(try await accesses(chain, client).count == before, "a refused read is not a read")
        default:
            let error = await serviceError({ _ = try await session.history(client: client, purpose: purpose) })
            #expect(error?.kind == .denied)
            // The same words as for a client that does not exist: nothing is revealed.
            let unknown = await serviceError({ _ = try await session.history(client: "4242", purpose: purpose) })
            if user.description != "admin" && user != .auditor {
                #expect(error?.message == unknown?.message, "\(error?.message ?? "") / \(unknown?.message ?? "")")
            }
            #expect(try await accesses(chain, client).count == before, "a refused read is not a read")
        }
    }

    @Test("who sees names: a history's reader, admins in reports; everyone else a pseudonym; the audit by pseudonym for all")
    func names() async throws {
        let chain = try await TestChain.make()
        // A session at Toronto, so the records report and the audit have a row for client 42.
        try await chain.record(#"{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#)
        try await chain.record(#"{"command":"recall","lot":"PB-1187","data":{"authority":"Health Canada","noticeReference":"RA-1","reason":"contamination","recalledAt":"2026-03-10T09:00:00Z"}}"#)
        // A suspension reaching back before the session: the audit has a finding about it.
        try await chain.record(#"{"command":"record","stream":"technician-17","type":"CertificationSuspended","data":{"certificationId":"C-1","suspendedOn":"2026-03-01","reason":"review"}}"#)
        let march = (Day("2026-03-01")!, Day("2026-03-31")!)
        #expect(try await chain.session(.clinician).history(client: "42").sections[0].title.contains("A. Client"), "a history's reader sees the name")
        for user in [TestUser.admin, .auditor] {
            let session = try await chain.session(user)
            let history = try await session.history(client: "42", purpose: nil)
            #expect(history.sections[0].title.contains("A. Client"), "\(user) reads the history: the name is theirs to see")
            let records = try await session.report(.records(from: march.0, to: march.1))
            let lot = try await session.report(.lot("PB-1187"))
            let audit = try await session.report(.audit(from: nil, to: nil))
            if user == .admin {
                #expect(records.text.contains("A. Client"))
                #expect(lot.text.contains("+1-416-555-0142"), "a recalled lot's contact list")
            } else {
                #expect(!records.text.contains("A. Client") && !lot.text.contains("A. Client") && !lot.text.contains("+1-416-555-0142"), "\(user)")
            }
            #expect(!audit.text.contains("A. Client"))
            #expect(!audit.sections[0].column("client").contains(.text("42")), "the audit shows no client id")
        }
        // Pseudonyms are stable across readers and reports, and keyed: not the id in disguise.
        let auditor = try await chain.session(.auditor)
        let pseudonym = try #require(try await auditor.report(.records(from: march.0, to: march.1)).sections[0].column("client").first?.description)
        #expect(pseudonym.wholeMatch(of: /C-[0-9A-Z]{5}-[0-9A-Z]{5}/) != nil, "\(pseudonym)")
        let audit = try await chain.session(.admin).report(.audit(from: nil, to: nil))
        #expect(audit.text.contains(pseudonym), "the audit's pseudonym is the records report's: \(audit.text)")
        #expect(!pseudonym.contains("42"))
        // Every name a report showed was logged; a report that showed a pseudonym logged nothing for it.
        let log = try await accesses(chain, "42")
        #expect(log.filter { $0[1] == "admin" }.map { $0[4] }.sorted() == ["history", "report lot", "report records"])
        #expect(log.filter { $0[1] == "audit-1" }.map { $0[4] } == ["history"])
        #expect(log.filter { $0[1] == "dr-lee" }.map { $0[4] } == ["history"])
    }

    @Test("reading the whole log needs a purpose once it holds confidential clients; each client shown is logged")
    func wholeLog() async throws {
        let chain = try await TestChain.make()
        let admin = try await chain.session(.admin)
        let refused = await serviceError({ _ = try await admin.readLog(from: 1, limit: 1_000, purpose: "  ") })
        #expect(refused?.detail == .purposeRequired(.wholeLog))
        let page = try await admin.readLog(from: 1, limit: 1_000, purpose: "regulator's export")
        #expect(page.events.count > 10 && page.next == nil)
        for client in ["42", "43", "44"] {
            #expect(try await accesses(chain, client).last.map { [$0[1], $0[3], $0[4]] } == ["admin", "regulator's export", "read --all"])
        }
        // Clinicians of one clinic do not read the whole chain.
        #expect(await serviceError({ _ = try await chain.session(.clinician).readLog(purpose: "x") })?.kind == .denied)
    }

    @Test("reading a confidential client's stream needs a purpose; the refusal reveals nothing to others")
    func readStream() async throws {
        let chain = try await TestChain.make()
        let auditor = try await chain.session(.auditor)
        #expect(await serviceError({ _ = try await auditor.readStream("client-44") })?.detail == .purposeRequired(.client("44")))
        let read = try await auditor.readStream("client-44", purpose: "yearly audit")
        #expect(read.events.map(\.event.type) == ["ClientRegistered", "ConsentSigned", "ConsultationRecorded", "ClientMarkedConfidential"])
        #expect(read.events[0].personal == .opened)
        #expect(read.events[0].json.canonicalString.contains("C. Client"))
        #expect(try await accesses(chain, "44").last?[4] == "read")
    }

    @Test("subject access: the export opens everything, lists the accesses, and is logged itself")
    func export() async throws {
        let chain = try await TestChain.make()
        let admin = try await chain.session(.admin)
        _ = try await admin.history(client: "42")
        let document = try await admin.export(client: "42")
        #expect(document.canonicalString.contains("A. Client"))
        guard case .array(let accesses)? = document.objectValue?["accessLog"] else {
            Issue.record("no access log in the export")
            return
        }
        #expect(accesses.count == 2, "the history, and the export itself")
        #expect(document.objectValue?["exportedAt"] == .string("2026-03-01T09:00:00Z"), "the injected clock")
        #expect(await serviceError({ _ = try await admin.export(client: "99") })?.kind == .notFound)
    }

    @Test("erasure: the name is gone from every read and report, the chain verifies, nothing personal is recorded again")
    func erasure() async throws {
        let chain = try await TestChain.make()
        let admin = try await chain.session(.admin)
        _ = try await admin.erase(client: "42", reason: "erasure request ER-1")
        #expect(try await admin.history(client: "42").sections[0].title.contains("(personal data erased)"))
        #expect(try await admin.readStream("client-42").events[0].personal == .erased)
        #expect(try await admin.verify().isIntact)
        let again = await serviceError({ _ = try await admin.erase(client: "42", reason: "again") })
        #expect(again?.kind == .badInput)
        #expect(again?.message.contains("was erased already") == true)
        let notes = #"{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"clinicId":"toronto","consultantId":"17","consultedAt":"2026-03-04T10:00:00Z","hairLossType":"HAIR_LOSS_TYPE_ANDROGENETIC","norwoodStage":"IV","fitzpatrickType":3,"estimatedSessions":3,"personal":{"notes":"new notes"}}}"#
        let refused = await serviceError({ try await chain.record(notes) })
        #expect(refused?.kind == .refused)
        #expect(refused?.message.contains("nothing personal can be recorded for them again") == true)
    }
}
