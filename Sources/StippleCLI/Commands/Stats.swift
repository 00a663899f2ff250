import ArgumentParser
import EventLog
import Foundation
import StippleService

extension Stipple {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the log's size, compression per codec, and head.")

        @OptionGroup var options: GlobalOptions

        @Flag(help: "Print the figures as one JSON object.")
        var json = false

        func run() async throws {
            try await reportingFailures {
                let stats = try await options.session(readOnly: true).stats()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    Output.line(Array(try encoder.encode(stats)))
                } else {
                    Output.line("events           \(stats.events)")
                    Output.line("streams          \(stats.streams)")
                    Output.line("file bytes       \(stats.fileBytes)")
                    Output.line("database bytes   \(stats.databaseBytes)")
                    Output.line("bytes per event  \(String(format: "%.1f", stats.bytesPerEvent))")
                    Output.line("head             \(stats.headPosition) \(stats.headHash)")
                    Output.line("codec  kind      dictionary  events      raw bytes    stored bytes  ratio")
                    for codec in stats.codecs {
                        let current = codec.id == stats.currentCodec ? " (current)" : ""
                        Output.line(
                            pad(String(codec.id), 7) + pad(codec.kind, 10) + pad(String(codec.dictionaryBytes), 12)
                                + pad(String(codec.events), 12) + pad(String(codec.rawBytes), 13)
                                + pad(String(codec.storedBytes), 14) + String(format: "%.3f", codec.ratio) + current)
                    }
                }
                Output.flush()
            }
        }

        private func pad(_ text: String, _ width: Int) -> String {
            text + String(repeating: " ", count: max(1, width - text.count))
        }
    }
}
