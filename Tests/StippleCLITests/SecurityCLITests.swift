import Foundation
import Reports
@testable import StippleCLI
import StippleTesting
import Testing

/// The file-handling and output findings of the December security review, through the
/// command line (the policy findings are tested in-process, in `SecurityReviewTests`).
@Suite("Security review, December 2026: files and output")
struct SecurityCLITests {
    func head(_ cli: CLI) throws -> String {
        let verified = try cli.json(try cli.run(["verify", "--json"]).stdout)
        return "\(verified["headPosition"] as? Int ?? -1) \(verified["headHash"] as? String ?? "")"
    }

    @Test("9: init --token-file to a path that cannot take it creates nothing; a later init can still add the admin")
    func tokenFileFirst() throws {
        let cli = try CLI()
        try "x\n".write(toFile: cli.folder + "/tok.txt", atomically: true, encoding: .utf8)
        for path in [cli.folder + "/tok.txt", cli.folder + "/no-such-folder/t"] {
            let run = try cli.run(["init", "--token-file", path])
            #expect(run.status == 2, "\(run.stderr)")
            #expect(run.stderr.contains("nothing was done"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.database), "no log was created")
            #expect(!FileManager.default.fileExists(atPath: cli.folder + "/stipple.key"), "no key was created")
        }
        #expect(try String(contentsOfFile: cli.folder + "/tok.txt", encoding: .utf8) == "x\n", "the file is left as it was")
        let good = try cli.run(["init", "--token-file", cli.folder + "/admin.token"])
        #expect(good.status == 0, "\(good.stderr)")
        let token = try String(contentsOfFile: cli.folder + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try cli.run(["verify"], environment: ["STIPPLE_TOKEN": token]).status == 0)
    }

    @Test("12: backup never removes files it did not make, and never replaces one")
    func backupKeepsOthersFiles() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let destination = cli.folder + "/important"
        for suffix in [".partial", ".partial-wal", ".partial-shm"] {
            try "precious\n".write(toFile: destination + suffix, atomically: true, encoding: .utf8)
        }
        let run = try cli.run(["backup", destination])
        #expect(run.status == 0, "\(run.stderr)")
        for suffix in [".partial", ".partial-wal", ".partial-shm"] {
            #expect(try String(contentsOfFile: destination + suffix, encoding: .utf8) == "precious\n", "\(suffix) was touched")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cli.folder).filter { $0.hasPrefix("important.partial-") && !$0.hasSuffix("wal") && !$0.hasSuffix("shm") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(try cli.run(["backup", destination]).status != 0, "an existing file is never replaced")
        // A -wal beside the destination would be read as part of the copy (N5 of the re-test).
        try "planted\n".write(toFile: cli.folder + "/fresh-wal", atomically: true, encoding: .utf8)
        let planted = try cli.run(["backup", cli.folder + "/fresh"])
        #expect(planted.status == 2)
        #expect(planted.stderr.contains("fresh-wal exists: SQLite would read it as part of the backup"), "\(planted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.folder + "/fresh"))
    }

    @Test("13: export --output onto an existing file is refused before the access is logged, and says what it refused")
    func exportOutputFirst() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.run(["client", "register", "--client", "42", "--clinic", "toronto", "--name", "A. Client", "--at", "2026-02-20T10:00"])
        try "{}\n".write(toFile: cli.folder + "/existing.json", atomically: true, encoding: .utf8)
        let before = try head(cli)
        let run = try cli.run(["client", "export", "42", "--output", cli.folder + "/existing.json"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("a subject-access export is never written over an existing file"), "\(run.stderr)")
        #expect(!run.stderr.contains("token"))
        #expect(try head(cli) == before, "no access was logged")
        #expect(try cli.run(["client", "export", "42", "--output", cli.folder + "/new.json"]).status == 0)
    }

    @Test("16: a key file that is a link is refused; init never makes a key for a log whose keys were made with another")
    func keyFileHygiene() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.run(["client", "register", "--client", "42", "--clinic", "toronto", "--name", "A. Client", "--at", "2026-02-20T10:00"])
        // A planted link to a key someone else holds.
        let planted = cli.folder + "/planted.key"
        try FileManager.default.copyItem(atPath: cli.folder + "/stipple.key", toPath: cli.folder + "/attacker.key")
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: cli.folder + "/attacker.key")
        let linked = try cli.run(["read", "client-42"], environment: ["STIPPLE_MASTER_KEY_FILE": planted])
        #expect(linked.status == 1, "\(linked.stderr)")
        #expect(linked.stderr.contains("is a symbolic link or not a plain file"), "\(linked.stderr)")
        let other = try CLI()
        let planted2 = other.folder + "/stipple.key"
        try FileManager.default.createSymbolicLink(atPath: planted2, withDestinationPath: cli.folder + "/attacker.key")
        let adopted = try other.run(["init"])
        #expect(adopted.status != 0, "init refuses to adopt a linked key file: \(adopted.stdout)")
        #expect(!FileManager.default.fileExists(atPath: other.database), "a refused init leaves no log behind")
        // A wrong key path on an existing log: refused, and no stray key is made.
        let stray = cli.folder + "/stray.key"
        let wrong = try cli.run(["init"], environment: ["STIPPLE_MASTER_KEY_FILE": stray])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("this log's client keys were made with one"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stray))
    }

    @Test("17: personal data can come from standard input as JSON, so it shows in no process list")
    func personalFromStandardInput() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let run = try cli.run(["client", "register", "--client", "42", "--clinic", "toronto", "--personal", "-", "--at", "2026-02-20T10:00"],
                              input: #"{"name":"Stdin Person","phone":"+1-416-555-0199"}"#)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try cli.run(["history", "42"]).stdout.contains("Stdin Person"))
        let both = try cli.run(["client", "register", "--client", "43", "--clinic", "toronto", "--name", "X", "--personal", "-", "--at", "2026-02-20T10:00"], input: "{}")
        #expect(both.status == 2)
        #expect(both.stderr.contains("not both"))
        let neither = try cli.run(["client", "register", "--client", "43", "--clinic", "toronto", "--at", "2026-02-20T10:00"])
        #expect(neither.status == 2)
        let help = try cli.run(["client", "register", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("shows in neither the process list nor the shell history"), "\(help)")
    }

    @Test("11: text reports show control characters escaped; CSV keeps formulas as text")
    func outputInjection() throws {
        let cli = try CLI()
        try cli.run(["init"])
        // Control characters cannot be recorded any more; a formula-like phone can.
        let evil = try cli.run(["client", "register", "--client", "70", "--clinic", "toronto", "--name", "Evil\u{1B}[2K\rInnocent", "--at", "2026-02-20T10:00"])
        #expect(evil.status == 2)
        #expect(evil.stderr.contains("holds a control character (U+001B)"), "\(evil.stderr)")
        // Rendering guards what older logs may hold: controls escaped, formulas kept as text.
        #expect(printable("Evil\u{1B}[2K\rInnocent\n99  FORGED ROW") == "Evil\\u{1b}[2K\\u{d}Innocent\\u{a}99  FORGED ROW")
        #expect(printable("Zoë Ångström") == "Zoë Ångström")
        #expect(ReportValue.text("=HYPERLINK(\"http://x\")").csvField == "\"'=HYPERLINK(\"\"http://x\"\")\"")
        for formula in ["+1", "-1+2", "@SUM(A1)", "\tx"] { #expect(ReportValue.text(formula).csvField.contains("'" + formula.prefix(1)), "\(formula)") }
        #expect(ReportValue.int(-5).csvField == "-5", "numbers are not formulas")
    }
}
