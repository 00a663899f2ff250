import Foundation
import Testing

@Suite("stipple reports from the command line")
struct ReportCLITests {
    static var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures") }

    /// A log with a demo chain of `clients` clients.
    func demo(clients: Int) throws -> CLI {
        let cli = try CLI()
        try cli.run(["init"])
        let demo = try cli.run(["demo", "--clients", String(clients), "--years", "2"])
        try #require(demo.status == 0, "\(demo.stderr)")
        return cli
    }

    /// The printouts that show a chain's reports, each as JSON, for comparing two files.
    func everyReport(_ cli: CLI, client: String, lot: String) throws -> [String: String] {
        var outputs: [String: String] = [:]
        let commands: [String: [String]] = [
            "history": ["history", client, "--json"],
            "workload": ["report", "workload", "--from", "2023-01-01", "--to", "2025-12-31", "--json"],
            "audit": ["report", "audit", "--json"],
            "lot": ["report", "lot", lot, "--json"],
            "due": ["report", "due", "--on", "2024-06-01", "--json"],
            "conversion": ["report", "conversion", "--from", "2023-01-01", "--to", "2025-12-31", "--json"],
            "records": ["report", "records", "--from", "2023-01-01", "--to", "2025-12-31", "--json"],
        ]
        for (name, arguments) in commands {
            let run = try cli.run(arguments)
            #expect(run.status == 0, "\(name): \(run.stderr)")
            outputs[name] = run.stdout
        }
        return outputs
    }

    func firstClient(_ cli: CLI) throws -> String {
        let line = try #require(try cli.run(["read", "--all", "--limit", "5000"]).lines.first { $0.contains(#""type":"ClientRegistered""#) })
        let stream = try #require(try cli.json(line)["stream"] as? String)
        return String(stream.dropFirst("client-".count))
    }

    @Test("every report prints as a table, as JSON and as CSV; history and the audit summary on a demo chain")
    func formats() throws {
        let cli = try demo(clients: 20)
        let client = try firstClient(cli)
        let table = try cli.run(["history", client])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.lines[0].hasPrefix("History of client \(client) (Demo Client "))
        #expect(table.lines[1].hasPrefix("position  recorded"))
        #expect(table.lines[1].contains(" date ") && table.lines[1].contains(" event "))
        #expect(table.stdout.contains("ClientRegistered"))
        let json = try cli.json(try cli.run(["history", client, "--json"]).stdout)
        let rows = try #require((json["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]])
        #expect(rows.first?["event"] as? String == "ClientRegistered")
        #expect(rows.first?["position"] is Int)
        let csv = try cli.run(["report", "audit", "--csv"])
        #expect(csv.lines.first == "date,client,procedure,clinic,technician,supervisor,rule,finding,position")
        let audit = try cli.run(["report", "audit"])
        #expect(audit.stdout.contains("procedures checked: 0 with findings (0 in all)"))
        #expect(try cli.run(["history", client, "--json", "--csv"]).status == 2)
    }

    @Test("bad input: unknown client, lot, report or projection, bad or reversed dates; each a message and exit 2, nothing written")
    func badInput() throws {
        let cli = try demo(clients: 5)
        try cli.run(["report", "audit"])
        let before = try dump(cli)
        let cases: [([String], String)] = [
            (["history", "nobody"], "no client \"nobody\" in this log"),
            (["report", "lot", "NO-SUCH-LOT"], "no lot \"NO-SUCH-LOT\" in this log"),
            (["report", "nonsense"], "Unexpected argument 'nonsense'"),
            (["report", "workload", "--from", "2024-02-30", "--to", "2024-03-01"], "--from must be a day such as 2026-03-14, not \"2024-02-30\""),
            (["report", "workload", "--from", "2024-03-08", "--to", "2024-03-01"], "The range is reversed: --to 2024-03-01 is before --from 2024-03-08."),
            (["report", "audit", "--from", "2024-03-08", "--to", "2024-03-01"], "The range is reversed"),
            (["report", "due", "--on", "tomorrow"], "--on must be a day such as 2026-03-14, not \"tomorrow\""),
            (["report", "workload", "--from", "2024-03-01", "--to", "2024-03-08", "--clinic", "ottawa"], "no clinic \"ottawa\" in this log"),
            (["history", "x", "--as-of", "2024-13-01"], "--as-of must be a day"),
            (["rebuild", "nope"], "no report or projection named \"nope\" (known: history, workload, audit, lots, due, conversion, records)"),
            (["rebuild"], "Name the projections to rebuild"),
            (["rebuild", "--all", "history"], "Name projections or pass --all, not both."),
        ]
        for (arguments, message) in cases {
            let run = try cli.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(arguments)")
        }
        // Nothing written: the projections were current, so no table changed.
        #expect(try dump(cli) == before)
    }

    /// Starts `arguments` (a rebuild) and kills it with SIGKILL once `reports status` shows it
    /// past event `after`; returns where it was (nil if it never got there).
    func killRebuild(_ cli: CLI, _ arguments: [String], after: Int) throws -> Int? {
        let prefix = "rebuilding (at event "
        let event = { (state: String) in state.hasPrefix(prefix) ? Int(state.dropFirst(prefix.count).dropLast()) : nil }
        return try killRebuild(cli, arguments) { (event($0) ?? 0) > after }.flatMap(event)
    }

    /// Starts `arguments` (a rebuild) and kills it with SIGKILL once a projection's state in
    /// `reports status` satisfies `seen`; returns that state (nil if none ever did).
    func killRebuild(_ cli: CLI, _ arguments: [String], when seen: (String) -> Bool) throws -> String? {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["STIPPLE_DB"] = cli.database
        environment["STIPPLE_TOKEN"] = cli.tokens.token
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var killedAt: String?
        for _ in 0..<400 {
            usleep(20_000)
            let status = try cli.run(["reports", "status", "--json"])
            let rows = (try? cli.json(status.stdout)["sections"] as? [[String: Any]])?.first?["rows"] as? [[String: Any]] ?? []
            if let state = rows.compactMap({ $0["state"] as? String }).first(where: seen) {
                killedAt = state
                break
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return killedAt
    }

    /// Every table's rows, as `sqlite3 .dump` prints them.
    func dump(_ cli: CLI) throws -> String {
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [cli.database, ".dump"]
        let out = Pipe()
        sqlite.standardOutput = out
        try sqlite.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        sqlite.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("a rebuild killed with SIGKILL resumes where it stopped and ends with the reports of an uninterrupted one")
    func killedRebuildResumes() throws {
        let cli = try demo(clients: 60)
        let client = try firstClient(cli)
        #expect(try cli.run(["reports", "status"]).status == 0)
        _ = try cli.run(["report", "audit"])  // builds the live reports
        // An uninterrupted copy, for comparison.
        let copy = cli.folder + "/copy.sqlite"
        #expect(try cli.run(["backup", copy]).status == 0)
        let killedAt = try killRebuild(cli, ["rebuild", "--all", "--chunk", "15", "--pause-ms", "8"], after: 300)
        try #require(killedAt != nil, "the rebuild never got going")
        let pending = try cli.run(["reports", "status"])
        #expect(pending.stdout.contains("rebuilding (at event"))
        // While the rebuild is unfinished, reports are served from the live tables.
        #expect(try cli.run(["history", client]).status == 0)
        let resumed = try cli.run(["rebuild", "--all"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed"))
        #expect(resumed.stderr.contains("events/s"))
        #expect(try cli.run(["rebuild", "--all", "--db", copy]).status == 0)
        let expected = try everyReport(withDatabase: copy, cli: cli, client: client)
        let actual = try everyReport(cli, client: client, lot: "PB-TOR-1")
        #expect(actual == expected)
        let finished = try cli.run(["reports", "status"])
        #expect(!finished.stdout.contains("rebuilding"))
    }

    @Test("a rebuild killed with SIGKILL while it fills the report indexes resumes and ends with the reports of an uninterrupted one")
    func rebuildKilledWhileIndexing() throws {
        let cli = try demo(clients: 60)
        let client = try firstClient(cli)
        _ = try cli.run(["report", "audit"])  // builds the live reports
        let copy = cli.folder + "/copy.sqlite"
        #expect(try cli.run(["backup", copy]).status == 0)
        // Two rows per transaction and a rest between: the index phase lasts long enough to be seen.
        let killedAt = try killRebuild(cli, ["rebuild", "--all", "--chunk", "2", "--pause-ms", "10"]) { $0.hasPrefix("rebuilding (indexing") }
        try #require(killedAt != nil, "the rebuild never reached its index phase")
        #expect(try cli.run(["reports", "status"]).stdout.contains("rebuilding (indexing at event"))
        // The reports are served from the live tables meanwhile.
        #expect(try cli.run(["report", "lot", "PB-TOR-1"]).status == 0)
        let resumed = try cli.run(["rebuild", "--all"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed"))
        #expect(try cli.run(["rebuild", "--all", "--db", copy]).status == 0)
        #expect(try everyReport(cli, client: client, lot: "PB-TOR-1") == everyReport(withDatabase: copy, cli: cli, client: client))
        #expect(try !cli.run(["reports", "status"]).stdout.contains("rebuilding"))
        let check = try cli.run(["reports", "status", "--check"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    func everyReport(withDatabase path: String, cli: CLI, client: String) throws -> [String: String] {
        var copy = cli
        copy.databaseOverride = path
        return try everyReport(copy, client: client, lot: "PB-TOR-1")
    }

    @Test("the schema-change story: version-1 events, rebuilt after an upgrade, report as the same facts written in version 2")
    func schemaChange() throws {
        let old = try CLI()
        try old.run(["init"])
        #expect(try old.run(["append", Self.fixtures.appendingPathComponent("sessions-v1.jsonl").path]).status == 0)
        let native = try CLI()
        // The same master key: the audit's pseudonyms are keyed by it.
        let sharedKey = ["STIPPLE_MASTER_KEY_FILE": old.folder + "/stipple.key"]
        try native.run(["init"], environment: sharedKey)
        #expect(try native.run(["append", Self.fixtures.appendingPathComponent("sessions-v2.jsonl").path], environment: sharedKey).status == 0)
        func reports(_ cli: CLI, environment: [String: String] = [:]) throws -> [String] {
            let commands: [[String]] = [
                ["history", "7", "--csv"],
                ["report", "workload", "--from", "2025-10-01", "--to", "2025-10-31", "--csv"],
                ["report", "audit", "--csv"],
                ["report", "records", "--from", "2025-10-01", "--to", "2025-10-31", "--csv"],
                ["report", "due", "--on", "2025-12-01", "--csv"],
                ["report", "conversion", "--from", "2025-10-01", "--to", "2025-10-31", "--csv"],
            ]
            return try commands.map { arguments in
                let run = try cli.run(arguments, environment: environment)
                #expect(run.status == 0, "\(arguments): \(run.stderr)")
                // The moment each event was recorded differs between the two files.
                return run.lines.map { line in
                    // (a local time with its offset, e.g. 2026-12-02 12:18 -05:00).
                    line.replacingOccurrences(of: #"\d{4}-\d{2}-\d{2} \d{2}:\d{2}( [+-]\d{2}:\d{2})?,"#, with: "RECORDED,", options: .regularExpression)
                        // Each log has its own pseudonym key.
                        .replacingOccurrences(of: #"C-[0-9A-Z]{5}-[0-9A-Z]{5}"#, with: "C-PSEUDONYM", options: .regularExpression)
                }.joined(separator: "\n")
            }
        }
        let before = try reports(old)
        // As after an upgrade: the tables were built when SessionRecorded's newest schema
        // was version 1 (the signature says so), so a rebuild is pending for the
        // projections that read it, and their reports come with a notice until it is done.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [old.database, "UPDATE report_projections SET signature = replace(signature, 'SessionRecorded@2', 'SessionRecorded@1')"]
        try sqlite.run()
        sqlite.waitUntilExit()
        let status = try old.run(["reports", "status"])
        #expect(status.stdout.contains("rebuild pending (built for older event schemas)"))
        let served = try old.run(["report", "audit", "--csv"])
        #expect(served.stderr.contains("with newer event schemas"), "\(served.stderr)")
        let rebuilt = try old.run(["rebuild", "--all"])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(try old.run(["report", "audit", "--csv"]).stderr.isEmpty)
        let after = try reports(old)
        #expect(after == before)
        #expect(after == (try reports(native, environment: sharedKey)))
        #expect(after[0].contains("session 1 at toronto by 17; 06:00, 3.0 h; areas hairline; pigments lot not recorded (SMP Dark Grey); cartridges lot not recorded (3RL 0.25 mm); depth 0.9 mm"))
    }

    @Test("a report asked while a rebuild is unfinished is served from the live tables, with a notice")
    func noticeWhileRebuilding() throws {
        let cli = try demo(clients: 40)
        _ = try cli.run(["report", "audit"])
        let killedAt = try #require(try killRebuild(cli, ["rebuild", "audit", "--chunk", "10", "--pause-ms", "10"], after: 100))
        let run = try cli.run(["report", "audit"])
        #expect(run.status == 0)
        #expect(killedAt > 100)
        #expect(run.stderr.contains("notice: a rebuild of audit is in progress (event "), "\(run.stderr)")
        #expect(run.stderr.contains("the report shows the tables in use until it swaps"))
        #expect(run.stdout.contains("procedures checked"))
        let status = try cli.run(["reports", "status"])
        #expect(status.stdout.contains("rebuilding (at event "))
        // Finished, the notice goes.
        #expect(try cli.run(["rebuild", "audit"]).stdout.contains("resumed"))
        #expect(try cli.run(["report", "audit"]).stderr.isEmpty)
    }
}
