import ArgumentParser
import Foundation
import Logging
import StippleServer
import StippleService

extension Stipple {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the chain's log over HTTP: the API under /v1 (see /openapi.json), on the same rules as every command.",
            discussion: """
                One server for the chain: the clinics connect over HTTPS, with the tokens of `stipple user add` \
                (`Authorization: Bearer <token>`). Without --tls-cert and --tls-key it listens on loopback only \
                (put a TLS proxy in front), unless --insecure-http. The reports are kept current in the \
                background; /healthz, /readyz and /metrics (Prometheus) need no token. SIGTERM or Ctrl-C stops \
                it gracefully: requests in flight finish, then the log is closed.
                """)

        @OptionGroup var options: GlobalOptions

        @Option(help: ArgumentHelp("The address to listen on.", valueName: "host"))
        var hostname = "127.0.0.1"

        @Option(help: ArgumentHelp("The port (0: any free one, printed when listening).", valueName: "port"))
        var port = 8080

        @Option(name: .customLong("tls-cert"), help: ArgumentHelp("The certificate chain, PEM.", valueName: "file"))
        var tlsCertificate: String?

        @Option(name: .customLong("tls-key"), help: ArgumentHelp("Its private key, PEM.", valueName: "file"))
        var tlsKey: String?

        @Flag(name: .customLong("insecure-http"), help: "Serve plain HTTP on an address other machines can reach (not for a real chain).")
        var insecureHTTP = false

        @Option(name: .customLong("max-body-mb"), help: ArgumentHelp("The largest request body read, in MiB.", valueName: "MiB"))
        var maxBodyMegabytes = 8

        @Option(name: .customLong("max-feed-wait"), help: ArgumentHelp("The longest a feed request (GET /v1/events?wait=) waits for new events, in seconds.", valueName: "seconds"))
        var maxFeedWait = 30

        @Option(name: .customLong("log-level"), help: ArgumentHelp(
            "The least severe log lines written to standard error: trace, debug, info (a line per request), notice, warning, error, critical.",
            valueName: "level"))
        var logLevel: LogLevel = .info

        @Option(name: .customLong("idle-lock"), help: ArgumentHelp(
            "A page session idle this many minutes locks (its user's password opens it again): clinic tablets are shared.",
            valueName: "minutes"))
        var idleLockMinutes = 10

        @Option(name: .customLong("idle-lock-seconds"), help: .hidden)
        var idleLockSeconds: Int?

        @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp(
            "The IP address of a reverse proxy in front of the server (repeat for several): sign-ins through it are throttled by the address its X-Forwarded-For gives, not by the proxy's.",
            valueName: "address"))
        var trustedProxies: [String] = []

        @Option(name: .customLong("public-url"), help: ArgumentHelp(
            "The address people open the pages at, e.g. https://stipple.example.ca: invite links are built on it. Default: the address the admin's request came to.",
            valueName: "url"))
        var publicURL: String?

        @Option(name: .customLong("backup-folder"), help: ArgumentHelp(
            "The folder the pages' and the API's backups go into (made when first used); they name a file in it, never a path. Default: backups beside the log.",
            valueName: "folder"))
        var backupFolder: String?

        func validate() throws {
            if !(1...240).contains(idleLockMinutes) { throw ValidationError("--idle-lock must be 1 to 240 minutes, not \(idleLockMinutes).") }
            if let idleLockSeconds, !(1...14_400).contains(idleLockSeconds) { throw ValidationError("--idle-lock-seconds must be 1 to 14400.") }
            if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("Give both --tls-cert and --tls-key, or neither.") }
            if !(1...1_024).contains(maxBodyMegabytes) { throw ValidationError("--max-body-mb must be 1 to 1024, not \(maxBodyMegabytes).") }
            if !(0...3_600).contains(maxFeedWait) { throw ValidationError("--max-feed-wait must be 0 to 3600 seconds, not \(maxFeedWait).") }
        }

        func run() async throws {
            try await reportingFailures {
                var server = ServerConfiguration()
                server.hostname = hostname
                server.port = port
                server.insecureHTTP = insecureHTTP
                server.maxBodyBytes = maxBodyMegabytes << 20
                server.maxFeedWait = .seconds(maxFeedWait)
                if let tlsCertificate, let tlsKey { server.tls = (tlsCertificate, tlsKey) }
                server.trustedProxies = Set(trustedProxies)
                server.publicURL = publicURL
                do { try server.validate() } catch { throw Failure.badInput("\(error)") }
                var configuration = options.configuration()
                configuration.projectionUpkeep = .background(readYourWrites: .seconds(2))
                if let backupFolder { configuration.backupFolder = URL(fileURLWithPath: backupFolder).standardizedFileURL.path }
                configuration.backupsByNameOnly = true
                configuration.catchUpProgress = nil
                // The browser tests lock after seconds; people set minutes.
                configuration.signIn.idleLock = .seconds(idleLockSeconds ?? idleLockMinutes * 60)
                var logger = options.logger
                logger.logLevel = options.verbose ? .debug : logLevel.level
                configuration.logger = logger
                let service = try await Service.open(configuration)
                let scheme = server.tls == nil ? "http" : "https"
                let host = hostname.contains(":") ? "[\(hostname)]" : hostname
                try await StippleServer.serve(service: service, configuration: server, logger: logger) { port in
                    Output.line("Serving \(options.path) on \(scheme)://\(host):\(port) (pages: /, API: /v1, its description: /openapi.json). Ctrl-C stops.")
                    Output.flush()
                }
                try service.close()
            }
        }
    }
}

/// A log level as `--log-level` names it (swift-log's levels).
struct LogLevel: ExpressibleByArgument {
    let level: Logger.Level

    static let info = LogLevel(level: .info)

    init(level: Logger.Level) { self.level = level }

    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        self.level = level
    }

    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
    var defaultValueDescription: String { level.rawValue }
}
