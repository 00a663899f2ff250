import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `stipple serve`, run as an operator would: a real server on a free loopback port.
@Suite("stipple serve")
struct ServeCLITests {
    /// A running server and the port it listens on; stopped by `stop()` (and on deinit).
    final class Server: @unchecked Sendable {
        // `@unchecked`: a test uses it from one task.
        let process = Process()
        let port: Int
        /// What the server logs (standard error).
        let logFile: String

        init(_ cli: CLI, arguments: [String] = []) throws {
            process.executableURL = CLI.binary
            process.arguments = ["serve", "--port", "0"] + arguments
            process.currentDirectoryURL = URL(fileURLWithPath: cli.folder)
            var environment = ProcessInfo.processInfo.environment
            environment["STIPPLE_DB"] = cli.database
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            logFile = cli.folder + "/server-\(UUID().uuidString.prefix(8)).log"
            FileManager.default.createFile(atPath: logFile, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: logFile)
            try process.run()
            var seen = ""
            let deadline = Date().addingTimeInterval(20)
            while !seen.contains("\n"), Date() < deadline, process.isRunning {
                seen += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            }
            guard let match = seen.firstMatch(of: /(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)/), let port = Int(match.1) else {
                process.terminate()
                throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "the server printed no address: \(seen)"])
            }
            self.port = port
        }

        /// SIGTERM, then its exit status.
        func stop() -> Int32 {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit { if process.isRunning { process.terminate() } }

        func request(
            _ path: String, method: String = "GET", token: String? = nil, body: String? = nil, using session: URLSession = .shared
        ) async throws -> (Int, String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
    }

    @Test("it serves the API on a loopback port, and stops on SIGTERM with the log intact")
    func serveAndStop() async throws {
        let cli = try CLI()
        try cli.run(["init"])
        let server = try Server(cli)
        #expect(try await server.request("/healthz").0 == 200)
        let token = try #require(cli.tokens.token)
        let (status, body) = try await server.request(
            "/v1/commands", method: "POST", token: token,
            body: #"[{"command":"record","stream":"client-42","type":"ClientRegistered","data":{"clinicId":"toronto","personal":{"name":"Over HTTP"}}}]"#)
        #expect(status == 201, "\(body)")
        #expect(try await server.request("/v1/stats").0 == 401)
        let metrics = try await server.request("/metrics")
        #expect(metrics.0 == 200)
        for name in ["stipple_append_seconds", "stipple_group_commit_jobs", "stipple_projection_lag_events", "hb_requests"] {
            #expect(metrics.1.contains(name), "\(name) missing from /metrics")
        }
        #expect(try await server.request("/v1/clients/42/history", token: token).0 == 200)
        #expect(server.stop() == 0, "a graceful stop")
        // One structured line per request: the route's template, never the path with the
        // client's id, no token, no personal data.
        let logged = try String(contentsOfFile: server.logFile, encoding: .utf8)
        #expect(logged.contains("http.route=/v1/clients/{client}/history"), "\(logged)")
        for secret in [token, "Over HTTP", "/v1/clients/42"] { #expect(!logged.contains(secret), "the log holds \(secret)") }
        let verified = try cli.json(try cli.run(["verify", "--json"]).stdout)
        #expect(verified["intact"] as? Bool == true)
        #expect(try cli.run(["history", "42"]).stdout.contains("Over HTTP"))
    }

    @Test("--log-level warning leaves out the line per request")
    func quieter() async throws {
        let cli = try CLI()
        try cli.run(["init"])
        let server = try Server(cli, arguments: ["--log-level", "warning"])
        #expect(try await server.request("/healthz").0 == 200)
        #expect(try await server.request("/v1/stats").0 == 401)
        #expect(server.stop() == 0)
        let logged = try String(contentsOfFile: server.logFile, encoding: .utf8)
        #expect(!logged.contains("http.route="), "\(logged)")
    }

    @Test("with a certificate and its key it serves HTTPS, also on an address other machines reach")
    func tls() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                             "-keyout", cli.folder + "/key.pem", "-out", cli.folder + "/cert.pem"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let server = try Server(cli, arguments: ["--hostname", "0.0.0.0", "--tls-cert", cli.folder + "/cert.pem", "--tls-key", cli.folder + "/key.pem"])
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "--cacert", cli.folder + "/cert.pem", "https://127.0.0.1:\(server.port)/healthz"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let body = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        #expect(body.contains(#""status":"up""#), "\(body)")
        #expect(server.stop() == 0)
    }

    @Test("it refuses plain HTTP on an address other machines reach, half a TLS pair, and an unknown log level")
    func refusals() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let open = try cli.run(["serve", "--hostname", "0.0.0.0", "--port", "0"])
        #expect(open.status == 2)
        #expect(open.stderr.contains("refusing to serve plain HTTP on 0.0.0.0"), "\(open.stderr)")
        let half = try cli.run(["serve", "--tls-cert", "cert.pem"])
        #expect(half.status == 2)
        #expect(half.stderr.contains("Give both --tls-cert and --tls-key"))
        let loud = try cli.run(["serve", "--port", "0", "--log-level", "loud"])
        #expect(loud.status == 2)
        #expect(loud.stderr.contains("The value 'loud' is invalid for '--log-level <level>'"), "\(loud.stderr)")
    }

    @Test("SIGKILL under load loses no acknowledged write; the log verifies after")
    func killedUnderLoad() async throws {
        let cli = try CLI()
        try cli.run(["init"])
        try cli.publishForm(version: "v5")
        try cli.run(["client", "register", "--client", "42", "--clinic", "toronto", "--name", "A. Client", "--at", "2026-02-20T10:00"])
        let server = try Server(cli)
        let token = try #require(cli.tokens.token)
        let count = Counter()
        let killed = Counter()
        let seen = Seen()
        // Its own connections, with a short timeout: a request stuck on a loaded machine is
        // tried again rather than holding its writer for URLSession's default minute.
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        let load = URLSession(configuration: configuration)
        let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var ids: [String] = []
                    for round in 0..<10_000 {
                        let body = #"[{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v5","witnessId":"w\#(writer)-\#(round)","coversProcedure":true}}]"#
                        let answer: (Int, String)?
                        do { answer = try await server.request("/v1/commands", method: "POST", token: token, body: body, using: load) } catch {
                            answer = nil
                            await seen.note("error \(error.localizedDescription)")
                        }
                        guard let (status, text) = answer else {
                            // A request that fails before the kill (a loaded machine's timeout)
                            // is tried again; after the kill, the writer stops.
                            if await killed.value > 0 { break }
                            try await Task.sleep(for: .milliseconds(50))
                            continue
                        }
                        if status != 201 { await seen.note("status \(status): \(text.prefix(200))") }
                        if status == 201, let id = text.firstMatch(of: /"id":"([0-9a-f-]+)"/)?.1 {
                            ids.append(String(id))
                            await count.add()
                        }
                    }
                    return ids
                }
            }
            // Kill it in the middle of the load: once some writes were acknowledged (however
            // slow the machine), while the writers keep sending.
            let deadline = Date().addingTimeInterval(120)
            while await count.value < 40, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            await killed.add()
            kill(server.process.processIdentifier, SIGKILL)
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        server.process.waitUntilExit()
        let log = (try? String(contentsOfFile: server.logFile, encoding: .utf8)) ?? ""
        let met = await seen.summary
        #expect(acknowledged.count > 0, "some writes were acknowledged before the kill; seen: \(met); server log: \(log.suffix(1_500))")
        let stored = Set(try cli.run(["read", "client-42"]).lines.compactMap { try? cli.json($0)["id"] as? String })
        #expect(acknowledged.allSatisfy(stored.contains), "\(acknowledged.filter { !stored.contains($0) }.count) acknowledged writes are missing")
        let verified = try cli.json(try cli.run(["verify", "--json"]).stdout)
        #expect(verified["intact"] as? Bool == true)
    }

    @Test("a client that disconnects mid-request writes nothing and leaves the server serving")
    func disconnectMidRequest() async throws {
        let cli = try CLI()
        try cli.run(["init"])
        let server = try Server(cli)
        let before = try cli.run(["verify", "--json"]).stdout
        let token = try #require(cli.tokens.token)
        let body = #"[{"command":"record","stream":"client-42","type":"ClientRegistered","data":{"clinicId":"toronto"}}]"#
        let head = "POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        for _ in 0..<5 { try Self.sendAndHangUp(port: server.port, Array((head + body.prefix(30)).utf8)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await server.request("/healthz").0 == 200, "still serving")
        #expect(server.stop() == 0)
        #expect(try cli.run(["verify", "--json"]).stdout == before, "nothing was written")
    }

    /// Connects, writes `bytes` (a request cut short) and closes the connection.
    static func sendAndHangUp(port: Int, _ bytes: [UInt8]) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EIO) }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        _ = bytes.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
    }
}

/// Acknowledged writes, counted across the writers.
/// What the writers of a load test met, other than success (for the failure's message).
actor Seen {
    private var counts: [String: Int] = [:]
    func note(_ what: String) { counts[what, default: 0] += 1 }
    var summary: String { counts.sorted { $0.value > $1.value }.prefix(5).map { "\($0.value)× \($0.key)" }.joined(separator: "; ") }
}

actor Counter {
    private(set) var value = 0
    func add() { value += 1 }
}
