import ArgumentParser
import EventLog
import Foundation
import Recording
import StippleService
import Treatment

extension StippleBench {
    struct HTTPFigures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http",
            abstract: "The HTTP API's figures: http-record-session and http-read-history, each beside the same work in-process.",
            discussion: """
                The server is the release `stipple serve` (--stipple), a process of its own; the load comes \
                from wrk (Debian's), another process: --connections keep-alive HTTP/1.1 connections on \
                loopback. The in-process figures run the same work through the application layer \
                (StippleService: parse, rules, policy, sealing, durable append; a history logs its access) \
                with as many concurrent tasks. Targets: http-record-session ≥ 0.6× session-in-process; \
                http-read-history p99 ≤ 3× history-in-process p99.
                """)

        @Option(help: "The release stipple binary that serves.")
        var stipple: String

        @Option(help: "Concurrent connections (HTTP) and tasks (in-process).")
        var connections = 64

        @Option(help: "Seconds each timed run lasts.")
        var seconds = 10

        @Option(help: "W1 clients of the log the histories are read from (7 events each; 142858 ≈ 1M events).")
        var historyClients = 142_858

        @Option(help: "Folder for the databases (default: a new temporary folder, removed afterwards).")
        var dir: String?

        @Flag(help: "A small, quick run: 3 s, 2,000 W1 clients.")
        var smoke = false

        mutating func run() async throws {
            if smoke { seconds = 3; historyClients = 2_000 }
            let folder = dir ?? NSTemporaryDirectory() + "stipple-bench-http-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: folder) } }
            let bench = HTTPBench(folder: folder, stipple: stipple, connections: connections, seconds: seconds)
            try await bench.sessions()
            try await bench.histories(clients: historyClients)
        }
    }
}

/// The HTTP figures (see ``StippleBench/HTTPFigures``).
struct HTTPBench {
    let folder: String
    let stipple: String
    let connections: Int
    let seconds: Int

    /// A session's `do` line for client `index` (every client has a consent; the
    /// technician, supervisor-free, and the lots are valid on the day).
    static func sessionLine(_ index: Int) -> String {
        #"{"command":"session","client":"B\#(index)","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#
    }

    static let setUp = """
        {"command":"record","stream":"technician-17","type":"TechnicianRegistered","data":{"registeredAt":"2025-01-02T09:00:00Z"}}
        {"command":"record","stream":"technician-17","type":"CertificationGranted","data":{"certificationId":"C-1","level":"CERTIFICATION_LEVEL_CERTIFIED","issuedOn":"2025-01-10","expiresOn":"2027-01-10","issuer":"Stipple Academy"}}
        {"command":"record","stream":"technician-17","type":"BloodbornePathogensTrainingRecorded","data":{"completedOn":"2025-09-01"}}
        {"command":"record","stream":"batch-PB-1187","type":"BatchReceived","data":{"lot":"PB-1187","kind":"BATCH_KIND_PIGMENT","expiry":"2027-05-31","clinicId":"toronto"}}
        {"command":"record","stream":"batch-NC-0412","type":"BatchReceived","data":{"lot":"NC-0412","kind":"BATCH_KIND_CARTRIDGE","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25,"expiry":"2027-05-31","clinicId":"toronto"}}
        """

    func configuration(_ path: String) -> ServiceConfiguration {
        ServiceConfiguration(databasePath: path, masterKeyPath: path + ".key")
    }

    /// Registers clients `range` (with a consent), 1,000 per import.
    func register(_ range: Range<Int>, admin: Session) async throws {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + 1_000, range.upperBound)
            let lines = (start..<end).flatMap { index in
                [#"{"stream":"client-B\#(index)","type":"ClientRegistered","expectedVersion":"none","data":{"clientId":"B\#(index)","clinicId":"toronto"}}"#,
                 #"{"stream":"client-B\#(index)","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v4","coversProcedure":true}}"#]
            }.joined(separator: "\n")
            _ = try await admin.importEvents(try ImportLines.parse(Array(lines.utf8)))
            start = end
        }
    }

    /// `session-in-process` and `http-record-session`.
    func sessions() async throws {
        let path = folder + "/sessions.sqlite"
        var configuration = configuration(path)
        configuration.projectionUpkeep = .background(readYourWrites: .seconds(2))
        let initialized = try await Service.initialize(configuration, admin: "admin")
        let service = initialized.service
        let admin = try await service.authenticate(initialized.adminToken)
        let clinicianToken = try await admin.addUser("dr-bench", role: .clinician, clinics: ["toronto"])
        _ = try await admin.record(try CommandLines.parse(Array(Self.setUp.utf8)))
        // Enough clients for the in-process run; more are registered for HTTP from its rate.
        let pool = 64_000
        try await register(0..<pool, admin: admin)
        let clinician = try await service.authenticate(clinicianToken)
        try await caughtUp(service)
        let upkeep = Task { await service.keepProjectionsCurrent() }

        let perTask = pool / connections
        let (latencies, elapsed) = try await timed(tasks: connections, rounds: perTask) { task, round in
            _ = try await clinician.record(try CommandLines.parse(Array(Self.sessionLine(task * perTask + round).utf8)))
        }
        upkeep.cancel()
        await upkeep.value
        let inProcessRate = Double(latencies.count) / elapsed
        Figure(name: "session-in-process", events: latencies.count, seconds: elapsed, extra: [
            "connections": .int(Int64(connections)), "p50Ms": round3(percentile(latencies, 0.50) * 1_000),
            "p99Ms": round3(percentile(latencies, 0.99) * 1_000),
        ]).print()

        // As many fresh clients as the server could record at three times that rate.
        let httpPool = max(10_000, Int(inProcessRate * Double(seconds) * 3))
        try await register(pool..<(pool + httpPool), admin: admin)
        try await caughtUp(service)
        try service.close()
        let server = try ServerProcess(stipple: stipple, configuration: configuration)
        defer { server.stop() }
        let script = folder + "/sessions.lua"
        let perThread = httpPool  // wrk runs one thread: it shares the 2 cores with the server
        try """
            local counter = 0
            local threads = 0
            function setup(thread)
              thread:set("id", threads)
              threads = threads + 1
            end
            request = function()
              local index = \(pool) + id * \(perThread) + counter
              counter = counter + 1
              local body = '[' .. string.format([[\(Self.sessionLine(999_999_999).replacingOccurrences(of: "B999999999", with: "B%d"))]], index) .. ']'
              return wrk.format("POST", "/v1/commands", {["Authorization"] = "Bearer \(clinicianToken)", ["Content-Type"] = "application/json"}, body)
            end
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let result = try WRK.run(url: "http://127.0.0.1:\(server.port)", connections: connections, seconds: seconds, script: script)
        Figure(name: "http-record-session", events: result.requests, seconds: Double(seconds), extra: [
            "connections": .int(Int64(connections)), "p50Ms": round3(result.p50Ms), "p99Ms": round3(result.p99Ms),
            "non2xx": .int(Int64(result.non2xx)), "vsInProcess": round3(result.rate / inProcessRate), "targetVsInProcess": .double(0.6),
            "met": .bool(result.rate / inProcessRate >= 0.6 && result.non2xx == 0),
        ]).print()
    }

    /// `history-in-process` and `http-read-history`, on a log of W1.
    func histories(clients: Int) async throws {
        let path = folder + "/histories.sqlite"
        let log = try await ReportsBench.filledLog(clients: clients, path: path)
        try log.close()
        var configuration = configuration(path)
        configuration.projectionUpkeep = .background(readYourWrites: .seconds(2))
        let initialized = try await Service.initialize(configuration, admin: "admin")
        let service = initialized.service
        let admin = try await service.authenticate(initialized.adminToken)
        _ = try await admin.rebuild(nil)
        guard let token = initialized.adminToken else { throw ValidationError("the history log has users already") }
        var random = SplitMix64(seed: 3)
        let picks = (0..<connections).map { _ in (0..<10_000).map { _ in random.int(0...(clients - 1)) } }
        let (latencies, elapsed) = try await timed(tasks: connections, rounds: 10_000) { task, round in
            _ = try await admin.history(client: String(format: "%07d", picks[task][round]))
        }
        let inProcessP99 = percentile(latencies, 0.99) * 1_000
        let events = Int(try await admin.stats().events)
        Figure(name: "history-in-process", events: latencies.count, seconds: elapsed, extra: [
            "connections": .int(Int64(connections)), "logEvents": .int(Int64(events)),
            "p50Ms": round3(percentile(latencies, 0.50) * 1_000), "p99Ms": round3(inProcessP99),
        ]).print()
        try service.close()

        let server = try ServerProcess(stipple: stipple, configuration: configuration)
        defer { server.stop() }
        let script = folder + "/histories.lua"
        try """
            math.randomseed(7)
            request = function()
              local client = string.format("%07d", math.random(0, \(clients - 1)))
              return wrk.format("GET", "/v1/clients/" .. client .. "/history", {["Authorization"] = "Bearer \(token)"})
            end
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let result = try WRK.run(url: "http://127.0.0.1:\(server.port)", connections: connections, seconds: seconds, script: script)
        Figure(name: "http-read-history", events: result.requests, seconds: Double(seconds), extra: [
            "connections": .int(Int64(connections)), "logEvents": .int(Int64(events)), "p50Ms": round3(result.p50Ms),
            "p99Ms": round3(result.p99Ms), "non2xx": .int(Int64(result.non2xx)), "p99VsInProcess": round3(result.p99Ms / inProcessP99),
            "targetP99VsInProcess": .double(3), "met": .bool(result.p99Ms <= 3 * inProcessP99 && result.non2xx == 0),
        ]).print()
    }
}

extension HTTPBench {
    /// Waits until the projections hold every event: each timed run starts as a server's
    /// steady state does, with no registration backlog for the upkeep to fold.
    func caughtUp(_ service: Service) async throws {
        let upkeep = Task { await service.keepProjectionsCurrent() }
        defer { upkeep.cancel() }
        while try await service.projectionLag() > 0 { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Runs `body` in `tasks` concurrent tasks, `rounds` times each or until the run's
    /// seconds are over: every call's latency, and the seconds the whole run took.
    func timed(
        tasks: Int, rounds: Int, _ body: @escaping @Sendable (_ task: Int, _ round: Int) async throws -> Void
    ) async throws -> (latencies: [Double], seconds: Double) {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var own: [Double] = []
                    for round in 0..<rounds where ContinuousClock.now < deadline {
                        let clock = ContinuousClock.now
                        try await body(task, round)
                        own.append(inSeconds(ContinuousClock.now - clock))
                    }
                    return own
                }
            }
            var all: [Double] = []
            for try await own in group { all += own }
            return all
        }
        return (latencies, inSeconds(ContinuousClock.now - started))
    }
}

func inSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
}

/// `stipple serve` in a process of its own, on a free port.
final class ServerProcess {
    let process = Process()
    let port: Int

    init(stipple: String, configuration: ServiceConfiguration) throws {
        process.executableURL = URL(fileURLWithPath: stipple)
        process.arguments = ["serve", "--port", "0", "--db", configuration.databasePath]
        var environment = ProcessInfo.processInfo.environment
        environment["STIPPLE_MASTER_KEY_FILE"] = configuration.masterKeyPath
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while !seen.contains("\n"), process.isRunning { seen += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self) }
        guard let match = seen.firstMatch(of: /127\.0\.0\.1:(\d+)/), let port = Int(match.1) else {
            process.terminate()
            throw ValidationError("stipple serve did not start: \(seen)")
        }
        self.port = port
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// wrk, Debian's HTTP load generator, and what it printed.
enum WRK {
    struct Result {
        var requests: Int
        var rate: Double
        var p50Ms: Double
        var p99Ms: Double
        var non2xx: Int
    }

    static func run(url: String, connections: Int, seconds: Int, script: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = ["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "--timeout", "30s", "-s", script, url]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        func milliseconds(_ label: String) -> Double {
            guard let match = text.firstMatch(of: try! Regex("\\s\(label)%\\s+([0-9.]+)(us|ms|s)")) else { return -1 }
            let value = Double(match[1].substring ?? "") ?? -1
            switch match[2].substring ?? "" {
            case "us": return value / 1_000
            case "s": return value * 1_000
            default: return value
            }
        }
        let requests = Int(text.firstMatch(of: /(\d+) requests in/)?.1 ?? "") ?? 0
        let rate = Double(text.firstMatch(of: /Requests\/sec:\s+([0-9.]+)/)?.1 ?? "") ?? 0
        let non2xx = Int(text.firstMatch(of: /Non-2xx or 3xx responses: (\d+)/)?.1 ?? "") ?? 0
        guard requests > 0 else { throw ValidationError("wrk made no request:\n\(text)") }
        return Result(requests: requests, rate: rate, p50Ms: milliseconds("50"), p99Ms: milliseconds("99"), non2xx: non2xx)
    }
}
