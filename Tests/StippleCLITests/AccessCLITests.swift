import Foundation
import Testing

/// Users, roles and tokens through the command line (issue 5, part 1).
@Suite("stipple users, roles and tokens")
struct AccessCLITests {
    /// A chain with clients 42 (toronto) and 43 (brampton), a certified technician, lots,
    /// and users: a toronto clinician, a toronto receptionist and an auditor.
    struct Chain {
        let cli: CLI
        var tokens: [String: String] = [:]

        init() throws {
            cli = try CLI()
            try cli.run(["init"])
            try cli.publishForm()
            for arguments in [
                ["tech", "register", "--technician", "17", "--name", "T. Seventeen", "--at", "2025-01-02T09:00Z"],
                ["tech", "certify", "--technician", "17", "--certification", "C-1", "--level", "certified", "--issued", "2025-01-10", "--expires", "2027-01-10"],
                ["tech", "bbp", "--technician", "17", "--completed", "2025-09-01"],
                ["client", "register", "--client", "42", "--clinic", "toronto", "--name", "A. Client", "--at", "2026-02-20T10:00"],
                ["client", "register", "--client", "43", "--clinic", "brampton", "--name", "B. Client", "--at", "2026-02-20T10:00"],
            ] {
                let run = try cli.run(arguments)
                try #require(run.status == 0, "\(arguments): \(run.stderr)")
            }
            for (name, role, clinic) in [("dr-lee", "clinician", "toronto"), ("desk-1", "reception", "toronto"), ("audit-1", "auditor", nil)] {
                let run = try cli.run(["user", "add", name, "--role", role] + (clinic.map { ["--clinic", $0] } ?? []))
                try #require(run.status == 0, "\(run.stderr)")
                tokens[name] = try #require(run.lines.first { $0.hasPrefix("stp_") })
            }
        }

        func run(as user: String, _ arguments: [String]) throws -> CLI.Run {
            try cli.run(arguments, environment: ["STIPPLE_TOKEN": tokens[user] ?? user])
        }

        /// The log's head position and hash.
        func head() throws -> String { try cli.head() }
    }

    @Test("no token, a malformed, wrong, disabled or rotated token: exit 5 with the reason, nothing done")
    func tokens() throws {
        var chain = try Chain()
        let before = try chain.head()
        let consent = ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-21T10:00"]
        let cases: [(String, String)] = [
            ("", "no access token: set STIPPLE_TOKEN"),
            ("hunter2", "that is not a Stipple access token"),
            ("stp_" + String(repeating: "A", count: 43), "that access token is not valid"),
        ]
        for (token, message) in cases {
            let run = try chain.cli.run(consent, environment: ["STIPPLE_TOKEN": token])
            #expect(run.status == 5, "\(token): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
        #expect(try chain.head() == before, "refused commands write nothing")
        let old = chain.tokens["dr-lee"]!
        let rotated = try chain.cli.run(["user", "rotate-token", "dr-lee"])
        #expect(rotated.status == 0)
        chain.tokens["dr-lee"] = try #require(rotated.lines.first { $0.hasPrefix("stp_") })
        #expect(try chain.cli.run(consent, environment: ["STIPPLE_TOKEN": old]).stderr.contains("that access token is not valid"))
        #expect(try chain.run(as: "dr-lee", consent).status == 0)
        #expect(try chain.cli.run(["user", "disable", "dr-lee"]).status == 0)
        let disabled = try chain.run(as: "dr-lee", consent)
        #expect(disabled.status == 5)
        #expect(disabled.stderr.contains("user dr-lee is disabled"))
        // One consent was recorded (by dr-lee before being disabled), nothing else.
        #expect(try chain.head() != before)
        #expect(try chain.cli.run(["read", "client-42"]).lines.count == 2)
    }

    @Test("a clinician records and reads for their clinic only; the actor is the token's user, whatever the input says")
    func clinicianScope() throws {
        let chain = try Chain()
        let own = try chain.run(as: "dr-lee", ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-21T10:00"])
        #expect(own.status == 0, "\(own.stderr)")
        let other = try chain.run(as: "dr-lee", ["client", "consent", "--client", "43", "--form", "smp-consent", "--at", "2026-02-21T10:00"])
        #expect(other.status == 5)
        // Refused before the rules run, naming no clinic (nothing about the client is revealed).
        #expect(other.stderr.contains("refused: dr-lee (clinician) may not record"), "\(other.stderr)")
        #expect(!other.stderr.contains("brampton"))
        // Naming their own clinic on another clinic's client grants nothing.
        let session = try chain.run(as: "dr-lee", [
            "client", "book", "--client", "43", "--booking", "B9", "--clinic", "toronto", "--technician", "17",
            "--start", "2026-03-02T10:00", "--minutes", "180", "--number", "1",
        ])
        #expect(session.status == 5, "\(session.stderr)")
        let viaDo = try chain.cli.run(["do"], input: #"{"command":"record","stream":"client-43","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","coversProcedure":true,"clinicId":"toronto"}}"#,
                                      environment: ["STIPPLE_TOKEN": chain.tokens["dr-lee"]!])
        #expect(viaDo.status == 5, "\(viaDo.stderr)")
        #expect(try chain.cli.run(["read", "client-43"]).lines.count == 1)
        // Through `do`, a line claiming another actor is recorded as dr-lee's.
        let line = #"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","coversProcedure":true},"metadata":{"actor":"someone-else"}}"#
        // Free metadata keys would be text outside the sealing: refused.
        let free = try chain.cli.run(["do"], input: line.replacingOccurrences(of: #""actor":"someone-else""#, with: #""note":"called her on Monday""#))
        #expect(free.status == 2)
        #expect(free.stderr.contains(#"key "note" is not known"#), "\(free.stderr)")
        let done = try chain.cli.run(["do"], input: line, environment: ["STIPPLE_TOKEN": chain.tokens["dr-lee"]!])
        #expect(done.status == 0, "\(done.stderr)")
        let stored = try chain.cli.json(try chain.cli.run(["read", "client-42"]).lines.last!)
        let metadata = try #require(stored["metadata"] as? [String: Any])
        #expect(metadata["actor"] as? String == "dr-lee")
        #expect(metadata["role"] as? String == "clinician")
        // Reading: their clinic's client, not the other's; no chain-wide report.
        #expect(try chain.run(as: "dr-lee", ["history", "42"]).status == 0)
        let otherHistory = try chain.run(as: "dr-lee", ["history", "43"])
        #expect(otherHistory.status == 5)
        #expect(otherHistory.stderr.contains("may not read clinical records"))
        // A client that does not exist is refused the same way: nothing is revealed.
        let nobody = try chain.run(as: "dr-lee", ["history", "no-such-client"])
        #expect(nobody.status == 5)
        #expect(!nobody.stderr.contains("no client"))
        #expect(try chain.run(as: "dr-lee", ["report", "audit"]).status == 5)
        #expect(try chain.run(as: "dr-lee", ["tech", "bbp", "--technician", "17", "--completed", "2026-01-01"]).status == 5)
    }

    @Test("reception books and registers for its clinic and sees no clinical detail; an auditor reads everything and records nothing")
    func receptionAndAuditor() throws {
        let chain = try Chain()
        let booked = try chain.run(as: "desk-1", [
            "client", "book", "--client", "42", "--booking", "B1", "--clinic", "toronto", "--technician", "17",
            "--start", "2026-03-02T10:00", "--minutes", "180", "--number", "1",
        ])
        #expect(booked.status == 0, "\(booked.stderr)")
        let consent = try chain.run(as: "desk-1", ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-21T10:00"])
        #expect(consent.status == 5)
        // Refused before the rules, naming no clinic (finding 3 of the December review: a
        // named clinic told reception that the client exists there).
        #expect(consent.stderr.contains("refused: desk-1 (reception) may not record clinical events; nothing was done"), "\(consent.stderr)")
        #expect(try chain.run(as: "desk-1", ["history", "42"]).stderr.contains("may not read clinical records"))
        #expect(try chain.run(as: "desk-1", ["read", "client-42"]).status == 5)
        #expect(try chain.run(as: "audit-1", ["history", "43"]).status == 0)
        #expect(try chain.run(as: "audit-1", ["report", "audit"]).status == 0)
        let record = try chain.run(as: "audit-1", ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-21T10:00"])
        #expect(record.status == 5)
        #expect(record.stderr.contains("audit-1 (auditor) may not record"))
        #expect(try chain.run(as: "audit-1", ["user", "list"]).stderr.contains("may not manage users"))
        #expect(try chain.run(as: "audit-1", ["rebuild", "--all"]).stderr.contains("may not rebuild reports"))
        #expect(try chain.run(as: "audit-1", ["backup", chain.cli.folder + "/copy.sqlite"]).status == 5)
        #expect(!FileManager.default.fileExists(atPath: chain.cli.folder + "/copy.sqlite"))
    }

    @Test("user management: roles and clinics checked, the last admin kept, tokens shown once, list without tokens")
    func userManagement() throws {
        let chain = try Chain()
        let cases: [([String], String)] = [
            (["user", "add", "x", "--role", "clinician"], "a clinician works for named clinics: give at least one --clinic"),
            (["user", "add", "x", "--role", "auditor", "--clinic", "toronto"], "an auditor works for the whole chain: give no --clinic"),
            (["user", "add", "x", "--role", "boss"], "--role must be one of admin, auditor, clinician, reception"),
            (["user", "add", "dr-lee", "--role", "auditor"], "there is a user dr-lee already"),
            (["user", "add", "bad name", "--role", "auditor"], "cannot be a user name"),
            (["user", "disable", "nobody"], "there is no user nobody"),
            (["user", "disable", "admin"], "admin is the last enabled admin"),
            (["user", "change", "admin", "--role", "auditor"], "admin is the last enabled admin"),
            (["user", "change", "dr-lee", "--role", "clinician", "--clinic", "toronto"], "dr-lee has that role and those clinics already"),
            (["user", "change", "dr-lee", "--role", "chief"], "--role must be one of admin, auditor, clinician, reception"),
        ]
        for (arguments, message) in cases {
            let run = try chain.cli.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        let changed = try chain.cli.run(["user", "change", "desk-1", "--role", "clinician", "--clinic", "brampton"])
        #expect(changed.status == 0 && changed.stdout.contains("desk-1 is now clinician at brampton"), "\(changed.stderr)")
        let list = try chain.cli.run(["user", "list", "--json"])
        #expect(list.stdout.contains(#""clinics":"brampton""#), "\(list.stdout)")
        #expect(list.status == 0)
        #expect(list.stdout.contains(#""name":"dr-lee""#) && list.stdout.contains(#""clinics":"toronto""#))
        #expect(!list.stdout.contains("stp_"))
        // The database holds token hashes only.
        let raw = try Data(contentsOf: URL(fileURLWithPath: chain.cli.database)) + ((try? Data(contentsOf: URL(fileURLWithPath: chain.cli.database + "-wal"))) ?? Data())
        for token in chain.tokens.values { #expect(raw.range(of: Data(token.utf8)) == nil) }
        // init on a log with users changes nothing; --token-file writes a file only its owner reads.
        #expect(try chain.cli.run(["init"]).stdout.contains("with users; nothing to do"))
        let other = try CLI()
        let created = try other.run(["init", "--token-file", other.folder + "/admin.token"])
        #expect(created.status == 0, "\(created.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: other.folder + "/admin.token")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let token = try String(contentsOfFile: other.folder + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try other.run(["verify"], environment: ["STIPPLE_TOKEN": token]).status == 0)
    }
}

@Suite("stipple access log, confidential clients and pseudonyms")
struct AccessLogCLITests {
    @Test("every read of a record is logged with who, role, why; report access lists them")
    func accessLog() throws {
        let chain = try AccessCLITests.Chain()
        #expect(try chain.run(as: "dr-lee", ["history", "42", "--reason", "session planning"]).status == 0)
        #expect(try chain.run(as: "audit-1", ["read", "client-42"]).status == 0)
        let log = try chain.cli.run(["report", "access", "42", "--json"])
        #expect(log.status == 0, "\(log.stderr)")
        let rows = try #require((try chain.cli.json(log.stdout)["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]])
        #expect(rows.map { $0["actor"] as? String } == ["dr-lee", "audit-1"])
        #expect(rows.map { $0["role"] as? String } == ["clinician", "auditor"])
        #expect(rows.map { $0["purpose"] as? String } == ["session planning", ""])
        #expect(rows.map { $0["command"] as? String } == ["history", "read"])
        // Only admins and auditors read the access log; a refused read is not logged as a read.
        #expect(try chain.run(as: "dr-lee", ["report", "access", "42"]).stderr.contains("may not read the access log"))
        #expect(try chain.run(as: "desk-1", ["history", "42"]).status == 5)
        let after = try chain.cli.run(["report", "access", "42", "--json"])
        #expect(((try chain.cli.json(after.stdout)["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]])?.count == 2, "a refused read is not a read")
        #expect(try chain.cli.run(["report", "access", "nobody"]).status == 2)
    }

    @Test("a confidential record needs a purpose, and is refused, revealing nothing, to a clinician who never treated the client")
    func confidential() throws {
        let chain = try AccessCLITests.Chain()
        #expect(try chain.cli.run(["user", "add", "dr-kim", "--role", "clinician", "--clinic", "toronto"]).status == 0)
        // dr-lee consults client 42 (so has "consulted or treated" them); then 42 becomes confidential.
        let consult = try chain.run(as: "dr-lee", [
            "client", "consult", "--client", "42", "--clinic", "toronto", "--consultant", "17", "--at", "2026-02-21T10:00",
            "--hair-loss", "androgenetic", "--norwood", "IV", "--fitzpatrick", "3", "--sessions", "3",
        ])
        #expect(consult.status == 0, "\(consult.stderr)")
        #expect(try chain.cli.run(["client", "confidential", "--client", "42", "--reason", "public figure"]).status == 0)
        let noReason = try chain.run(as: "dr-lee", ["history", "42"])
        #expect(noReason.status == 5)
        #expect(noReason.stderr.contains("client 42 is confidential: say why you look with --reason"))
        #expect(try chain.run(as: "dr-lee", ["history", "42", "--reason", "follow-up"]).status == 0)
        #expect(try chain.run(as: "audit-1", ["history", "42", "--reason", "yearly audit"]).status == 0)
        // dr-kim works at the same clinic but never treated 42: the refusal is the one a
        // client that does not exist gets.
        let refused = try chain.run(as: "dr-kim", ["history", "42", "--reason", "curious"])
        let missing = try chain.run(as: "dr-kim", ["history", "4242", "--reason", "curious"])
        #expect(refused.status == 5 && missing.status == 5)
        #expect(refused.stderr == missing.stderr, "\(refused.stderr) / \(missing.stderr)")
        #expect(!refused.stderr.contains("confidential") && !refused.stderr.contains("42"))
        // Only an admin lifts the mark.
        let lift = try chain.run(as: "dr-lee", ["client", "confidential", "--client", "42", "--lift", "--reason", "x"])
        #expect(lift.status == 5)
        #expect(lift.stderr.contains("may not mark clients confidential or erase their data"))
        // dr-kim cannot join the care team by recording a consultation of the confidential client.
        let join = try chain.run(as: "dr-kim", [
            "client", "consult", "--client", "42", "--clinic", "toronto", "--consultant", "17", "--at", "2026-02-22T10:00",
            "--hair-loss", "androgenetic", "--norwood", "IV", "--fitzpatrick", "3", "--sessions", "3",
        ])
        #expect(join.status == 5)
        #expect(try chain.run(as: "dr-kim", ["history", "42", "--reason", "curious"]).status == 5)
        // Reception, and a clinician of another clinic, get the unknown client's refusal too.
        #expect(try chain.cli.run(["user", "add", "dr-bram", "--role", "clinician", "--clinic", "brampton"]).lines.first { $0.hasPrefix("stp_") } != nil)
        // Reading the whole log needs a purpose once confidential clients exist.
        #expect(try chain.cli.run(["read", "--all"]).stderr.contains("the log holds confidential clients"))
        #expect(try chain.cli.run(["read", "--all", "--reason", "export to the regulator"]).status == 0)
    }

    @Test("reports that need no names show clients by a stable pseudonym; names go to admins only")
    func pseudonyms() throws {
        let chain = try AccessCLITests.Chain()
        for arguments in [
            ["batch", "receive", "--lot", "PB-1187", "--kind", "pigment", "--manufacturer", "Perma Blend", "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-05T09:00"],
            ["batch", "receive", "--lot", "NC-0412", "--kind", "cartridge", "--manufacturer", "Kwadron", "--configuration", "3RL", "--diameter", "0.25", "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-05T09:00"],
            ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-20T10:30"],
            ["client", "session", "--client", "42", "--number", "1", "--clinic", "toronto", "--technician", "17",
             "--start", "2026-03-02T10:00", "--end", "2026-03-02T13:00", "--area", "hairline",
             "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25", "--depth", "0.9"],
            ["tech", "suspend", "--technician", "17", "--certification", "C-1", "--from", "2026-03-01", "--reason", "review"],
        ] {
            let run = try chain.cli.run(arguments)
            try #require(run.status == 0, "\(arguments): \(run.stderr)")
        }
        let audit = try chain.run(as: "audit-1", ["report", "audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let rows = try #require((try chain.cli.json(audit.stdout)["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]])
        let clients = Set(rows.compactMap { $0["client"] as? String })
        #expect(clients.count == 1)
        let pseudonym = try #require(clients.first)
        #expect(pseudonym.wholeMatch(of: /C-[0-9A-Z]{5}-[0-9A-Z]{5}/) != nil, "\(pseudonym)")
        #expect(try chain.cli.run(["report", "audit"]).stdout.contains(pseudonym), "stable: the same for every reader")
        // The records-law report: the name for admins, the pseudonym for an auditor.
        let admin = try chain.cli.run(["report", "records", "--from", "2026-03-01", "--to", "2026-03-31"])
        #expect(admin.stdout.contains("A. Client"))
        let auditor = try chain.run(as: "audit-1", ["report", "records", "--from", "2026-03-01", "--to", "2026-03-31"])
        #expect(!auditor.stdout.contains("A. Client"))
        #expect(auditor.stdout.contains(pseudonym))
    }
}
