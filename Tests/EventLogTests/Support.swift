import Foundation
import GRDB
import StippleTesting
import Testing
@testable import EventLog

/// Each test's own folder (removed afterwards), from the shared test support.
typealias TemporaryFolder = StippleTesting.TemporaryFolder

/// A fixed clock, so tests are deterministic.
let fixedClock: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_764_000_000.123456) }

func makeLog(_ folder: TemporaryFolder, name: String = "log.sqlite", configure: (inout EventLog.Configuration) -> Void = { _ in }) throws -> EventLog {
    var configuration = EventLog.Configuration()
    configuration.clock = fixedClock
    configure(&configuration)
    return try EventLog.create(at: folder.file(name), configuration: configuration)
}

func event(
    _ stream: String, _ type: String = "SessionRecorded", expected: ExpectedVersion = .any,
    id: UUID = UUID.v7(), data: String = #"{"areas":["hairline"],"depthMm":0.9}"#,
    metadata: EventMetadata = EventMetadata(actor: "tech-007", clinic: "toronto")
) -> NewEvent {
    NewEvent(id: id, stream: stream, type: type, expectedVersion: expected, metadata: metadata, payload: Array(data.utf8))
}

/// A realistic session payload of about 300 bytes, varied by `index`.
func sessionPayload(_ index: Int) -> [UInt8] {
    let shades = ["SMP Black", "SMP Dark Grey", "Charcoal"]
    let clinics = ["mississauga", "toronto", "richmond-hill", "brampton"]
    let json = JSONValue.object([
        "sessionNumber": .int(Int64(index % 4 + 1)), "clinic": .string(clinics[index % 4]),
        "technician": .string("tech-\(100 + index % 24)"), "startedAt": .string("2026-03-\(10 + index % 18)T10:00:00Z"),
        "endedAt": .string("2026-03-\(10 + index % 18)T13:30:00Z"), "areas": .array([.string("hairline"), .string("crown")]),
        "pigment": .object(["brand": .string("Perma Blend"), "shade": .string(shades[index % 3]), "lot": .string("PB-25-\(1000 + index % 97)"), "dilution": .int(30)]),
        "cartridge": .object(["configuration": .string("3RL"), "diameterMm": .double(0.25), "lot": .string("NC-\(4000 + index % 61)")]),
        "depthMm": .double(0.9), "aftercareSheet": .string("v4"),
    ])
    return json.canonicalBytes
}

/// Runs raw SQL on a log file behind the log's back (tampering, inspection).
func rawSQL(_ path: String, _ sql: String, arguments: StatementArguments = []) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.writeWithoutTransaction { db in try db.execute(sql: sql, arguments: arguments) }
    try queue.close()
}

func rawQuery<T: Sendable>(_ path: String, _ body: @escaping @Sendable (Database) throws -> T) throws -> T {
    let queue = try DatabaseQueue(path: path)
    defer { try? queue.close() }
    return try queue.read(body)
}

/// Every event of the log, in order.
func allEvents(_ log: EventLog) async throws -> [RecordedEvent] {
    var events: [RecordedEvent] = []
    for try await event in log.events(pageSize: 100) { events.append(event) }
    return events
}

/// The directory holding the built products (test bundle, `stipple`, tools).
func productsDirectory() -> URL {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    var directory = runner.deletingLastPathComponent()
    while directory.path != "/" {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("stipple-crashwriter").path) {
            return directory
        }
        directory = directory.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
}
