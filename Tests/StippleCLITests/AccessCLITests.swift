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
            for arguments in [
                ["tech", "register", "--technician", "17", "--name", "T. Seventeen", "--at", "2025-01-02T09:00"],
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

        func head() throws -> String { try cli.run(["verify"]).stdout }
    }

    @Test("no token, a malformed, wrong, disabled or rotated token: exit 5 with the reason, nothing done")
    func tokens() throws {
        var chain = try Chain()
        let before = try chain.head()
        let consent = ["client", "consent", "--client", "42", "--form", "v4", "--at", "2026-02-21T10:00"]
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
        let own = try chain.run(as: "dr-lee", ["client", "consent", "--client", "42", "--form", "v4", "--at", "2026-02-21T10:00"])
        #expect(own.status == 0, "\(own.stderr)")
        let other = try chain.run(as: "dr-lee", ["client", "consent", "--client", "43", "--form", "v4", "--at", "2026-02-21T10:00"])
        #expect(other.status == 5)
        #expect(other.stderr.contains("refused: dr-lee (clinician) may not record clinical events for clinic brampton; nothing was done"), "\(other.stderr)")
        #expect(try chain.cli.run(["read", "client-43"]).lines.count == 1)
        // Through `do`, a line claiming another actor is recorded as dr-lee's.
        let line = #"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formVersion":"v5","coversProcedure":true},"metadata":{"actor":"someone-else"}}"#
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
        #expect(otherHistory.stderr.contains("may not read clinical records for clinic brampton"))
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
        let consent = try chain.run(as: "desk-1", ["client", "consent", "--client", "42", "--form", "v4", "--at", "2026-02-21T10:00"])
        #expect(consent.status == 5)
        #expect(consent.stderr.contains("desk-1 (reception) may not record clinical events for clinic toronto"))
        #expect(try chain.run(as: "desk-1", ["history", "42"]).stderr.contains("may not read clinical records"))
        #expect(try chain.run(as: "desk-1", ["read", "client-42"]).status == 5)
        #expect(try chain.run(as: "audit-1", ["history", "43"]).status == 0)
        #expect(try chain.run(as: "audit-1", ["report", "audit"]).status == 0)
        let record = try chain.run(as: "audit-1", ["client", "consent", "--client", "42", "--form", "v4", "--at", "2026-02-21T10:00"])
        #expect(record.status == 5)
        #expect(record.stderr.contains("audit-1 (auditor) may not record clinical events"))
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
        ]
        for (arguments, message) in cases {
            let run = try chain.cli.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        let list = try chain.cli.run(["user", "list", "--json"])
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
