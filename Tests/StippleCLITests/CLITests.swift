import EventLog
import Foundation
import StippleTesting
import Testing

/// End-to-end: the built `stipple` binary, run as a user would.
struct CLI {
    /// Removed once the test is done with it.
    let temporary: TemporaryFolder
    var folder: String { temporary.path }
    /// The admin token `init` printed, passed as STIPPLE_TOKEN to every later run.
    let tokens = TokenBox()
    /// Another file to use instead of the folder's (see ``database``).
    var databaseOverride: String?
    var database: String { databaseOverride ?? folder + "/stipple.sqlite" }

    init() throws {
        temporary = try TemporaryFolder("stipple-cli")
    }

    static var binary: URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var directory = runner.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("stipple")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/stipple")
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    @discardableResult
    func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:], useDefaultDB: Bool = false) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var env = ProcessInfo.processInfo.environment
        env["STIPPLE_DB"] = useDefaultDB ? nil : database
        env["STIPPLE_TOKEN"] = tokens.token
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let run = Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
        if arguments.first == "init", let token = run.lines.first(where: { $0.hasPrefix("stp_") }) { tokens.token = token }
        return run
    }

    /// The log's head position and hash (not verify's whole line, nor stats': they hold the
    /// time it took and the file's size, which a catch-up of the reports changes).
    func head() throws -> String {
        let verified = try json(try run(["verify", "--json"]).stdout)
        return "\(verified["headPosition"] as? Int ?? -1) \(verified["headHash"] as? String ?? "")"
    }

    /// Publishes a version of a consent form (`stipple form publish`), as an admin does
    /// before any consent is signed on it.
    func publishForm(_ form: String = "smp-consent", version: String = "v4", covers: [String] = ["procedure", "photos", "marketing"]) throws {
        let text = folder + "/\(form)-\(version).txt"
        try Data("I consent to scalp micropigmentation (\(form) \(version)).".utf8).write(to: URL(fileURLWithPath: text))
        let run = try self.run(["form", "publish", "--form", form, "--version", version, "--file", text, "--at", "2026-01-02T09:00Z"]
            + covers.flatMap { ["--covers", $0] })
        #expect(run.status == 0, "form publish: \(run.stderr)")
    }

    func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// The token a test's `init` printed.
final class TokenBox: @unchecked Sendable {
    // `@unchecked`: a test runs its commands one after another.
    var token: String?
}

@Suite("stipple command")
struct CLITests {
    let events = """
        {"stream":"client-1","type":"ClientRegistered","expectedVersion":"none","data":{"clinicId":"toronto","referral":"friend"},"metadata":{"actor":"reception-1"}}
        {"stream":"client-1","type":"ConsentSigned","expectedVersion":1,"data":{"formVersion":"v3"}}

        {"stream":"batch-PB-1187","type":"BatchReceived","data":{"lot":"PB-1187","expiry":"2027-05-31"}}
        """

    @Test("init, append, read, verify, stats: the tour works")
    func tour() throws {
        let cli = try CLI()
        #expect(try cli.run(["init"]).status == 0)
        #expect(try cli.run(["init"]).stdout.contains("already a Stipple log"))
        let appended = try cli.run(["append", "-"], input: events)
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(appended.lines.count == 3)
        let first = try cli.json(appended.lines[0])
        // Position 1 is the first admin, added by init (users are events: see users.proto).
        #expect(first["position"] as? Int == 2)
        #expect(first["stream"] as? String == "client-1")
        #expect(first["version"] as? Int == 1)
        #expect((first["id"] as? String)?.count == 36)
        let read = try cli.run(["read", "client-1"])
        #expect(read.lines.count == 2)
        let event = try cli.json(read.lines[1])
        #expect(event["type"] as? String == "ConsentSigned")
        #expect(event["schemaVersion"] as? Int == 1)
        #expect((event["data"] as? [String: Any])?["formVersion"] as? String == "v3")
        #expect((event["recordedAt"] as? String)?.hasSuffix("Z") == true)
        let backward = try cli.run(["read", "client-1", "--backward", "--limit", "1"])
        #expect(try cli.json(backward.lines[0])["version"] as? Int == 2)
        let all = try cli.run(["read", "--all", "--from", "3"])
        let shown = try all.lines.map { try cli.json($0) }
        #expect(shown.prefix(2).compactMap { $0["position"] as? Int } == [3, 4])
        // Each read of client-1's record was logged on its access stream.
        #expect(shown.dropFirst(2).allSatisfy { ($0["stream"] as? String) == "access-1" && ($0["type"] as? String) == "RecordAccessed" })
        #expect(shown.count == 2 + 2)
        let verify = try cli.run(["verify"])
        #expect(verify.status == 0)
        #expect(verify.stdout.hasPrefix("ok: 7 events verified"), "\(verify.stdout)")
        let stats = try cli.run(["stats", "--json"])
        #expect(try cli.json(stats.lines[0])["events"] as? Int == 7)
        let backup = try cli.run(["backup", cli.folder + "/copy.sqlite"])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(try cli.run(["verify", "--db", cli.folder + "/copy.sqlite"]).status == 0)
        #expect(try cli.run(["compress", "train"]).stdout.contains("Trained codec 2"))
    }

    @Test("the default database is ./stipple.sqlite; --db overrides STIPPLE_DB")
    func databaseChoice() throws {
        let cli = try CLI()
        #expect(try cli.run(["init"], useDefaultDB: true).status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.folder + "/stipple.sqlite"))
        #expect(try cli.run(["init", "--db", cli.folder + "/other.sqlite"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.folder + "/other.sqlite"))
    }

    @Test("bad input exits 2 naming the line, the field and the reason; nothing is appended", arguments: [
        (#"{"stream":"client-1","type":"ConsentSigned","data":{}"#, "line 1: not valid JSON"),
        (#"{"stream":"client-1","type":"ConsentSigned","expectedVersion":"sometimes","data":{}}"#, #"line 1: field "expectedVersion" must be a version number (0 or more), "any" or "none", not "sometimes""#),
        (#"{"stream":"client-1","data":{}}"#, #"line 1: field "type" is missing"#),
        ("{\"stream\":\"client-1\",\"type\":\"ConsentSigned\",\"data\":{}}\n{\"stream\":\"client-2\",\"type\":\"ConsentSigned\",\"data\":[1]}", #"line 2: field "data" must be a JSON object, not an array"#),
        (#"{"stream":"client-1","type":"ConsentSigned","data":{},"colour":"red"}"#, #"line 1: field "colour" is not known"#),
        (#"{"stream":"client-1","type":"ConsentSigned","id":"not-a-uuid","data":{}}"#, #"line 1: field "id" must be a UUID"#),
        (#"{"stream":"client-1","type":"ConsentSigned","data":{},"metadata":{"actor":7}}"#, #"line 1: field "metadata" metadata key "actor" must be a string"#),
        (#"{"stream":"client-1","type":"SessionPainted","data":{}}"#, #"line 1: field "type" unknown event type "SessionPainted""#),
        (#"{"stream":"client-1","type":"SessionRecorded","schemaVersion":9,"data":{}}"#, #"line 1: field "schemaVersion" SessionRecorded has no schema version 9 (versions 1 to 2)"#),
        (#"{"stream":"batch-L1","type":"ConsentSigned","data":{}}"#, #"line 1: field "stream" a ConsentSigned event goes to a client-… stream, not "batch-L1""#),
        (#"{"stream":"client-1","type":"ConsentSigned","data":{"formVersoin":"v3"}}"#, #"line 1: field "data" the data does not match ConsentSigned: unknown field "formVersoin""#),
        ("", "no events in the input"),
    ])
    func badInput(input: String, message: String) throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.run(["append"], input: #"{"stream":"client-1","type":"ConsentSigned","data":{}}"#)
        let run = try cli.run(["append", "-"], input: input)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
        // The first admin (init's event) and the first line's consent: nothing more.
        #expect(try cli.run(["read", "--all"]).lines.count == 2)
    }

    @Test("a payload over the limit exits 2 with its line and the limit")
    func payloadTooLarge() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let big = String(repeating: "x", count: 1_100_000)
        let run = try cli.run(["append"], input: "{\"stream\":\"client-1\",\"type\":\"ConsentSigned\",\"data\":{}}\n{\"stream\":\"client-1\",\"type\":\"ConsentSigned\",\"data\":{\"formVersion\":\"\(big)\"}}")
        #expect(run.status == 2)
        #expect(run.stderr.contains("line 2: "))
        #expect(run.stderr.contains("over the limit of 1048576 bytes"))
        #expect(try cli.run(["read", "--all"]).lines.count == 1, "only init's first admin")
    }

    @Test("a version conflict exits 3 naming the line, the stream and both versions")
    func conflict() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.run(["append"], input: events)
        let run = try cli.run(["append"], input: #"{"stream":"batch-PB-1187","type":"BatchOpened","expectedVersion":0,"data":{}}"#)
        #expect(run.status == 3)
        #expect(run.stderr.contains(#"line 1: Version conflict on stream "batch-PB-1187": expected version 0, but the stream is at version 1"#))
        // Two lines expecting the same version: the second is the one refused.
        let twice = try cli.run(["append"], input: """
            {"stream":"client-1","type":"ConsentSigned","expectedVersion":2,"data":{}}
            {"stream":"client-1","type":"ConsentSigned","expectedVersion":2,"data":{}}
            """)
        #expect(twice.status == 3)
        #expect(twice.stderr.contains("line 2: Version conflict"), "\(twice.stderr)")
    }

    @Test("a reused id with the same content returns the original; with other content exits 2")
    func idempotence() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let line = #"{"stream":"client-1","type":"ConsentSigned","id":"0192f0c4-8a6e-7cc1-9d2a-3f5e8b1c2d4e","data":{"formVersion":"v1"}}"#
        let first = try cli.run(["append"], input: line)
        let again = try cli.run(["append"], input: line)
        #expect(try cli.json(again.lines[0])["position"] as? Int == cli.json(first.lines[0])["position"] as? Int)
        #expect(try cli.json(again.lines[0])["alreadyStored"] as? Bool == true)
        let other = try cli.run(["append"], input: line.replacingOccurrences(of: #""v1""#, with: #""v2""#))
        #expect(other.status == 2)
        #expect(other.stderr.contains("already stored at position 2 with other content (other payload)"))
    }

    @Test("the W1 workload appends as valid typed events and reads back as JSON")
    func workload() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let generator = Process()
        generator.executableURL = CLI.binary.deletingLastPathComponent().appendingPathComponent("stipple-bench")
        generator.arguments = ["generate", "--clients", "5"]
        let pipe = Pipe()
        generator.standardOutput = pipe
        try generator.run()
        let lines = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        generator.waitUntilExit()
        let appended = try cli.run(["append"], input: lines)
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(appended.lines.count == 35)
        let read = try cli.run(["read", "client-0000001"])
        let session = try cli.json(read.lines[3])
        #expect(session["type"] as? String == "SessionRecorded")
        #expect(session["schemaVersion"] as? Int == 2)
        let data = try #require(session["data"] as? [String: Any])
        #expect((data["cartridges"] as? [[String: Any]])?.first?["configuration"] as? String != nil)
    }

    @Test("a log holding events this build cannot read refuses to open, naming them")
    func unreadableVersions() async throws {
        let cli = try CLI()
        let log = try EventLog.create(at: cli.database)
        var future = NewEvent(stream: "client-1", type: "SessionRecorded", payload: [1, 2, 3])
        future.schemaVersion = 3
        try await log.append([future, NewEvent(stream: "client-1", type: "Painted", payload: [])])
        try log.close()
        let run = try cli.run(["read", "--all"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("holds events this Stipple cannot read (Painted version 1, SessionRecorded version 3)"), "\(run.stderr)")
    }

    static let chain = """
        {"command":"record","stream":"form-smp-consent","type":"ConsentFormPublished","data":{"version":"v4","text":"I consent to scalp micropigmentation.","coversProcedure":true,"coversPhotos":true}}
        {"command":"record","stream":"client-42","type":"ClientRegistered","data":{"clientId":"42","clinicId":"toronto"}}
        {"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","coversProcedure":true}}
        {"command":"record","stream":"technician-17","type":"TechnicianRegistered","data":{"personal":{"name":"T. Seventeen"}}}
        {"command":"record","stream":"technician-17","type":"CertificationGranted","data":{"certificationId":"C-1","level":"CERTIFICATION_LEVEL_CERTIFIED","issuedOn":"2025-01-10","expiresOn":"2027-01-10"}}
        {"command":"record","stream":"technician-17","type":"BloodbornePathogensTrainingRecorded","data":{"completedOn":"2025-09-01"}}
        {"command":"record","stream":"batch-PB-1187","type":"BatchReceived","data":{"lot":"PB-1187","kind":"BATCH_KIND_PIGMENT","expiry":"2027-05-31"}}
        {"command":"record","stream":"batch-NC-0412","type":"BatchReceived","data":{"lot":"NC-0412","kind":"BATCH_KIND_CARTRIDGE","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25,"expiry":"2027-05-31"}}
        """

    static func session(_ number: Int, day: String) -> String {
        #"{"command":"session","client":"42","metadata":{"actor":"17"},"data":{"sessionNumber":\#(number),"clinicId":"toronto","technicianId":"17","startedAt":"\#(day)T10:00:00Z","endedAt":"\#(day)T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#
    }

    @Test("do records commands through the rules, in one transaction; a refusal exits 4 and records nothing")
    func doCommands() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let setup = try cli.run(["do", "-"], input: Self.chain + "\n" + Self.session(1, day: "2026-03-02"))
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(setup.lines.count == 9)
        let recall = #"{"command":"recall","lot":"PB-1187","data":{"authority":"Health Canada","noticeReference":"RA-1","recalledAt":"2026-03-10T09:00:00Z"}}"#
        let refused = try cli.run(["do"], input: recall + "\n" + Self.session(3, day: "2026-03-20"))
        #expect(refused.status == 4)
        #expect(refused.stderr.contains("line 2: refused for 2 reasons:"), "\(refused.stderr)")
        #expect(refused.stderr.contains("[lot-not-recalled] pigments[0].lot: lot PB-1187 was recalled on 2026-03-10 (Health Canada RA-1)"))
        #expect(refused.stderr.contains("[session-numbers-consecutive] sessionNumber: the next session of this course is number 2, not 3"))
        #expect(refused.stderr.contains("Nothing was recorded."))
        // The recall on line 1 was not recorded either.
        #expect(try cli.run(["read", "batch-PB-1187"]).lines.count == 1)
        let guarded = try cli.run(["do"], input: #"{"command":"record","stream":"client-42","type":"SessionRecorded","data":{}}"#)
        #expect(guarded.status == 2)
        #expect(guarded.stderr.contains("SessionRecorded is recorded with its own command"))
        let badValues = try cli.run(["do"], input: #"{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"fitzpatrickType":9,"norwoodStage":"XI","estimatedSessions":3}}"#)
        #expect(badValues.status == 4)
        #expect(badValues.stderr.contains("fitzpatrickType: must be a Fitzpatrick skin type 1 to 6, not 9"), "\(badValues.stderr)")
        #expect(badValues.stderr.contains(#"norwoodStage: must be a Norwood stage"#))
        let unknown = try cli.run(["do"], input: #"{"command":"paint","data":{}}"#)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains(#"line 1: field "command" "paint" is not known"#))
        #expect(try cli.run(["verify"]).status == 0)
    }

    /// Toronto's clinic, technician 17 (certified, trained), lots PB-1187 and NC-0412 and
    /// client 42 with a consent, through the named commands.
    static func recordTorontoChain(_ cli: CLI) throws {
        try cli.publishForm()
        for arguments in [
            ["clinic", "open", "--clinic", "toronto", "--name", "Stipple Toronto", "--opened", "2021-05-01"],
            ["tech", "register", "--technician", "17", "--name", "T. Seventeen", "--at", "2025-01-02T09:00-05:00"],
            ["tech", "certify", "--technician", "17", "--certification", "C-1", "--level", "certified", "--issued", "2025-01-10", "--expires", "2027-01-10"],
            ["tech", "bbp", "--technician", "17", "--completed", "2025-09-01"],
            ["batch", "receive", "--lot", "PB-1187", "--kind", "pigment", "--manufacturer", "Perma Blend", "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-05T09:00"],
            ["batch", "receive", "--lot", "NC-0412", "--kind", "cartridge", "--manufacturer", "Kwadron", "--configuration", "3RL", "--diameter", "0.25", "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-05T09:00"],
            ["client", "register", "--client", "42", "--clinic", "toronto", "--name", "A. Client", "--at", "2026-02-20T10:00"],
            ["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-20T10:30"],
        ] {
            let run = try cli.run(arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
        }
    }

    @Test("named commands read the clinic's local time; a time of no clinic needs its offset; history shows local times")
    func clinicTime() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let noOffset = try cli.run(["tech", "register", "--technician", "17", "--name", "T. Seventeen", "--at", "2025-01-02T09:00"])
        #expect(noOffset.status == 2)
        #expect(noOffset.stderr.contains("--at must be a time with its offset"), "\(noOffset.stderr)")
        try Self.recordTorontoChain(cli)
        func session(_ start: String, _ end: String) -> [String] {
            ["client", "session", "--client", "42", "--number", "1", "--clinic", "toronto", "--technician", "17", "--start", start, "--end", end,
             "--area", "hairline", "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25", "--depth", "0.9"]
        }
        let gap = try cli.run(session("2026-03-08T02:30", "2026-03-08T05:30"))
        #expect(gap.status == 2)
        #expect(gap.stderr.contains("--start: 2026-03-08 02:30 does not exist in America/Toronto"), "\(gap.stderr)")
        // Sunday 8 March, 00:30 EST to 04:30 EDT: three hours, on the day the clocks change.
        let spanning = try cli.run(session("2026-03-08T00:30", "2026-03-08T04:30"))
        #expect(spanning.status == 0, "\(spanning.stderr)")
        let history = try cli.run(["history", "42", "--csv"])
        #expect(history.stdout.contains("2026-03-08,SessionRecorded,\"session 1 at toronto by 17; 00:30, 3.0 h;"), "\(history.stdout)")
        let stored = try cli.json(try cli.run(["read", "client-42", "--backward", "--limit", "1"]).lines[0])
        #expect((stored["data"] as? [String: Any])?["startedAt"] as? String == "2026-03-08T05:30:00Z", "stored as UTC")
    }

    @Test("the named clinical commands record through the rules, with flags a clinician can type")
    func namedCommands() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try Self.recordTorontoChain(cli)
        func session(_ number: String, _ day: String) -> [String] {
            ["client", "session", "--client", "42", "--number", number, "--clinic", "toronto", "--technician", "17",
             "--start", "\(day)T10:00", "--end", "\(day)T13:00", "--area", "hairline", "--area", "crown",
             "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25", "--depth", "0.9"]
        }
        let first = try cli.run(session("1", "2026-03-02"))
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try cli.run(["batch", "recall", "--lot", "PB-1187", "--authority", "Health Canada", "--notice", "RA-7", "--reason", "contamination", "--at", "2026-03-10T09:00-05:00"]).status == 0)
        let refused = try cli.run(session("2", "2026-03-16"))
        #expect(refused.status == 4)
        #expect(refused.stderr.contains("[lot-not-recalled] pigments[0].lot: lot PB-1187 of Perma Blend was recalled on 2026-03-10 (Health Canada RA-7)"), "\(refused.stderr)")
        let badTime = try cli.run(session("2", "2026-03-16").map { $0 == "2026-03-16T10:00" ? "16 March" : $0 })
        #expect(badTime.status == 2)
        #expect(badTime.stderr.contains("--start must be a time such as 2026-03-14T10:00 (America/Toronto time) or 2026-03-14T15:00Z"), "\(badTime.stderr)")
        for bad in ["2026-03-16T10:00:99", "2026-03-16T10:00:-30", "2026-03-16TZ10:00", "2026-03-16T24:00"] {
            let run = try cli.run(session("2", "2026-03-16").map { $0 == "2026-03-16T10:00" ? bad : $0 })
            #expect(run.status == 2, "\(bad)")
        }
        let emptyLot = try cli.run(session("2", "2026-03-16") + ["--pigment", ":30"])
        #expect(emptyLot.status == 2)
        #expect(emptyLot.stderr.contains("--pigment must be LOT or LOT:DILUTION"))
        let help = try cli.run(["client", "session", "--help"])
        #expect(help.stdout.contains("--cartridge"))
        #expect(help.stdout.contains("Refused (exit 4, every reason listed)"))
    }

    @Test("every field of the domain a named command can set: birth, address, referral, consent scope, booking, machine, product, trainer")
    func everyFieldByName() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try Self.recordTorontoChain(cli)
        try cli.publishForm("photo-release", version: "v1", covers: ["photos"])
        let head = try cli.head()
        let badBirth = try cli.run(["client", "register", "--client", "50", "--clinic", "toronto", "--name", "B. Day", "--birth", "30/06/1984", "--at", "2026-02-20T10:00"])
        #expect(badBirth.status == 2)
        #expect(badBirth.stderr.contains("--birth"), "\(badBirth.stderr)")
        #expect(try cli.head() == head, "nothing recorded")
        for arguments in [
            ["client", "register", "--client", "50", "--clinic", "toronto", "--name", "B. Day", "--birth", "1984-06-30", "--address", "1 Bay St, Toronto",
             "--referral", "barber", "--at", "2026-02-20T10:00"],
            ["client", "consent", "--client", "50", "--form", "smp-consent", "--at", "2026-02-20T10:30", "--photos", "--marketing",
             "--witness", "desk-1", "--clinic", "toronto"],
            ["client", "consent", "--client", "50", "--form", "photo-release", "--at", "2026-02-20T10:40", "--no-procedure", "--photos"],
            ["client", "session", "--client", "50", "--number", "1", "--clinic", "toronto", "--technician", "17", "--start", "2026-03-02T10:00",
             "--end", "2026-03-02T13:00", "--area", "hairline", "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25", "--depth", "0.9", "--booking", "B-7"],
            ["client", "touch-up", "--client", "50", "--clinic", "toronto", "--technician", "17", "--start", "2026-08-20T10:00", "--end", "2026-08-20T11:30",
             "--area", "crown", "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25", "--depth", "0.8", "--reason", "fading",
             "--machine", "Dragonhawk Mast", "--aftercare", "v5", "--booking", "B-9"],
            ["batch", "receive", "--lot", "PB-2000", "--kind", "pigment", "--manufacturer", "Perma Blend", "--product", "SMP Pro", "--shade", "SMP Black",
             "--expiry", "2027-05-31", "--clinic", "toronto", "--at", "2026-01-06T09:00"],
            ["tech", "register", "--technician", "18", "--name", "T. Trainer", "--at", "2025-01-02T09:00-05:00"],
            ["tech", "certify", "--technician", "17", "--certification", "C-2", "--level", "senior", "--issued", "2026-01-10", "--expires", "2028-01-10", "--trainer", "18"],
            ["tech", "hepatitis-b", "--technician", "17", "--status", "declined", "--on", "2025-01-05"],
        ] {
            let run = try cli.run(arguments)
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
        }
        func data(_ stream: String) throws -> [[String: Any]] {
            try cli.run(["read", stream]).lines.map { try cli.json($0)["data"] as? [String: Any] ?? [:] }
        }
        let client = try data("client-50")
        let personal = client[0]["personal"] as? [String: Any]
        #expect(personal?["dateOfBirth"] as? String == "1984-06-30" && personal?["address"] as? String == "1 Bay St, Toronto", "opened for the admin")
        #expect(client[0]["referral"] as? String == "barber")
        #expect(client[1]["coversMarketing"] as? Bool == true && client[1]["witnessId"] as? String == "desk-1" && client[1]["clinicId"] as? String == "toronto")
        #expect(client[2]["coversProcedure"] == nil && client[2]["coversPhotos"] as? Bool == true, "a consent to photos only")
        #expect(client[3]["bookingId"] as? String == "B-7")
        #expect(client[4]["machine"] as? String == "Dragonhawk Mast" && client[4]["aftercareSheetVersion"] as? String == "v5" && client[4]["bookingId"] as? String == "B-9")
        #expect(try data("batch-PB-2000~perma-blend")[0]["product"] as? String == "SMP Pro")
        #expect(try data("technician-17").last?["status"] as? String == "HEPATITIS_B_STATUS_DECLINED")
        let badStatus = try cli.run(["tech", "hepatitis-b", "--technician", "17", "--status", "maybe", "--on", "2025-01-05"])
        #expect(badStatus.status == 2 && badStatus.stderr.contains("--status"), "\(badStatus.stderr)")
        #expect(try data("technician-17").dropLast().last?["trainerId"] as? String == "18")
        for (command, flags) in [(["client", "register"], ["--birth", "--address", "--referral"]), (["client", "consent"], ["--no-procedure", "--marketing", "--witness"]),
                                 (["client", "touch-up"], ["--machine", "--aftercare", "--booking"]), (["batch", "receive"], ["--product"]), (["tech", "certify"], ["--trainer"])] {
            let help = try cli.run(command + ["--help"]).stdout
            for flag in flags { #expect(help.contains(flag), "\(command) --help names \(flag)") }
        }
    }

    @Test("more named commands: clinic, technician life, bookings, touch-ups, amendments")
    func moreNamedCommands() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["do"], input: Self.chain + "\n" + Self.session(1, day: "2026-03-02")).status == 0)
        let steps: [([String], Int32)] = [
            (["clinic", "open", "--clinic", "toronto", "--name", "Stipple Toronto", "--opened", "2021-05-01"], 0),
            (["clinic", "open", "--clinic", "toronto", "--name", "again", "--opened", "2021-05-01"], 3),
            (["tech", "register", "--technician", "18", "--name", "New Tech", "--at", "2026-01-02T09:00Z"], 0),
            (["tech", "register", "--technician", "18", "--name", "Twice", "--at", "2026-01-03T09:00Z"], 3),
            (["tech", "revoke", "--technician", "18", "--certification", "C-9", "--on", "2026-03-01", "--reason", "typo"], 4),
            (["tech", "certify", "--technician", "17", "--certification", "C-1", "--level", "trainer", "--issued", "2026-01-01", "--expires", "2030-01-01"], 4),
            (["client", "consent", "--client", "43", "--form", "smp-consent", "--at", "2026-03-01T10:00"], 4),
            (["client", "book", "--client", "42", "--booking", "B2", "--clinic", "toronto", "--technician", "17", "--start", "2026-03-16T10:00", "--number", "2"], 0),
            (["client", "cancel", "--client", "42", "--booking", "B2", "--by", "client", "--reason", "flu"], 0),
            (["client", "cancel", "--client", "42", "--booking", "B2", "--by", "nobody"], 2),
            (["client", "touch-up", "--client", "42", "--clinic", "toronto", "--technician", "17", "--start", "2026-08-20T10:00",
              "--end", "2026-08-20T11:30", "--area", "crown", "--pigment", "PB-1187:30", "--cartridge", "NC-0412:3RL:0.25",
              "--depth", "0.8", "--reason", "fading"], 0),
            (["client", "amend", "--client", "42", "--event", UUID().uuidString, "--field", "depthMm", "--reason", "typo"], 4),
            (["client", "consult", "--client", "42", "--clinic", "toronto", "--consultant", "17", "--at", "2026-02-20T11:00",
              "--hair-loss", "androgenetic", "--norwood", "5A", "--fitzpatrick", "3", "--area", "hairline", "--sessions", "3"], 0),
            (["client", "consult", "--client", "42", "--clinic", "toronto", "--consultant", "17", "--at", "2026-02-20T11:00",
              "--hair-loss", "androgenetic", "--norwood", "5A", "--fitzpatrick", "9", "--sessions", "3"], 4),
            (["client", "consult", "--client", "42", "--clinic", "toronto", "--consultant", "17", "--at", "2026-02-20T11:00",
              "--hair-loss", "androgenetic", "--fitzpatrick", "3", "--sessions", "3"], 2),
            (["client", "reschedule", "--client", "42", "--booking", "B2", "--start", "2026-03-18T10:00"], 0),
            (["client", "no-show", "--client", "42", "--booking", "B2"], 0),
            (["client", "reaction", "--client", "42", "--at", "2026-03-05T09:00", "--severity", "mild", "--lot", "PB-1187"], 0),
            (["client", "reaction", "--client", "42", "--at", "2026-03-05T09:00", "--severity", "awful"], 2),
            (["client", "confidential", "--client", "42", "--reason", "public figure"], 0),
            (["batch", "open", "--lot", "PB-1187", "--clinic", "toronto", "--at", "2026-03-01T08:00"], 0),
            (["batch", "open", "--lot", "NOPE-1", "--clinic", "toronto", "--at", "2026-03-01T08:00"], 4),
            (["batch", "discard", "--lot", "NC-0412", "--at", "2026-09-01T08:00", "--reason", "damaged box"], 0),
            (["tech", "assign", "--technician", "17", "--clinic", "toronto", "--from", "2025-01-01"], 0),
            (["tech", "revoke", "--technician", "17", "--certification", "C-1", "--on", "2026-10-01", "--reason", "misconduct"], 0),
            (["tech", "renew", "--technician", "17", "--certification", "C-1", "--renewed", "2026-12-01", "--expires", "2028-01-10"], 4),
        ]
        for (arguments, status) in steps {
            let run = try cli.run(arguments)
            #expect(run.status == status, "\(arguments): \(run.stderr)")
        }
        // Client 42 is confidential now: reading the record needs a purpose.
        #expect(try cli.run(["read", "client-42"]).status == 5)
        let history = try cli.run(["read", "client-42", "--reason", "test of the named commands"]).lines.compactMap { try? cli.json($0)["type"] as? String }
        #expect(history == [
            "ClientRegistered", "ConsentSigned", "SessionRecorded", "SessionBooked", "SessionCancelled", "TouchUpRecorded",
            "ConsultationRecorded", "SessionRescheduled", "SessionNoShow", "AdverseReactionReported", "ClientMarkedConfidential",
        ])
        #expect(try cli.run(["verify"]).status == 0)
    }

    @Test("client amend --values: a session's technician and end corrected, the workload folds it; a field the session lacks is refused")
    func amendFromTheCommandLine() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["do"], input: Self.chain + "\n" + Self.session(1, day: "2026-03-02")).status == 0)
        let line = try #require(try cli.run(["read", "client-42", "--reason", "correcting"]).lines.first { $0.contains(#""type":"SessionRecorded""#) })
        let session = try #require(try cli.json(line)["id"] as? String)
        let workload = ["report", "workload", "--from", "2026-03-02", "--to", "2026-03-08", "--csv"]
        #expect(try cli.run(workload).lines.dropFirst() == ["17,toronto,2026-W10,1,0,3.0,0,0,0"])
        let head = try cli.head()
        let unknown = try cli.run(["client", "amend", "--client", "42", "--event", session, "--field", "shoeSize", "--values", #"{"shoeSize":44}"#, "--reason", "typo"])
        #expect(unknown.status == 4 && unknown.stderr.contains("shoeSize is not a field of SessionRecorded"), "\(unknown.stderr)")
        #expect(try cli.head() == head, "a refused amendment writes nothing")
        let amended = try cli.run([
            "client", "amend", "--client", "42", "--event", session, "--field", "technicianId", "--field", "endedAt",
            "--values", #"{"technicianId":"21","endedAt":"2026-03-02T14:00:00Z"}"#, "--reason", "recorded under the wrong name",
        ])
        #expect(amended.status == 0, "\(amended.stderr)")
        #expect(try cli.run(workload).lines.dropFirst() == ["21,toronto,2026-W10,1,0,4.0,0,0,0"])
        let history = try cli.run(["history", "42", "--reason", "correcting"]).stdout
        #expect(history.contains(#"corrected to {"technicianId":"21","endedAt":"2026-03-02T14:00:00Z"}"#), "\(history)")
    }

    @Test("client photo add and show: a JPEG round-trips stripped and sealed; without a photo consent it is refused and nothing is written")
    func photoFromTheCommandLine() throws {
        let cli = try CLI()
        try cli.run(["init"])
        #expect(try cli.run(["do"], input: Self.chain + "\n" + Self.session(1, day: "2026-03-02")).status == 0)
        let line = try #require(try cli.run(["read", "client-42", "--reason", "photos"]).lines.first { $0.contains(#""type":"SessionRecorded""#) })
        let session = try #require(try cli.json(line)["id"] as? String)
        let pixels = TestPhotos.pattern(11)
        let file = cli.folder + "/after.jpg"
        try Data(TestPhotos.jpeg(pixels: pixels)).write(to: URL(fileURLWithPath: file))
        let add = ["client", "photo", "add", "--client", "42", "--event", session, "--moment", "after", "--file", file]
        let head = try cli.head()
        let refused = try cli.run(add)
        #expect(refused.status == 4 && refused.stderr.contains("[photo-consent]"), "\(refused.stderr)")
        #expect(try cli.head() == head)
        #expect(try cli.run(["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-03-02T09:00", "--no-procedure", "--photos"]).status == 0)
        let bad = try cli.run(["client", "photo", "add", "--client", "42", "--event", session, "--moment", "sideways", "--file", file])
        #expect(bad.status == 2 && bad.stderr.contains("--moment"), "\(bad.stderr)")
        let added = try cli.run(add)
        #expect(added.status == 0, "\(added.stderr)")
        let history = try cli.run(["history", "42", "--reason", "photos"]).stdout
        let sha256 = try #require(history.components(separatedBy: "photo (after), image/jpeg").last?
            .components(separatedBy: "sealed, sha256 ").dropFirst().first.map { String($0.prefix(64)) })
        let output = cli.folder + "/shown.jpg"
        let show = try cli.run(["client", "photo", "show", "--client", "42", "--photo", sha256, "--output", output, "--reason", "photos"])
        #expect(show.status == 0, "\(show.stderr)")
        let shown = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(shown.range(of: Data(pixels + [0xFF, 0x00] + pixels)) != nil)
        #expect(shown.range(of: Data(TestPhotos.gpsText)) == nil, "the metadata was stripped")
        #expect(shown.starts(with: [0xFF, 0xD8]) && shown.suffix(2) == Data([0xFF, 0xD9]))
        #expect(try cli.run(["client", "photo", "show", "--client", "42", "--photo", sha256, "--output", output]).status != 0, "never over a file")
        let database = (try? Data(contentsOf: URL(fileURLWithPath: cli.database))) ?? Data()
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: cli.database + "-wal"))) ?? Data()
        #expect((database + wal).range(of: Data(pixels)) == nil, "no pixel in clear in the file or its WAL")
    }

    @Test("form publish, show and withdraw: the text round-trips byte for byte, a consent pins its hash; an unpublished, withdrawn or altered text is refused")
    func consentForms() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.run(["client", "register", "--client", "42", "--clinic", "toronto", "--name", "A. Client", "--at", "2026-02-20T10:00"])
        let head = try cli.head()
        let unpublished = try cli.run(["client", "consent", "--client", "42", "--form", "smp-consent", "--at", "2026-02-20T10:30"])
        #expect(unpublished.status == 4 && unpublished.stderr.contains("none is published"), "\(unpublished.stderr)")
        #expect(try cli.head() == head)
        let text = "Je consens à la micropigmentation du cuir chevelu.\nI consent to scalp micropigmentation — risks: redness, infection.\n"
        let file = cli.folder + "/consent-v5.txt"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let publish = ["form", "publish", "--form", "smp-consent", "--version", "v5", "--title", "Consent", "--file", file, "--covers", "procedure", "--covers", "photos", "--at", "2026-02-01T09:00Z"]
        #expect(try cli.run(publish).status == 0)
        let twice = try cli.run(publish)
        #expect(twice.status == 4 && twice.stderr.contains("is published already"), "\(twice.stderr)")
        let shown = try cli.run(["form", "show", "--form", "smp-consent"])
        #expect(shown.stdout == text, "the text as published, byte for byte")
        let sha256 = try #require(shown.stderr.components(separatedBy: "sha256 ").last.map { String($0.prefix(64)) })
        #expect(try cli.run(["form", "list"]).stdout == "smp-consent\tv5\tin force\t\(sha256)\n")
        let altered = try cli.run(["client", "consent", "--client", "42", "--form", "smp-consent", "--sha256", String(repeating: "0", count: 64), "--at", "2026-02-20T10:30"])
        #expect(altered.status == 4 && altered.stderr.contains("the client saw another text"), "\(altered.stderr)")
        let marketing = try cli.run(["client", "consent", "--client", "42", "--form", "smp-consent", "--marketing", "--at", "2026-02-20T10:30"])
        #expect(marketing.status == 4 && marketing.stderr.contains("does not cover marketing"), "\(marketing.stderr)")
        #expect(try cli.run(["client", "consent", "--client", "42", "--form", "smp-consent", "--sha256", sha256, "--photos", "--at", "2026-02-20T10:30"]).status == 0)
        let history = try cli.run(["history", "42"]).stdout
        #expect(history.contains("consent smp-consent v5 signed, covering procedure, photos; text sha256 \(sha256)"), "\(history)")
        #expect(try cli.run(["form", "withdraw", "--form", "smp-consent", "--version", "v5", "--reason", "the risks were incomplete"]).status == 0)
        let withdrawn = try cli.run(["client", "consent", "--client", "42", "--form", "smp-consent", "--version", "v5", "--at", "2026-02-21T10:30"])
        #expect(withdrawn.status == 4 && withdrawn.stderr.contains("was withdrawn (the risks were incomplete)"), "\(withdrawn.stderr)")
        #expect(try cli.run(["form", "show", "--form", "smp-consent", "--version", "v5"]).stderr.contains("WITHDRAWN"))
    }

    @Test("events written as SessionRecorded version 1 (a fixture) read as stored and count for the rules")
    func versionOneFixture() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sessions-v1.jsonl").path
        let appended = try cli.run(["append", fixture])
        #expect(appended.status == 0, "\(appended.stderr)")
        let stored = try cli.json(try cli.run(["read", "client-7"]).lines[2])
        #expect(stored["schemaVersion"] as? Int == 1)
        #expect((stored["data"] as? [String: Any])?["needle"] as? String == "3RL-0.25mm")
        // Session 2 follows the version-1 session 1 (the rules read it upcast to version 2).
        try cli.run(["do"], input: Self.chain)
        let next = try cli.run(["do"], input: Self.session(2, day: "2025-10-22").replacingOccurrences(of: #""client":"42""#, with: #""client":"7""#))
        #expect(next.status == 0, "\(next.stderr)")
        let again = try cli.run(["do"], input: Self.session(2, day: "2025-11-05").replacingOccurrences(of: #""client":"42""#, with: #""client":"7""#))
        #expect(again.status == 4)
        #expect(again.stderr.contains("the next session of this course is number 3, not 2"))
        // A needle text that does not read is kept as written, in the history and the records.
        let unreadable = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/needle-v1-unreadable.jsonl").path
        #expect(try cli.run(["append", unreadable]).status == 0)
        let history = try cli.run(["history", "8"])
        #expect(history.stdout.contains("cartridges lot not recorded; needle as recorded: 7-round magnum"), "\(history.stdout)")
        #expect(try cli.run(["history", "7"]).stdout.contains("cartridges lot not recorded (3RL 0.25 mm)"))
        let records = try cli.run(["report", "records", "--from", "2025-10-01", "--to", "2025-10-31", "--csv"])
        #expect(records.stdout.contains("lot not recorded; needle as recorded: 7-round magnum"), "\(records.stdout)")
    }

    @Test("demo builds a chain through the commands, and adds clients when run again")
    func demo() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let first = try cli.run(["demo", "--clients", "15", "--years", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("with the chain's clinics, technicians and lots"))
        let second = try cli.run(["demo", "--clients", "5", "--seed", "2"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stdout.contains("with the chain's"))
        #expect(try cli.run(["verify"]).status == 0)
        #expect(try cli.run(["demo", "--years", "0"]).status == 2)
        // The same seed again: refused with the reason, nothing recorded (not a version conflict).
        let head = try cli.head()
        let again = try cli.run(["demo", "--clients", "5", "--seed", "2"])
        #expect(again.status == 2 && again.stderr.contains("a demo with seed 2 is in this log already"), "\(again.stderr)")
        #expect(try cli.head() == head)
        // A demo that fails part-way (its sixth client exists already) records nothing at all.
        #expect(try cli.run(["client", "register", "--client", "D3-6", "--clinic", "toronto", "--name", "In The Way", "--at", "2026-02-20T10:00"]).status == 0)
        let blocked = try cli.head()
        let failed = try cli.run(["demo", "--clients", "30", "--seed", "3"])
        #expect(failed.status == 3 && failed.stderr.contains("the demo would record a stream that is in this log already"), "\(failed.stderr)")
        #expect(try cli.head() == blocked, "no partial chain")
        #expect(try cli.run(["read", "client-D3-1"]).lines.isEmpty)
    }

    @Test("a file that is not a log is refused with exit 2 and left untouched")
    func notALog() throws {
        let cli = try CLI()
        let path = cli.folder + "/notes.txt"
        try "appointments\n".write(toFile: path, atomically: true, encoding: .utf8)
        for arguments in [["init", "--db", path], ["append", "--db", path], ["verify", "--db", path]] {
            let run = try cli.run(arguments, input: events)
            #expect(run.status == 2)
            #expect(run.stderr.contains("is not a Stipple log (it is not an SQLite database)"))
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "appointments\n")
        let missing = try cli.run(["read", "--all", "--db", cli.folder + "/none.sqlite"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("There is no Stipple log at"))
    }

    @Test("verify exits 1 naming the position and kind of a break")
    func verifyBreak() throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.run(["append"], input: events)
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [cli.database, "DROP TRIGGER events_are_immutable_update; UPDATE events SET recorded_at = recorded_at + 1 WHERE position = 2;"]
        try sqlite.run()
        sqlite.waitUntilExit()
        try #require(sqlite.terminationStatus == 0)
        let run = try cli.run(["verify"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("altered at position 2"))
        #expect(run.stderr.contains("events_are_immutable_update"))
        let json = try cli.run(["verify", "--json"])
        #expect(json.status == 1)
        let object = try cli.json(json.lines[0])
        #expect(object["intact"] as? Bool == false)
        #expect((object["break"] as? [String: Any])?["kind"] as? String == "altered")
    }

    @Test("help text names the commands and the exit codes")
    func help() throws {
        let cli = try CLI()
        let help = try cli.run(["--help"])
        for command in ["init", "client", "batch", "tech", "clinic", "append", "do", "demo", "read", "verify", "stats", "backup", "compress",
                        "history", "report", "rebuild", "reports"] {
            #expect(help.stdout.contains("  \(command)"), "\(command) missing from help")
        }
        #expect(help.stdout.contains("Exit codes: 0 success"))
        #expect(help.stdout.contains("3 version conflict"))
        let append = try cli.run(["append", "--help"])
        #expect(append.stdout.contains("All lines land together or none does."))
        let usage = try cli.run(["read"])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("Name a stream to read, or use --all for the whole log."))
    }
}
