import ArgumentParser
import EventLog
import Foundation
import StippleService

extension Stipple {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that nothing in the log was altered, inserted, reordered or removed.",
            discussion: """
                Recomputes every chain hash, checks that positions and stream versions have no gap \
                and that every payload decodes, and that the users table says what the user events \
                say. Exit 0 with the count and head hash; exit 1 naming the first break (its position \
                and kind: altered, missing, inserted, reordered), the immutability triggers that are \
                missing, or each user whose row was edited outside Stipple.

                Keep the printed head hash somewhere else: comparing it later also proves that no \
                event was removed from the end.
                """)

        @OptionGroup var options: GlobalOptions

        @Flag(help: "Print the result as one JSON object.")
        var json = false

        func run() async throws {
            try await reportingFailures {
                let session = try await options.session(readOnly: true)
                let showProgress = Output.stderrIsTerminal && !json
                let started = Date()
                let progress: (@Sendable (Int64, Int64) -> Void)?
                if showProgress {
                    progress = { done, total in Output.progress("\rverifying: \(done) of \(total) events") }
                } else {
                    progress = nil
                }
                let verification = try await session.verify(progress: progress)
                let report = verification.log
                if showProgress { Output.progress("\r\u{1B}[K") }
                let seconds = Date().timeIntervalSince(started)
                if json {
                    Output.line(verification.json.canonicalBytes)
                } else if verification.isIntact {
                    Output.line("ok: \(report.eventCount) events verified in \(String(format: "%.2f", seconds)) s; head position \(report.head.position), hash \(report.head.hashHex)")
                }
                Output.flush()
                if !verification.isIntact {
                    if !json {
                        if let problem = report.firstBreak {
                            Output.error("the log is broken: \(problem.kind.rawValue) at position \(problem.position): \(problem.detail)")
                        }
                        if !report.missingTriggers.isEmpty {
                            Output.error("the immutability triggers are missing: \(report.missingTriggers.joined(separator: ", "))")
                        }
                        for mismatch in verification.userMismatches {
                            Output.error("the users table differs from the log: \(mismatch)")
                        }
                        for mismatch in verification.photoMismatches { Output.error(mismatch) }
                    }
                    throw ExitCode(Failure.Code.failure.rawValue)
                }
            }
        }
    }
}
