import ArgumentParser
import EventLog
import Foundation

/// `stipple-bench`: the figures of the event log's targets, as JSON lines.
@main
struct StippleBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stipple-bench",
        abstract: "Measure the event log (release build) and print one JSON line per figure.",
        subcommands: [Run.self, ReportFigures.self, Scale.self, ScaleOne.self, Reads.self, Rebuild.self, HTTPFigures.self, Generate.self],
        defaultSubcommand: Run.self)
}

extension StippleBench {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print workload W1 as JSON lines for `stipple append`.")

        @Option(help: "How many clients (7 events each).")
        var clients = 20

        @Option(help: "Seed of the generator.")
        var seed: UInt64 = 1

        @Option(help: "Number of the first client (to add more clients to a log).")
        var first = 1

        func run() throws {
            var workload = W1(seed: seed &+ UInt64(first))
            var out = [UInt8]()
            for index in first..<(first + clients) {
                for event in workload.client(index) {
                    var line: [String: JSONValue] = [
                        "stream": .string(event.stream), "type": .string(event.type),
                        "id": .string(event.id.uuidString.lowercased()),
                        "data": try JSONValue.parse(event.payload), "metadata": event.metadata.jsonValue,
                    ]
                    if case .exactly(let version) = event.expectedVersion { line["expectedVersion"] = .int(version) }
                    JSONValue.object(line).write(to: &out)
                    out.append(0x0A)
                }
            }
            FileHandle.standardOutput.write(Data(out))
        }
    }
}
