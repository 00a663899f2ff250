import ArgumentParser
import Foundation
import StippleService

extension Stipple {
    struct Compress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage payload compression.",
            subcommands: [Train.self])

        struct Train: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Train a new LZ4 dictionary from recent payloads and use it for new events.",
                discussion: """
                    The log trains one by itself when it reaches 1,000 events and each time it has grown \
                    tenfold since (10,000, 100,000, …). Train by hand after event shapes change (a new \
                    schema version). Stored events keep the dictionary they were written with.
                    """)

            @OptionGroup var options: GlobalOptions

            func run() async throws {
                try await reportingFailures {
                    guard let report = try await options.session().trainDictionary() else {
                        Output.line("The log has no events to learn from yet; nothing trained.")
                        Output.flush()
                        return
                    }
                    Output.line(
                        "Trained codec \(report.codecID): a \(report.dictionaryBytes)-byte dictionary from \(report.samples) payloads; "
                            + "ratio on them \(String(format: "%.3f", report.ratioBefore)) before, \(String(format: "%.3f", report.ratioAfter)) now.")
                    Output.flush()
                }
            }
        }
    }
}
