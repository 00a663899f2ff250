import ArgumentParser
import EventLog
import Foundation

extension Stipple {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new, empty log.",
            discussion: """
                Creates the log file. An existing Stipple log is left as it is; a file that is \
                not a Stipple log is refused and left untouched (exit 2).
                """)

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await reportingFailures {
                let path = options.path
                if FileManager.default.fileExists(atPath: path) {
                    let log = try await options.open(readOnly: true)
                    let head = try await log.head()
                    Output.line("\(path) is already a Stipple log (\(head.position) events); nothing to do.")
                    Output.flush()
                    return
                }
                _ = try EventLog.create(at: path, logger: options.logger)
                Output.line("Created an empty Stipple log at \(path).")
                Output.flush()
            }
        }
    }
}
