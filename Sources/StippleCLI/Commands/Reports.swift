import ArgumentParser
import EventLog
import Foundation
import Reports
import StippleService

/// How a report is printed.
struct ReportFormatOptions: ParsableArguments {
    @Flag(help: "Print the report as one JSON object: its sections, each with its rows as objects.")
    var json = false

    @Flag(help: "Print the report as CSV (a header line per section; sections apart by a blank line).")
    var csv = false

    func validate() throws {
        if json && csv { throw ValidationError("Choose one of --json and --csv.") }
    }
}

/// Prints a report in the format asked for; the notice (if any) goes to standard error.
func printReport(_ report: ClinicReports.Report, format: ReportFormatOptions) {
    if let notice = report.notice { Output.error("notice: \(notice)") }
    if format.json {
        Output.line(report.json.canonicalBytes)
    } else if format.csv {
        for line in report.csvLines { Output.line(line) }
    } else {
        for (index, section) in report.sections.enumerated() {
            if index > 0 { Output.line("") }
            Output.line(printable(section.title))
            for line in alignedTable(section) { Output.line(line) }
            for note in section.notes { Output.line(printable(note)) }
        }
    }
    Output.flush()
}

/// Text as a terminal shows it harmlessly: control characters (escape sequences, carriage
/// returns, newlines that would forge a row) written as `\u{…}`.
func printable(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    return text.unicodeScalars.map { isControl($0) ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
}

/// Columns padded to their widest cell; numbers aligned right.
func alignedTable(_ section: ReportTable) -> [String] {
    guard !section.rows.isEmpty else { return ["(none)"] }
    let header = section.columns.map(printable)
    let cells = section.rows.map { $0.map { printable($0.description) } }
    var widths = header.map(\.count)
    for row in cells {
        for (index, value) in row.enumerated() { widths[index] = max(widths[index], value.count) }
    }
    func line(_ cells: [String], numeric: [Bool]) -> String {
        var text = ""
        for (index, cell) in cells.enumerated() {
            let padding = String(repeating: " ", count: widths[index] - cell.count)
            let isLast = index == cells.count - 1
            text += numeric[index] ? padding + cell : (isLast ? cell : cell + padding)
            if !isLast { text += "  " }
        }
        return text
    }
    let numeric = section.rows[0].map { value -> Bool in
        switch value {
        case .int, .number: return true
        default: return false
        }
    }
    return [line(header, numeric: numeric), line(widths.map { String(repeating: "-", count: $0) }, numeric: numeric)]
        + cells.map { line($0, numeric: numeric) }
}

/// Progress of a long catch-up or rebuild on standard error: one line redrawn on a
/// terminal, plain lines (at most one every 2 seconds) otherwise.
final class ProgressPrinter: @unchecked Sendable {
    // `@unchecked`: the runtime calls the handler from one task at a time; `lock` guards the state anyway.
    private let lock = NSLock()
    private var lastPrinted: Double = -1
    private let delay: Double
    nonisolated(unsafe) private static var drawn = false

    /// - Parameter delay: print nothing for runs shorter than this (seconds).
    init(delay: Double = 0) { self.delay = delay }

    func callAsFunction(_ progress: Projector.Progress) {
        lock.lock()
        defer { lock.unlock() }
        guard progress.elapsed >= delay else { return }
        let terminal = Output.stderrIsTerminal
        let finished = progress.done >= progress.total
        guard terminal || finished || progress.elapsed - lastPrinted >= 2 else { return }
        lastPrinted = progress.elapsed
        let rate = progress.elapsed > 0 ? Double(progress.done) / progress.elapsed : 0
        let eta = rate > 0 ? Double(progress.total - progress.done) / rate : 0
        let percent = progress.total > 0 ? Double(progress.done) * 100 / Double(progress.total) : 100
        let text = "\(progress.phase): \(progress.done) of \(progress.total) \(progress.unit) (\(String(format: "%.0f", percent))%), "
            + "\(Int(rate)) \(progress.unit)/s, " + (finished ? "done in \(String(format: "%.1f", progress.elapsed)) s" : "ETA \(Int(eta.rounded(.up))) s")
        if terminal {
            Output.progress("\r\u{1B}[K" + text)
            Self.drawn = true
        } else {
            Output.progress(text + "\n")
        }
    }

    /// Ends a line redrawn on a terminal.
    static func finishLine() {
        if drawn { Output.progress("\n") }
        drawn = false
    }
}

extension Stipple {
    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild reports beside the live ones, then swap them in.",
            discussion: """
                Each projection is rebuilt into new tables in chunks of short transactions (clinicians \
                keep appending meanwhile), caught up to the head, and swapped in in one transaction; \
                until then reports read the old tables. An interrupted rebuild (Ctrl-C, a crash) goes on \
                where it stopped when run again. Run it after an upgrade that changes a report or an \
                event schema (`stipple reports status` says which are pending).

                Projections: \(ProjectionName.all.map(\.rawValue).joined(separator: ", ")).
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: ArgumentHelp("The projections to rebuild.", valueName: "name"))
        var names: [String] = []

        @Flag(help: "Rebuild every projection.")
        var all = false

        @Option(help: ArgumentHelp("At most this many events per transaction (default: as many as fit in about 40 ms with their commit).", valueName: "events"))
        var chunk: Int?

        @Option(name: .customLong("pause-ms"), help: ArgumentHelp(
            "Rest this many milliseconds between transactions, leaving more room to clinicians' appends on a busy day.", valueName: "ms"))
        var pauseMilliseconds: Int?

        func validate() throws {
            if all && !names.isEmpty { throw ValidationError("Name projections or pass --all, not both.") }
            if let unknown = names.first(where: { ProjectionName(rawValue: $0) == nil }) {
                throw ValidationError(ProjectionName.unknown(unknown).message)
            }
            if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1 event, not \(chunk).") }
            if let pauseMilliseconds, !(0...60_000).contains(pauseMilliseconds) {
                throw ValidationError("--pause-ms must be 0 to 60000, not \(pauseMilliseconds).")
            }
            if !all && names.isEmpty {
                throw ValidationError("Name the projections to rebuild (\(ProjectionName.all.map(\.rawValue).joined(separator: ", "))) or pass --all.")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let summaries = try await options.session().rebuild(
                    all ? nil : names.compactMap(ProjectionName.init(rawValue:)),
                    options: RebuildOptions(chunk: chunk, pause: pauseMilliseconds.map { .milliseconds($0) }),
                    progress: ProgressPrinter().callAsFunction)
                for summary in summaries {
                    Output.line("rebuilt \(summary.name) version \(summary.version) (generation \(summary.generation)\(summary.resumed ? ", resumed" : "")) up to event \(summary.checkpoint)")
                }
                Output.flush()
            }
        }
    }

    struct ReportsGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reports", abstract: "Look after the reports' projections.", subcommands: [Status.self])

        struct Status: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List each projection: version, checkpoint, lag behind the log, and whether a rebuild is pending.")

            @OptionGroup var options: GlobalOptions
            @OptionGroup var format: ReportFormatOptions

            @Flag(help: """
                Also compare each projection's tables with a fold of the whole log from scratch (in a copy beside the log, \
                removed afterwards): rows edited outside Stipple show as differing. Costs a backup and a rebuild; \
                exit 1 when a table differs. Admins and auditors.
                """)
            var check = false

            func run() async throws {
                try await reportingFailures {
                    let session = try await options.session(readOnly: true)
                    let statuses = try await session.projectionsStatus()
                    if check { Interruption.removeScratchFilesOnSignal() }
                    let checks = check ? try await session.checkReports(progress: ProgressPrinter(delay: 1).callAsFunction) : []
                    let rows: [[ReportValue]] = statuses.map { status in
                        let state: String
                        if let building = status.building {
                            state = building.indexPhase == .indexing
                                ? "rebuilding (indexing at event \(building.checkpoint))" : "rebuilding (at event \(building.checkpoint))"
                        } else if status.live == nil {
                            state = "not built"
                        } else if status.rebuildPending, let live = status.live {
                            state = live.version == status.version
                                ? "rebuild pending (built for older event schemas)" : "rebuild pending (built by version \(live.version))"
                        } else {
                            state = "current"
                        }
                        var row: [ReportValue] = [
                            .text(status.name), .int(Int64(status.version)), .int(status.live?.checkpoint ?? 0), .int(status.lag),
                            .text(status.rebuildPending || status.building != nil ? "yes" : "no"), .text(state), .text(status.summary),
                        ]
                        if let found = checks.first(where: { $0.name == status.name }) {
                            row.append(.text(!found.built ? "not built" : found.matches
                                ? "match the log" : "differ from the log: " + found.differingTables.joined(separator: ", ")))
                        }
                        return row
                    }
                    let head = statuses.first?.head ?? 0
                    let table = ReportTable(
                        title: "Projections (log head: event \(head))",
                        columns: ["name", "version", "checkpoint", "lag", "rebuildPending", "state", "summary"] + (check ? ["tables"] : []), rows: rows)
                    printReport(ClinicReports.Report(sections: [table], notice: nil), format: format)
                    if checks.contains(where: { $0.built && !$0.matches }) {
                        Output.error("report tables differ from the log: they were edited outside Stipple; `stipple rebuild NAME` rebuilds them from the log")
                        throw ExitCode(Failure.Code.failure.rawValue)
                    }
                }
            }
        }
    }
}
