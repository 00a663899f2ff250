import ArgumentParser
import EventLog
import Foundation
import Recording
import Reports
import SwiftProtobuf
import Treatment

extension StippleBench {
    /// The read models' figures, on their own: `rebuild-all` (two sizes), `history`,
    /// `report-audit`. `run` starts this command as a child process after its own figures,
    /// so that the peak RSS it reports is the projections' and not the event log figures'
    /// (which hold 1M events in memory twice).
    struct ReportFigures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reports",
            abstract: "Run only the read models' figures: rebuild-all, history, report-audit.",
            discussion: """
                Fills a log with W1 encoded as protobuf (as append-bulk-encoded appends it; not \
                timed), then times rebuilding all projections, reading client histories and the \
                audit report. rebuild-all runs at two sizes, the smaller first; history and \
                report-audit run on the full-size log once it is projected.
                """)

        @Option(help: "Clients of W1 for the full-size log (7 events each; 142858 ≈ 1M events).")
        var clients = 142_858

        @Option(help: "Clients of W1 for the smaller log of rebuild-all (14286 ≈ 100k events).")
        var smallClients = 14_286

        @Option(help: "History reports timed, of random existing clients.")
        var historyReads = 1_000

        @Option(help: "Times the audit report runs (the best and the median are reported).")
        var auditRuns = 5

        @Option(help: "A closed log already holding W1's first `clients` clients encoded as protobuf (used for the full size instead of filling a new one).")
        var fullLog: String?

        @Option(help: "Folder for the databases (default: a new temporary folder, removed afterwards).")
        var dir: String?

        @Flag(help: "A small, quick run: 2,000 clients (200 for the smaller log), 100 histories, 3 audits.")
        var smoke = false

        mutating func run() async throws {
            if smoke {
                clients = 2_000; smallClients = 200; historyReads = 100; auditRuns = 3
            }
            let folder = dir ?? NSTemporaryDirectory() + "stipple-bench-reports-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: folder) } }
            try await ReportsBench(folder: folder).all(
                clients: clients, smallClients: smallClients, historyReads: historyReads, auditRuns: auditRuns, fullLog: fullLog)
        }
    }
}

/// The figures of the Reports library over W1.
struct ReportsBench {
    let folder: String
    /// Keys every figure line carries besides its own (`scale`'s size).
    var extra: [String: JSONValue] = [:]

    init(folder: String, extra: [String: JSONValue] = [:]) {
        self.folder = folder
        self.extra = extra
    }

    /// The targets (DESIGN.md's read-model targets, as given for these figures).
    static let targetRebuildEventsPerSecond = 200_000
    static let targetPeakRSSMegabytes = 200.0
    static let targetHistoryP99Ms = 5.0
    static let targetAuditSeconds = 2.0

    func all(clients: Int, smallClients: Int, historyReads: Int, auditRuns: Int, fullLog: String?) async throws {
        if smallClients < clients {
            let log = try await Self.filledLog(clients: smallClients, path: folder + "/reports-small.sqlite")
            _ = try await rebuildFigure(log: log)
            try log.close()
        }
        let log: EventLog
        if let fullLog {
            log = try EventLog(path: fullLog)
            let head = try await log.head().position
            guard head == Int64(clients * 7) else {
                throw BenchError.failed("\(fullLog) holds \(head) events, not W1's \(clients * 7)")
            }
        } else {
            log = try await Self.filledLog(clients: clients, path: folder + "/reports-full.sqlite")
        }
        let reports = try await rebuildFigure(log: log)
        try await historyFigure(reports, clients: clients, reads: historyReads)
        try await auditFigure(reports, runs: auditRuns)
        try log.close()
    }

    /// A new log holding W1's first `clients` clients (seed 42, as `run` makes them) encoded
    /// as protobuf. Made a chunk at a time so the process never holds the workload: the
    /// peak RSS measured afterwards is the projections', not the generator's.
    static func filledLog(clients: Int, path: String) async throws -> EventLog {
        let log = try EventLog.create(at: path)
        var workload = W1(seed: 42)
        let clientsPerChunk = 1_429  // 10,003 events per transaction, as append-bulk-encoded's 10,000
        var index = 0
        while index < clients {
            let end = min(index + clientsPerChunk, clients)
            var batch: [NewEvent] = []
            batch.reserveCapacity((end - index) * 7)
            for client in index..<end {
                for event in workload.client(client) {
                    let schema = try EventCatalogue.resolve(type: event.type, version: nil)
                    var encoded = event
                    encoded.schemaVersion = EventCatalogue.newest(type: event.type)!.version
                    encoded.payload = try PayloadCodec.message(fromJSON: event.payload, schema: schema).serializedBytes()
                    batch.append(encoded)
                }
            }
            try await log.append(batch)
            index = end
        }
        return log
    }

    /// `rebuild-all`: every projection rebuilt from the whole log, and the peak RSS while
    /// it ran.
    ///
    /// Peak RSS: VmHWM is process-wide and only grows, so it would otherwise include the
    /// filling of the log (and, in `run`'s own process, every earlier figure). It is reset
    /// to the current RSS just before the rebuild (`5` written to /proc/self/clear_refs,
    /// Linux ≥ 4.0), so `peakRssMb` is the highest RSS during the rebuild, the RSS it
    /// started from included (`rssBeforeMb`: the process with an open, filled log and no
    /// workload held). When the reset is refused, `peakRssMb` is the process's peak since
    /// it started, and `peakRssSinceStart` says so.
    func rebuildFigure(log: EventLog) async throws -> ClinicReports {
        let events = Int(try await log.head().position)
        let reports = ClinicReports(log: log)
        let rssBefore = procStatusKilobytes("VmRSS")
        let reset = resetPeakRSS()
        var summaries: [Projector.RebuildSummary] = []
        _ = reports.projector.takeWriterFigures()
        let seconds = try await measure {
            summaries = try await reports.projector.rebuild(nil, progress: nil)
        }
        let writer = reports.projector.takeWriterFigures()
        let peak = Double(procStatusKilobytes("VmHWM")) / 1024
        guard summaries.count == ClinicReports.projections.count, summaries.allSatisfy({ $0.checkpoint == Int64(events) }) else {
            throw BenchError.failed("rebuild-all rebuilt \(summaries.map(\.name)) to \(summaries.map(\.checkpoint)), not all to \(events)")
        }
        let rate = Double(events) / seconds
        var extra: [String: JSONValue] = self.extra.merging([
            "projections": .int(Int64(summaries.count)),
            "peakRssMb": round3(peak), "rssBeforeMb": round3(Double(rssBefore) / 1024),
            "targetEventsPerSecond": .int(Int64(Self.targetRebuildEventsPerSecond)),
            "targetPeakRssMb": round3(Self.targetPeakRSSMegabytes),
            "met": .bool(rate >= Double(Self.targetRebuildEventsPerSecond) && peak <= Self.targetPeakRSSMegabytes),
        ]) { own, _ in own }.merging(writerFields(writer)) { own, _ in own }
        if !reset { extra["peakRssSinceStart"] = .bool(true) }
        Figure(name: "rebuild-all", events: events, seconds: seconds, extra: extra).print()
        return reports
    }

    /// `history`: one client's history report at a time, for random existing clients.
    func historyFigure(_ reports: ClinicReports, clients: Int, reads: Int) async throws {
        var generator = SplitMix64(seed: 11)
        var latencies: [Double] = []
        latencies.reserveCapacity(reads)
        var rows = 0
        let clock = ContinuousClock()
        let seconds = try await measure {
            for _ in 0..<reads {
                let index = String(generator.int(0...(clients - 1)))
                let client = String(repeating: "0", count: max(0, 7 - index.count)) + index
                let start = clock.now
                let report = try await reports.history(client: client)
                let elapsed = clock.now - start
                latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                let found = report.sections.reduce(0) { $0 + $1.rows.count }
                guard found == 7 else { throw BenchError.failed("the history of client \(client) has \(found) events, not 7") }
                rows += found
            }
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        Figure(name: "history", events: rows, seconds: seconds, extra: extra.merging([
            "reads": .int(Int64(reads)), "logEvents": .int(Int64(clients * 7)),
            "p50Ms": round3(percentile(0.50)), "p99Ms": round3(percentile(0.99)),
            "targetP99Ms": round3(Self.targetHistoryP99Ms), "met": .bool(percentile(0.99) <= Self.targetHistoryP99Ms),
        ]) { own, _ in own }).print()
    }

    /// `report-audit`: the whole audit report (no date range) from the projected tables.
    func auditFigure(_ reports: ClinicReports, runs: Int) async throws {
        let events = Int(try await reports.log.head().position)
        var times: [Double] = []
        var rows = 0
        for _ in 0..<max(1, runs) {
            var report: ClinicReports.Report?
            times.append(try await measure { report = try await reports.audit(from: nil, to: nil) })
            rows = report?.sections.reduce(0) { $0 + $1.rows.count } ?? 0
        }
        times.sort()
        let best = times[0], median = times[times.count / 2]
        Figure(name: "report-audit", events: events, seconds: best, extra: extra.merging([
            "runs": .int(Int64(times.count)), "bestSeconds": round3(best), "medianSeconds": round3(median),
            "rows": .int(Int64(rows)),
            "targetSeconds": round3(Self.targetAuditSeconds), "met": .bool(best <= Self.targetAuditSeconds),
        ]) { own, _ in own }).print()
    }

    /// `rebuild-<name>`: one projection rebuilt alone from the whole log (a report rebuilt
    /// after its own change), with the longest writer hold.
    func rebuildOneFigure(_ reports: ClinicReports, name: String) async throws {
        let events = Int(try await reports.log.head().position)
        _ = reports.projector.takeWriterFigures()
        var summaries: [Projector.RebuildSummary] = []
        let seconds = try await measure { summaries = try await reports.projector.rebuild([name], progress: nil) }
        let writer = reports.projector.takeWriterFigures()
        guard summaries.map(\.name) == [name], summaries[0].checkpoint == Int64(events) else {
            throw BenchError.failed("rebuild \(name) rebuilt \(summaries.map(\.name)) to \(summaries.map(\.checkpoint))")
        }
        Figure(name: "rebuild-\(name)", events: events, seconds: seconds, extra: extra.merging(writerFields(writer)) { own, _ in own }).print()
    }

    /// Where a rebuild's time in the writer went, and how long it held appends off.
    func writerFields(_ writer: Projector.WriterFigures) -> [String: JSONValue] {
        [
            "longestWriterHoldMs": milliseconds(writer.longestHold), "longestHoldKind": .string(writer.longestHoldKind),
            "longestHoldMsByKind": .object(writer.longestHoldByKind.mapValues(milliseconds)),
            // A long hold whose commit is long is the commit's (or the disk's) writing.
            "longestCommitMsByKind": .object(writer.longestCommitByKind.mapValues(milliseconds)),
            "transactionsByKind": .object(writer.holdsByKind.mapValues { .int(Int64($0)) }),
            "holdsOver50MsByKind": .object(writer.slowHoldsByKind.mapValues { .int(Int64($0)) }),
            // The time in the writer, and each projection's fold in it: where the time goes.
            "writerMs": milliseconds(writer.total), "foldMs": .object(writer.folds.mapValues(milliseconds)),
            "removeMs": milliseconds(writer.removal), "indexMs": milliseconds(writer.indexing),
            // WAL checkpoints between transactions, off the writer (appends go on meanwhile).
            "checkpoints": .int(Int64(writer.checkpoints)), "checkpointMs": milliseconds(writer.checkpointTime),
            "longestCheckpointMs": milliseconds(writer.longestCheckpoint), "checkpointedMb": round3(Double(writer.checkpointedPages) * 4096 / 1_048_576),
            // The removal's slowest step, its work in the writer.
            "slowestRemovalStep": writer.slowestRemovalStep.map { .string($0.step) } ?? .null,
            "slowestRemovalStepMs": writer.slowestRemovalStep.map { milliseconds($0.took) } ?? .null,
        ]
    }
}

/// `duration` in milliseconds, rounded to microseconds, for a figure.
func milliseconds(_ duration: Duration) -> JSONValue {
    round3(Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
}

/// A field of /proc/self/status in kilobytes (`VmHWM`, `VmRSS`); 0 when unreadable.
func procStatusKilobytes(_ field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
    }
    return 0
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); `false` when the kernel refuses.
func resetPeakRSS() -> Bool {
    guard let file = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? file.close() }
    do {
        try file.write(contentsOf: Data("5".utf8))
        return true
    } catch {
        return false
    }
}

/// Runs `stipple-bench reports …` as a child process (a fresh address space, for an honest
/// peak RSS), its output going to this process's standard output.
func runReportFiguresInChild(_ arguments: [String]) throws {
    fflush(nil)
    let process = Process()
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["reports"] + arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
        throw BenchError.failed("`stipple-bench reports` failed (status \(process.terminationStatus))")
    }
}
