import ArgumentParser
import EventLog
import Foundation

extension StippleBench {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every figure (default).",
            discussion: """
                Figures: sqlite-baseline-*, append-bulk, append-batch7, append-single, append-concurrent, \
                verify, read-all, stream-read, bytes-per-event, command-session, append-bulk-encoded, \
                replay-decode, bytes-per-event-protobuf, peak-rss, then the read models' figures \
                (rebuild-all, history, report-audit: see `stipple-bench reports --help`; they run in a \
                child process on append-bulk-encoded's log, so their peak RSS is their own). Payloads \
                are encoded before the clock starts. Build with `swift build -c release` first; debug \
                figures mean nothing. Only the read models' figures: `stipple-bench reports`.
                """)

        @Option(help: "Clients of W1 for the big log (7 events each; 142858 ≈ 1M events).")
        var clients = 142_858

        @Option(help: "Clients appended one durable transaction each (append-batch7).")
        var batchClients = 1_000

        @Option(help: "Events appended one durable transaction each (append-single).")
        var singles = 2_000

        @Option(help: "Concurrent tasks of append-concurrent.")
        var tasks = 64

        @Option(help: "Single durable appends per task in append-concurrent.")
        var perTask = 200

        @Option(help: "Stream reads timed for stream-read.")
        var streamReads = 10_000

        @Option(help: "Folder for the databases (default: a new temporary folder, removed afterwards).")
        var dir: String?

        @Flag(help: "A small, quick run (CI's smoke test): 2,000 clients, 200 singles, 64×5 concurrent.")
        var smoke = false

        @Flag(inversion: .prefixedNo, help: "Run the read models' figures (rebuild-all, history, report-audit) after the others.")
        var reports = true

        mutating func run() async throws {
            if smoke {
                clients = 2_000; batchClients = 100; singles = 200; perTask = 5; streamReads = 500
            }
            let folder = dir ?? NSTemporaryDirectory() + "stipple-bench-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: folder) } }
            let bench = Bench(folder: folder)
            try await bench.all(
                clients: clients, batchClients: batchClients, singles: singles, tasks: tasks, perTask: perTask,
                streamReads: streamReads)
            if reports {
                // append-bulk-encoded's log (closed by now) is the full-size log; the child
                // fills the smaller one itself.
                try runReportFiguresInChild(
                    ["--clients", String(clients), "--dir", folder, "--full-log", folder + "/protobuf.sqlite"]
                        + (smoke ? ["--smoke"] : []))
            }
        }
    }
}

/// One JSON line per figure.
struct Figure {
    var name: String
    var events: Int
    var seconds: Double
    var extra: [String: JSONValue] = [:]

    func print() {
        var object = extra
        object["name"] = .string(name)
        object["events"] = .int(Int64(events))
        object["seconds"] = .double((seconds * 1_000_000).rounded() / 1_000_000)
        if seconds > 0, events > 0 { object["eventsPerSecond"] = .int(Int64((Double(events) / seconds).rounded())) }
        Swift.print(JSONValue.object(object).canonicalString)
        fflush(nil)
    }
}

func round3(_ value: Double) -> JSONValue { .double((value * 1000).rounded() / 1000) }

func measure(_ body: () async throws -> Void) async rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try await body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
