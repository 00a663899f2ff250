import ArgumentParser
import CLZ4
import EventLog
import Foundation
import GRDBSQLite
import Reports
import Treatment

extension StippleBench {
    /// The growth of the read path's cost with the log: every figure at several sizes, each
    /// size in a child process of its own (an honest peak RSS), then one `scale-summary`
    /// line with the issue-14 ratios. Not part of CI's smoke run.
    struct Scale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the read path at several log sizes (default 100k, 1M and 10M events).",
            discussion: """
                For each size: fills a log with W1 encoded as protobuf (not timed), then times \
                scan-ceiling (a bare SQLite scan and LZ4 decode of the events' rows, on both cores), \
                read-all, replay-decode, rebuild-all (with the longest writer hold and peak RSS), \
                rebuild-audit (one report alone), history (p50/p99) and report-audit. rebuild-all and \
                rebuild-audit carry writerMs (all their transactions' time in the writer, commits \
                included), foldMs (each projection's fold in it), indexMs (filling report indexes after the load) and removeMs (removing the replaced \
                generation). Each figure \
                line carries "scale" (the size asked for). The last line, scale-summary, gives each \
                ratio of issue 14 with its target. 10M events need about 6 GB of disk and about 35 minutes.
                """)

        @Option(parsing: .upToNextOption, help: "Log sizes in events (rounded to whole W1 clients of 7 events).")
        var events: [Int] = [100_000, 1_000_000, 10_000_000]

        @Option(help: "History reports timed at each size.")
        var historyReads = 1_000

        @Option(help: "Runs of the audit report at each size (the best is kept).")
        var auditRuns = 3

        @Flag(help: "Also rebuild each report alone (rebuild-<name>, after rebuild-audit), to see where the time goes.")
        var rebuildEach = false

        @Option(help: "Folder for the databases (default: a new temporary folder, removed afterwards).")
        var dir: String?

        mutating func run() async throws {
            let folder = dir ?? NSTemporaryDirectory() + "stipple-bench-scale-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: folder) } }
            var figures: [Int: [String: [String: JSONValue]]] = [:]
            for size in events {
                let path = folder + "/scale-\(size).sqlite"
                let lines = try runChild([
                    "scale-one", "--events", String(size), "--path", path,
                    "--history-reads", String(historyReads), "--audit-runs", String(auditRuns),
                ] + (rebuildEach ? ["--rebuild-each"] : []))
                for line in lines {
                    guard let object = try? JSONValue.parse(line).objectValue, let name = object["name"]?.stringValue else { continue }
                    figures[size, default: [:]][name] = object
                }
                // Each size's log goes once measured (10M events is about 12 GB).
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            Self.summary(figures, sizes: events).print()
        }

        /// The issue-14 ratios, each with its target and whether it holds.
        static func summary(_ figures: [Int: [String: [String: JSONValue]]], sizes: [Int]) -> Figure {
            func number(_ size: Int, _ name: String, _ key: String) -> Double? {
                guard let value = figures[size]?[name]?[key] else { return nil }
                switch value {
                case .int(let int): return Double(int)
                case .double(let double): return double
                default: return nil
                }
            }
            func rate(_ size: Int, _ name: String) -> Double? { number(size, name, "eventsPerSecond") }
            /// Cost per event of `name` at `size` (seconds per event).
            func cost(_ size: Int, _ name: String) -> Double? { rate(size, name).map { 1 / $0 } }
            var ratios: [String: JSONValue] = [:]
            func ratio(_ key: String, _ value: Double?, target: Double, atMost: Bool = false) {
                guard let value, value.isFinite else { return }
                ratios[key] = .object([
                    "value": round3(value), "target": round3(target), "met": .bool(atMost ? value <= target : value >= target),
                ])
            }
            let sorted = sizes.sorted()
            let million = sorted.first { $0 >= 1_000_000 } ?? sorted.last ?? 0
            ratio("rebuildAllOverReplayDecode", rate(million, "rebuild-all").flatMap { a in rate(million, "replay-decode").map { a / $0 } }, target: 0.5)
            ratio("rebuildAuditOverReplayDecode", rate(million, "rebuild-audit").flatMap { a in rate(million, "replay-decode").map { a / $0 } }, target: 0.8)
            ratio("replayDecodeOverScanCeiling", rate(million, "replay-decode").flatMap { a in rate(million, "scan-ceiling").map { a / $0 } }, target: 0.5)
            ratio("readAllOverScanCeiling", rate(million, "read-all").flatMap { a in rate(million, "scan-ceiling").map { a / $0 } }, target: 0.8)
            for (small, large) in zip(sorted, sorted.dropFirst()) {
                let tag = "\(Self.label(large))Over\(Self.label(small))"
                ratio("rebuildAllCostPerEvent" + tag, cost(large, "rebuild-all").flatMap { a in cost(small, "rebuild-all").map { a / $0 } }, target: 1.25, atMost: true)
                ratio("rebuildAllPeakRss" + tag, number(large, "rebuild-all", "peakRssMb").flatMap { a in number(small, "rebuild-all", "peakRssMb").map { a / $0 } }, target: 1.25, atMost: true)
                ratio("historyP99" + tag, number(large, "history", "p99Ms").flatMap { a in number(small, "history", "p99Ms").map { a / $0 } }, target: 1.5, atMost: true)
                ratio("reportAudit" + tag, number(large, "report-audit", "bestSeconds").flatMap { a in number(small, "report-audit", "bestSeconds").map { a / $0 } }, target: 1.5, atMost: true)
            }
            if let largest = sorted.last, let hold = number(largest, "rebuild-all", "longestWriterHoldMs") {
                ratio("rebuildAllLongestWriterHoldMs\(Self.label(largest))", hold, target: 50, atMost: true)
            }
            return Figure(name: "scale-summary", events: sorted.last ?? 0, seconds: 0, extra: ["ratios": .object(ratios)])
        }

        static func label(_ size: Int) -> String {
            size >= 1_000_000 && size % 1_000_000 == 0 ? "\(size / 1_000_000)M" : size >= 1_000 && size % 1_000 == 0 ? "\(size / 1_000)k" : "\(size)"
        }
    }

    /// One size of ``Scale`` (run by it as a child process).
    struct ScaleOne: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale-one", abstract: "One size of `scale` (its child process).", shouldDisplay: false)

        @Option var events: Int
        @Option var path: String
        @Option var historyReads = 1_000
        @Option var auditRuns = 3
        @Flag var rebuildEach = false

        mutating func run() async throws {
            let clients = max(1, (events + 6) / 7)
            let tag: [String: JSONValue] = ["scale": .int(Int64(events))]
            let log = try await ReportsBench.filledLog(clients: clients, path: path)
            try log.close()
            let bench = ReportsBench(folder: (path as NSString).deletingLastPathComponent, extra: tag)
            try await ScanCeiling.figure(path: path, extra: tag).print()
            let reopened = try EventLog(path: path)
            try await ReplayFigures.readAll(reopened, extra: tag).print()
            try await ReplayFigures.replayDecode(reopened, extra: tag).print()
            let reports = try await bench.rebuildFigure(log: reopened)
            // The audit first, so that its figure (and the summary's ratio) is the same run or not.
            for name in ["audit"] + (rebuildEach ? reports.projector.names.filter { $0 != "audit" } : []) {
                try await bench.rebuildOneFigure(reports, name: name)
            }
            try await bench.historyFigure(reports, clients: clients, reads: historyReads)
            try await bench.auditFigure(reports, runs: auditRuns)
            try reopened.close()
        }
    }
}

/// `read-all` (pages of 10,000, read and decompressed) and `replay-decode` (read one page
/// ahead, decompress, decode every event into its message on both cores, fold trivially),
/// for `run` and `scale` alike.
enum ReplayFigures {
    static func readAll(_ log: EventLog, extra: [String: JSONValue]) async throws -> Figure {
        var count = 0
        var bytes = 0
        let seconds = try await measure {
            var position: Int64 = 1
            while true {
                let page = try await log.readAll(from: position, limit: 10_000)
                guard let last = page.last else { break }
                count += page.count
                for event in page { bytes += event.payload.count }
                position = last.position + 1
            }
        }
        var extra = extra
        extra["payloadBytes"] = .int(Int64(bytes))
        return Figure(name: "read-all", events: count, seconds: seconds, extra: extra)
    }

    static func replayDecode(_ log: EventLog, extra: [String: JSONValue]) async throws -> Figure {
        var decoded = 0
        var sessions = 0
        let seconds = try await measure {
            // Pages are read one ahead while the page before is decoded.
            for try await page in log.pages(pageSize: 10_000) {
                let counts = try decodeInParallel(page)
                decoded += counts.decoded
                sessions += counts.sessions
            }
        }
        var extra = extra
        extra["sessions"] = .int(Int64(sessions))
        return Figure(name: "replay-decode", events: decoded, seconds: seconds, extra: extra)
    }
}

/// `scan-ceiling`: what reading the events' rows can cost at best — a bare prepared
/// statement over `events` in position order and an LZ4 decode of each payload (with its
/// codec's dictionary), no objects made, on both cores (each half of the positions on a
/// connection of its own, as `read-all` splits a page). The C API directly: it is the
/// ceiling the log's own read path is compared with.
enum ScanCeiling {
    static func figure(path: String, extra: [String: JSONValue]) async throws -> Figure {
        let (head, dictionaries) = try metadata(path: path)
        let half = (head + 1) / 2
        let results = ScanResults()
        let seconds = await measure {
            DispatchQueue.concurrentPerform(iterations: 2) { worker in
                let from = worker == 0 ? 1 : half + 1
                let through = worker == 0 ? half : head
                do {
                    results.add(try scan(path: path, from: from, through: through, dictionaries: dictionaries))
                } catch {
                    results.fail(error)
                }
            }
        }
        let (events, bytes) = try results.totals()
        guard events == Int(head) else { throw BenchError.failed("scan-ceiling read \(events) events, not \(head)") }
        var extra = extra
        extra["payloadBytes"] = .int(Int64(bytes))
        return Figure(name: "scan-ceiling", events: events, seconds: seconds, extra: extra)
    }

    /// A connection of its own to the log at `path`.
    static func open(_ path: String) throws -> OpaquePointer? {
        var db: OpaquePointer?
        // Read-write: a log in WAL mode whose -shm is gone cannot be opened read-only.
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            sqlite3_close(db)
            throw BenchError.sqlite("open \(path)")
        }
        // The log just closed may still be finishing its last checkpoint (seen: "database is locked").
        sqlite3_busy_timeout(db, 10_000)
        return db
    }

    /// The head and every codec's dictionary (by id).
    static func metadata(path: String) throws -> (Int64, [Int32: [UInt8]]) {
        let db = try open(path)
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        sqlite3_prepare_v2(db, "SELECT max(position) FROM events", -1, &statement, nil)
        guard sqlite3_step(statement) == SQLITE_ROW else { throw BenchError.sqlite(String(cString: sqlite3_errmsg(db))) }
        let head = sqlite3_column_int64(statement, 0)
        sqlite3_finalize(statement)
        sqlite3_prepare_v2(db, "SELECT id, dictionary FROM codecs", -1, &statement, nil)
        var dictionaries: [Int32: [UInt8]] = [:]
        while sqlite3_step(statement) == SQLITE_ROW {
            let count = Int(sqlite3_column_bytes(statement, 1))
            let base = sqlite3_column_blob(statement, 1)
            dictionaries[sqlite3_column_int(statement, 0)] = count > 0 && base != nil ? Array(UnsafeRawBufferPointer(start: base, count: count)) : []
        }
        return (head, dictionaries)
    }

    static func scan(path: String, from: Int64, through: Int64, dictionaries: [Int32: [UInt8]]) throws -> (Int, Int) {
        let db = try open(path)
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(
            db, "SELECT codec, raw_length, payload FROM events WHERE position BETWEEN ?1 AND ?2 ORDER BY position", -1, &statement, nil)
            == SQLITE_OK
        else { throw BenchError.sqlite(String(cString: sqlite3_errmsg(db))) }
        defer { sqlite3_finalize(statement) }
        sqlite3_bind_int64(statement, 1, from)
        sqlite3_bind_int64(statement, 2, through)
        var output = [CChar](repeating: 0, count: 1 << 16)
        var events = 0, bytes = 0
        while sqlite3_step(statement) == SQLITE_ROW {
            let codec = sqlite3_column_int(statement, 0)
            let rawLength = Int(sqlite3_column_int64(statement, 1))
            let count = Int(sqlite3_column_bytes(statement, 2))
            guard let payload = sqlite3_column_blob(statement, 2) else { throw BenchError.failed("an event without a payload") }
            if codec == 0 {
                bytes += count
            } else {
                if output.count < rawLength { output = [CChar](repeating: 0, count: rawLength) }
                let dictionary = dictionaries[codec] ?? []
                let written = output.withUnsafeMutableBufferPointer { out in
                    dictionary.withUnsafeBufferPointer { dict in
                        dict.withMemoryRebound(to: CChar.self) { dict in
                            LZ4_decompress_safe_usingDict(
                                payload.assumingMemoryBound(to: CChar.self), out.baseAddress, Int32(count), Int32(out.count),
                                dict.baseAddress, Int32(dict.count))
                        }
                    }
                }
                guard Int(written) == rawLength else { throw BenchError.failed("a payload that does not decode (codec \(codec))") }
                bytes += rawLength
            }
            events += 1
        }
        return (events, bytes)
    }
}

/// Totals of the scanning workers.
final class ScanResults: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var events = 0, bytes = 0
    private var failure: (any Error)?

    func add(_ counts: (Int, Int)) {
        lock.lock()
        defer { lock.unlock() }
        events += counts.0
        bytes += counts.1
    }

    func fail(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        failure = error
    }

    func totals() throws -> (Int, Int) {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        return (events, bytes)
    }
}

/// Runs `stipple-bench ARGUMENTS` as a child process; its lines are echoed to this
/// process's standard output and returned.
func runChild(_ arguments: [String]) throws -> [String] {
    fflush(nil)
    let process = Process()
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    var lines: [String] = []
    var pending = Data()
    while true {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        FileHandle.standardOutput.write(chunk)
        pending.append(chunk)
        while let newline = pending.firstIndex(of: 0x0A) {
            lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
            pending.removeSubrange(pending.startIndex...newline)
        }
    }
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
        throw BenchError.failed("`stipple-bench \(arguments.joined(separator: " "))` failed (status \(process.terminationStatus))")
    }
    return lines
}
