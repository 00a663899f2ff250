import Foundation
import Testing

/// Personal data sealed per client, and erased, through the command line (issue 5).
@Suite("stipple sealing and erasure")
struct SealingCLITests {
    /// The database file and its WAL, as bytes.
    func rawBytes(_ cli: CLI) -> Data {
        var data = Data()
        for suffix in ["", "-wal"] {
            if let bytes = FileManager.default.contents(atPath: cli.database + suffix) { data += bytes }
        }
        return data
    }

    @Test("a client's name is never in the file or its WAL in clear, before or after erasure; after erasure no command prints it")
    func nameNeverInClear() throws {
        let cli = try CLI()
        #expect(try cli.run(["init"]).stdout.contains("Created the master key ./stipple.key"))
        try cli.publishForm()
        let name = "Zebulon Quixotebright-" + String(UUID().uuidString.prefix(8))
        let phone = "+1-416-555-" + String(Int.random(in: 1000...9999))
        for arguments in [
            ["tech", "register", "--technician", "17", "--name", "T. Seventeen", "--at", "2025-01-02T09:00Z"],
            ["tech", "certify", "--technician", "17", "--certification", "C-1", "--level", "certified", "--issued", "2025-01-10", "--expires", "2027-01-10"],
            ["tech", "bbp", "--technician", "17", "--completed", "2025-09-01"],
            ["batch", "receive", "--lot", "PB-1187", "--kind", "pigment", "--manufacturer", "Perma Blend", "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-05T09:00"],
            ["batch", "receive", "--lot", "NC-0412", "--kind", "cartridge", "--manufacturer", "Kwadron", "--configuration", "3RL", "--diameter", "0.25", "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-05T09:00"],
            ["client", "register", "--client", "42", "--clinic", "toronto", "--name", name, "--phone", phone, "--at", "2026-02-20T10:00"],
            ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-20T10:30"],
            ["client", "session", "--client", "42", "--number", "1", "--clinic", "toronto", "--technician", "17",
             "--start", "2026-03-02T10:00", "--end", "2026-03-02T13:00", "--area", "hairline",
             "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25", "--depth", "0.9"],
        ] {
            let run = try cli.run(arguments)
            try #require(run.status == 0, "\(arguments): \(run.stderr)")
        }
        _ = try cli.run(["report", "records", "--from", "2026-03-01", "--to", "2026-03-31"])
        // The check can find text: a technician's name (not sealed) is in the file.
        _ = try cli.run(["verify"])
        #expect(rawBytes(cli).range(of: Data("T. Seventeen".utf8)) != nil, "positive control")
        #expect(rawBytes(cli).range(of: Data(name.utf8)) == nil, "the name is sealed in the log and kept by no projection")
        #expect(rawBytes(cli).range(of: Data(phone.utf8)) == nil)
        // Shown to those who may read it, opened with the client's key.
        #expect(try cli.run(["read", "client-42"]).stdout.contains(name))
        #expect(try cli.run(["history", "42"]).stdout.contains("History of client 42 (\(name))"))
        #expect(try cli.run(["report", "records", "--from", "2026-03-01", "--to", "2026-03-31"]).stdout.contains(name))
        #expect(try cli.run(["report", "lot", "PB-1187"]).stdout.contains(phone) == false, "not recalled: no contact list")

        let erased = try cli.run(["client", "erase", "42", "--reason", "erasure request ER-2026-17"])
        #expect(erased.status == 0, "\(erased.stderr)")
        #expect(rawBytes(cli).range(of: Data(name.utf8)) == nil)
        for arguments in [
            ["read", "client-42"], ["read", "--all"], ["history", "42"], ["history", "42", "--json"],
            ["report", "records", "--from", "2026-03-01", "--to", "2026-03-31"], ["report", "due", "--on", "2026-05-01"],
            ["report", "audit"], ["report", "lot", "PB-1187"],
        ] {
            let run = try cli.run(arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            #expect(!run.stdout.contains(name) && !run.stderr.contains(name), "\(arguments) printed the name")
            #expect(!run.stdout.contains(phone), "\(arguments) printed the phone")
        }
        #expect(try cli.run(["history", "42"]).stdout.contains("personal data erased (erasure request ER-2026-17)"))
        #expect(try cli.run(["read", "client-42"]).stdout.contains(#""personalErased":true"#))
        #expect(try cli.run(["report", "records", "--from", "2026-03-01", "--to", "2026-03-31"]).stdout.contains("[erased]"))
        // The chain still verifies; the clinical facts remain.
        #expect(try cli.run(["verify"]).status == 0)
        #expect(try cli.run(["read", "client-42"]).stdout.contains(#""sessionNumber":1"#))
        // Erasing again, or erasing a client the log does not hold: exit 2, nothing written.
        let again = try cli.run(["client", "erase", "42", "--reason", "again"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("was erased already"))
        let unknown = try cli.run(["client", "erase", "99", "--reason", "x"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("there is no client 99"))
        // Nothing personal can be recorded for an erased client again.
        let more = try cli.run(["client", "consult", "--client", "42", "--clinic", "toronto", "--consultant", "17", "--at", "2026-04-01T10:00",
                                "--hair-loss", "androgenetic", "--norwood", "IV", "--fitzpatrick", "3", "--sessions", "3", "--notes", "new notes"])
        #expect(more.status == 4, "\(more.stderr)")
        #expect(more.stderr.contains("client 42's personal data was erased: nothing personal can be recorded for them again"), "\(more.stderr)")
    }

    @Test("a key file others may read is refused by every command; a wrong key file is recognised; no key file: read shows data sealed")
    func keyFile() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["client", "register", "--client", "7", "--clinic", "toronto", "--name", "Q. Person", "--at", "2026-02-20T10:00"]).status == 0)
        // The database, and a backup, are readable by their owner only.
        #expect((try FileManager.default.attributesOfItem(atPath: cli.database)[.posixPermissions] as? Int) == 0o600)
        #expect(try cli.run(["backup", cli.folder + "/copy.sqlite"]).status == 0)
        #expect((try FileManager.default.attributesOfItem(atPath: cli.folder + "/copy.sqlite")[.posixPermissions] as? Int) == 0o600)
        let keyPath = cli.folder + "/stipple.key"
        chmod(keyPath, 0o644)
        for arguments in [["verify"], ["read", "client-7"], ["history", "7"]] {
            let run = try cli.run(arguments)
            #expect(run.status == 1, "\(arguments)")
            #expect(run.stderr.contains("can be read by others (mode 644)"), "\(run.stderr)")
        }
        chmod(keyPath, 0o600)
        // Another key file: refused before any use.
        let other = try CLI()
        try other.run(["init"])
        let wrong = try cli.run(["read", "client-7"], environment: ["STIPPLE_MASTER_KEY_FILE": other.folder + "/stipple.key"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("is not the one this log's client keys were made with"))
        // No key file at all: reads still work, personal data stays sealed.
        let none = try cli.run(["read", "client-7"], environment: ["STIPPLE_MASTER_KEY_FILE": cli.folder + "/missing.key"])
        #expect(none.status == 0)
        #expect(!none.stdout.contains("Q. Person"))
        #expect(none.stderr.contains("personal data is shown sealed"))
    }

    @Test("subject access: an admin exports a client's whole record decrypted, the export is logged; others are refused")
    func export() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["client", "register", "--client", "7", "--clinic", "toronto", "--name", "Q. Person", "--phone", "+1-416-555-0107", "--at", "2026-02-20T10:00"]).status == 0)
        try cli.publishForm()
        #expect(try cli.run(["client", "consent", "--client", "7", "--form", "smp-consent", "--at", "2026-02-20T10:30"]).status == 0)
        let exported = try cli.run(["client", "export", "7", "--output", cli.folder + "/client-7.json"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: cli.folder + "/client-7.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let document = try cli.json(try String(contentsOfFile: cli.folder + "/client-7.json", encoding: .utf8))
        let events = try #require(document["events"] as? [[String: Any]])
        #expect(events.map { $0["type"] as? String } == ["ClientRegistered", "ConsentSigned"])
        #expect(((events[0]["data"] as? [String: Any])?["personal"] as? [String: Any])?["name"] as? String == "Q. Person")
        #expect((document["accessLog"] as? [[String: Any]])?.count == 1, "the export itself is logged before it is written")
        #expect(try cli.run(["report", "access", "7"]).stdout.contains("client export"))
        let user = try cli.run(["user", "add", "audit-1", "--role", "auditor"])
        let token = try #require(user.lines.first { $0.hasPrefix("stp_") })
        let refused = try cli.run(["client", "export", "7"], environment: ["STIPPLE_TOKEN": token])
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("may not export a client's whole record"))
        #expect(try cli.run(["client", "export", "99"]).status == 2)
    }

    @Test("rotate-master rewraps every client key; the old key file no longer opens the log")
    func rotateMaster() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["client", "register", "--client", "7", "--clinic", "toronto", "--name", "Q. Person", "--at", "2026-02-20T10:00"]).status == 0)
        let keyPath = cli.folder + "/stipple.key"
        let oldCopy = cli.folder + "/old.key"
        try FileManager.default.copyItem(atPath: keyPath, toPath: oldCopy)
        let rotated = try cli.run(["keys", "rotate-master"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("Rewrapped 1 client key"))
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) != (try String(contentsOfFile: oldCopy, encoding: .utf8)))
        #expect(try cli.run(["read", "client-7"]).stdout.contains("Q. Person"))
        let old = try cli.run(["read", "client-7"], environment: ["STIPPLE_MASTER_KEY_FILE": oldCopy])
        #expect(old.status == 1)
        #expect(old.stderr.contains("is not the one this log's client keys were made with"))
    }

    @Test("sealed bytes come from Stipple only; an old schema version with personal data is refused rather than stored in clear")
    func injectedSealed() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["client", "register", "--client", "7", "--clinic", "toronto", "--name", "S. Person", "--at", "2026-02-20T10:00"]).status == 0)
        let injected = try cli.run(["do"], input: #"{"command":"record","stream":"client-7","type":"ConsultationRecorded","data":{"clinicId":"toronto","estimatedSessions":3,"fitzpatrickType":3,"norwoodStage":"IV","sealedPersonal":"TmFtZQ=="}}"#)
        #expect(injected.status == 2, "\(injected.stderr)")
        #expect(injected.stderr.contains("sealedPersonal is set by Stipple, not by the caller"))
        let old = try cli.run(["append", "-"], input: #"{"stream":"client-7","type":"SessionRecorded","schemaVersion":1,"data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","personal":{"notes":"Secret Note Text"}}}"#)
        #expect(old.status == 2, "\(old.stderr)")
        #expect(old.stderr.contains("write it in the newest version"))
        #expect(try cli.run(["read", "client-7"]).lines.count == 1)
    }
}
