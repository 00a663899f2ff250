import Foundation
import Testing
@testable import EventLog

@Suite("Concurrency, crashes and backups")
struct ConcurrencyTests {
    @Test("64 tasks appending at once each get their own result; a conflict fails alone")
    func groupCommit() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append(event("client-shared"))
        let results = await withTaskGroup(of: (Int, Result<AppendedEvent, any Error>).self) { group in
            for task in 0..<64 {
                group.addTask {
                    // Task 13 expects a version the shared stream never has.
                    let expected: ExpectedVersion = task == 13 ? .exactly(42) : .any
                    let stream = task == 13 ? "client-shared" : "client-\(task)"
                    do {
                        return (task, .success(try await log.append(event(stream, expected: expected))))
                    } catch {
                        return (task, .failure(error))
                    }
                }
            }
            var all: [Int: Result<AppendedEvent, any Error>] = [:]
            for await (task, result) in group { all[task] = result }
            return all
        }
        var positions = Set<Int64>()
        for (task, result) in results {
            switch result {
            case .success(let appended):
                #expect(task != 13)
                #expect(appended.stream == "client-\(task)")
                positions.insert(appended.position)
            case .failure(let error):
                #expect(task == 13)
                #expect(error as? EventLogError == .versionConflict(stream: "client-shared", expected: .exactly(42), actual: 1))
            }
        }
        #expect(positions == Set(2...64))
        #expect(try await log.head().position == 64)
        #expect(try await log.verify().isIntact)
    }

    @Test("a writer killed with SIGKILL loses no acknowledged append and leaves no partial batch")
    func crashRecovery() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("crash.sqlite")
        let writer = productsDirectory().appendingPathComponent("stipple-crashwriter")
        try #require(FileManager.default.isExecutableFile(atPath: writer.path), "build stipple-crashwriter first (swift build)")
        var acknowledged: [String: (size: Int, position: Int64)] = [:]
        for round in 0..<6 {
            let process = Process()
            process.executableURL = writer
            process.arguments = [path, String(round + 1)]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(round == 0 ? 400 : Int.random(in: 60...350)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                // A line cut by the kill is not an acknowledgement.
                guard parts.count == 4, parts[0] == "ok", let size = Int(parts[2]), let position = Int64(parts[3]) else { continue }
                acknowledged[String(parts[1])] = (size, position)
            }
        }
        #expect(acknowledged.count > 5, "the writer should have appended something before being killed")
        let log = try EventLog(path: path)
        let report = try await log.verify()
        #expect(report.isIntact, "\(String(describing: report.firstBreak))")
        var batches: [String: (count: Int, size: Int)] = [:]
        for try await event in log.events(pageSize: 500) {
            let metadata = try event.metadata()
            let batch = try #require(metadata.extra["batch"]?.stringValue)
            guard case .int(let size)? = metadata.extra["size"] else { Issue.record("no size"); continue }
            batches[batch, default: (0, Int(size))].count += 1
        }
        for (batch, found) in batches {
            #expect(found.count == found.size, "batch \(batch) is partial: \(found.count) of \(found.size)")
        }
        for (batch, expected) in acknowledged {
            #expect(batches[batch]?.count == expected.size, "acknowledged batch \(batch) is missing")
        }
    }

    @Test("a backup taken while appends go on is a verified, consistent copy")
    func backupDuringAppends() async throws {
        let folder = try TemporaryFolder()
        let log = try makeLog(folder)
        try await log.append((0..<500).map { NewEvent(stream: "client-\($0 % 50)", type: "SessionRecorded", payload: sessionPayload($0)) })
        let appending = Task {
            for index in 0..<200 {
                try await log.append(NewEvent(stream: "client-\(index % 50)", type: "SessionRecorded", payload: sessionPayload(index)))
            }
        }
        let report = try await log.backup(to: folder.file("copy.sqlite"))
        try await appending.value
        #expect(report.isIntact)
        #expect(report.eventCount >= 500)
        let copy = try EventLog(path: folder.file("copy.sqlite"))
        let copyReport = try await copy.verify()
        #expect(copyReport.isIntact)
        #expect(copyReport.head == report.head)
        let original = try await log.readAll(from: report.head.position, limit: 1).first
        #expect(try await copy.readAll(from: report.head.position, limit: 1).first == original)
        // A backup never overwrites.
        await #expect(throws: EventLogError.self) { try await log.backup(to: folder.file("copy.sqlite")) }
        #expect(!FileManager.default.fileExists(atPath: folder.file("copy.sqlite.partial")))
    }
}
