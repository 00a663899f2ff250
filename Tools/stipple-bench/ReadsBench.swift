import ArgumentParser
import EventLog
import Foundation
import Reports

extension StippleBench {
    /// The read path alone on a log kept between runs: to compare a change to reading
    /// (`read-all`, `replay-decode`) with its `scan-ceiling` without filling a log each time.
    struct Reads: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time scan-ceiling, read-all and replay-decode on a kept log (filled with W1 once).",
            discussion: """
                Fills the log at --path with W1 (protobuf, not timed) when it does not exist, \
                then prints scan-ceiling, read-all and replay-decode --runs times each, with \
                "run" on each line and the process's RSS after the reads (rssMb).
                """)

        @Option(help: "The log (kept: filled only when missing).")
        var path: String

        @Option(help: "Events of a log filled here (rounded to whole W1 clients of 7 events).")
        var events = 1_000_000

        @Option(help: "Times each figure is measured.")
        var runs = 3

        mutating func run() async throws {
            if !FileManager.default.fileExists(atPath: path) {
                let log = try await ReportsBench.filledLog(clients: max(1, (events + 6) / 7), path: path)
                try log.close()
            }
            for run in 1...max(1, runs) {
                let tag: [String: JSONValue] = ["run": .int(Int64(run))]
                try await ScanCeiling.figure(path: path, extra: tag).print()
                let log = try EventLog(path: path)
                var readAll = try await ReplayFigures.readAll(log, extra: tag)
                readAll.extra["rssMb"] = round3(Double(procStatusKilobytes("VmRSS")) / 1024)
                readAll.print()
                try await ReplayFigures.replayDecode(log, extra: tag).print()
                try log.close()
            }
        }
    }

    /// A rebuild on a log kept between runs (its reports as they are: the rebuild replaces
    /// them and removes the generations it replaced), for a change to the rebuild at a
    /// size too slow to fill each time.
    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time rebuild-all, or one report's rebuild, on a kept log.",
            discussion: "Prints the same line as `scale`'s rebuild-all or rebuild-<name> (writer hold, folds, index fill, removal).")

        @Option(help: "The log (a W1 log `scale` or `reads` filled).")
        var path: String

        @Option(help: "The report to rebuild alone (default: every report, rebuild-all).")
        var report: String?

        mutating func run() async throws {
            let log = try EventLog(path: path)
            let bench = ReportsBench(folder: (path as NSString).deletingLastPathComponent)
            if let report {
                try await bench.rebuildOneFigure(ClinicReports(log: log), name: report)
            } else {
                _ = try await bench.rebuildFigure(log: log)
            }
            try log.close()
        }
    }
}
