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

        init(_ cli: CLI, arguments: [String] = []) throws {
            process.executableURL = CLI.binary
            process.arguments = ["serve", "--port", "0"] + arguments
            process.currentDirectoryURL = URL(fileURLWithPath: cli.folder)
            var environment = ProcessInfo.processInfo.environment
            environment["STIPPLE_DB"] = cli.database
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var seen = ""
            let deadline = Date().addingTimeInterval(20)
            while !seen.contains("\n"), Date() < deadline, process.isRunning {
                seen += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            }
            guard let match = seen.firstMatch(of: /127\.0\.0\.1:(\d+)/), let port = Int(match.1) else {
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

        func request(_ path: String, method: String = "GET", token: String? = nil, body: String? = nil) async throws -> (Int, String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
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
        #expect(server.stop() == 0, "a graceful stop")
        let verified = try cli.json(try cli.run(["verify", "--json"]).stdout)
        #expect(verified["intact"] as? Bool == true)
        #expect(try cli.run(["history", "42"]).stdout.contains("Over HTTP"))
    }

    @Test("it refuses plain HTTP on an address other machines reach, and half a TLS pair")
    func refusals() throws {
        let cli = try CLI()
        try cli.run(["init"])
        let open = try cli.run(["serve", "--hostname", "0.0.0.0", "--port", "0"])
        #expect(open.status == 2)
        #expect(open.stderr.contains("refusing to serve plain HTTP on 0.0.0.0"), "\(open.stderr)")
        let half = try cli.run(["serve", "--tls-cert", "cert.pem"])
        #expect(half.status == 2)
        #expect(half.stderr.contains("Give both --tls-cert and --tls-key"))
    }
}
