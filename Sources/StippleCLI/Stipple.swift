import ArgumentParser
import EventLog
import Foundation
import Logging
import StippleService

/// The `stipple` command.
@main
struct Stipple: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stipple",
        abstract: "Treatment records of scalp-micropigmentation clinics, kept as a tamper-evident event log.",
        discussion: """
            The log is one SQLite file (default ./stipple.sqlite; --db or STIPPLE_DB to choose another).

            Every command but `init` takes an access token from STIPPLE_TOKEN (or --token) and \
            checks its user's role and clinics before doing anything.

            Exit codes: 0 success; 1 failure (verify found a break, disk full, I/O); \
            2 bad input or not a Stipple log; 3 version conflict; 4 refused by the domain's rules; \
            5 refused access (no, wrong or disabled token, or a permission the user lacks).
            """,
        version: StippleVersion.current,
        subcommands: [
            Init.self, Client.self, Batch.self, Tech.self, Clinic.self, Form.self, Do.self, Demo.self, Append.self, Read.self, Verify.self, Stats.self, Backup.self, Compress.self,
            History.self, Report.self, Rebuild.self, ReportsGroup.self, User.self, Keys.self, Serve.self,
        ]
    )

    /// ArgumentParser's own entry point, but wrong usage exits 2 (bad input), as every
    /// other bad input does, instead of its default 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(Failure.Code.badInput.rawValue)
            }
            exit(withError: error)
        }
    }
}

enum StippleVersion {
    static let current = "0.1.0"
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The log file (default: $STIPPLE_DB, or ./stipple.sqlite).", valueName: "path"))
    var db: String?

    @Flag(name: .long, help: "Log what the command does to standard error.")
    var verbose = false

    @Option(name: .long, help: ArgumentHelp(
        "Your access token (default: $STIPPLE_TOKEN). Prefer the variable: a flag shows in the process list.", valueName: "token"))
    var token: String?

    /// The log's path: --db, then STIPPLE_DB, then ./stipple.sqlite.
    var path: String {
        if let db, !db.isEmpty { return db }
        if let env = ProcessInfo.processInfo.environment["STIPPLE_DB"], !env.isEmpty { return env }
        return "./stipple.sqlite"
    }

    /// The token: `--token`, else `STIPPLE_TOKEN`.
    var accessToken: String? {
        if let token, !token.isEmpty { return token }
        return ProcessInfo.processInfo.environment["STIPPLE_TOKEN"]
    }

    /// The master key file: `STIPPLE_MASTER_KEY_FILE`, else `./stipple.key`.
    var masterKeyPath: String {
        if let path = ProcessInfo.processInfo.environment["STIPPLE_MASTER_KEY_FILE"], !path.isEmpty { return path }
        return "./stipple.key"
    }

    var logger: Logger {
        var logger = Logger(label: "stipple") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .warning
        return logger
    }

    /// How the application layer is opened for this command (a long catch-up of the
    /// reports shows its progress on standard error).
    func configuration(readOnly: Bool = false) -> ServiceConfiguration {
        var configuration = ServiceConfiguration(databasePath: path, masterKeyPath: masterKeyPath, logger: logger)
        configuration.readOnly = readOnly
        configuration.catchUpProgress = ProgressPrinter(delay: 1).callAsFunction
        return configuration
    }

    /// Opens the log and authenticates the token: every command but `init` starts here.
    func session(readOnly: Bool = false) async throws -> Session {
        try await Service.open(configuration(readOnly: readOnly)).authenticate(accessToken)
    }
}

/// Why a record is shown (`--reason`): required for a confidential client, kept in the
/// access log with every read.
struct PurposeOption: ParsableArguments {
    @Option(name: .customLong("reason"), help: ArgumentHelp(
        "Why you look (kept in the access log; required for a confidential client).", valueName: "text"))
    var purpose: String?
}

/// Reads a command's input: a file, or standard input for `-`.
func readInput(_ file: String) throws -> [UInt8] {
    if file == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
    guard let data = FileManager.default.contents(atPath: file) else {
        throw Failure.badInput("cannot read \(file): no such file, or it is not readable")
    }
    return Array(data)
}

/// Prints where each recorded event landed, one JSON line each, and a warning when the
/// reports could not be brought up to date after it.
func printRecorded(_ recorded: Recorded) {
    for event in recorded.events { Output.line(EventJSON.appended(event).canonicalBytes) }
    Output.flush()
    if let error = recorded.reportsNotCaughtUp {
        Output.error("warning: the events were recorded, but the reports could not be brought up to date: \(Failure.from(error).message)")
    }
}
