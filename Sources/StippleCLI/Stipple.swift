import ArgumentParser
import EventLog
import Foundation
import Logging
import Recording
import Discretion

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
            Init.self, Client.self, Batch.self, Tech.self, Clinic.self, Do.self, Demo.self, Append.self, Read.self, Verify.self, Stats.self, Backup.self, Compress.self,
            History.self, Report.self, Rebuild.self, ReportsGroup.self, User.self, Keys.self,
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

    var logger: Logger {
        var logger = Logger(label: "stipple") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .warning
        return logger
    }

    /// Opens the log, refusing one that holds events this build cannot read.
    func open(readOnly: Bool = false) async throws -> EventLog {
        var configuration = EventLog.Configuration()
        configuration.readOnly = readOnly
        let log = try EventLog(path: path, configuration: configuration, logger: logger)
        let unreadable = try await Recorder.unreadableVersions(in: log)
        if !unreadable.isEmpty {
            let names = unreadable.map { "\($0.type) version \($0.version)" }.joined(separator: ", ")
            throw Failure(
                code: .failure,
                message: "\(path) holds events this Stipple cannot read (\(names)): a newer Stipple wrote them, or they are not Stipple events. Upgrade Stipple; nothing was changed.")
        }
        return log
    }
}
