import ArgumentParser
import Foundation
import StippleService

extension Stipple {
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the log to a new file while appends go on, and verify the copy.",
            discussion: """
                The copy is a consistent snapshot (SQLite's online backup). It is verified, and its \
                head hash compared with the original's, before it appears at DEST; DEST must not exist.
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: ArgumentHelp("Where to write the copy (must not exist).", valueName: "dest"))
        var destination: String

        func run() async throws {
            try await reportingFailures {
                Interruption.removeScratchFilesOnSignal()
                let report = try await options.session().backup(to: destination)
                Output.line("Backed up \(report.eventCount) events to \(destination) (verified; head hash \(report.head.hashHex)).")
                Output.flush()
            }
        }
    }
}
