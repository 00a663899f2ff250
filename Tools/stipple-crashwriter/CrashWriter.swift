import EventLog
import Foundation

/// Appends batches to a log in a loop and prints `ok BATCH SIZE LAST_POSITION` after each
/// append has returned (so it is durable). The crash test kills it with SIGKILL at random
/// moments and checks that every acknowledged batch is whole in the log, and that no
/// batch is there in part.
///
/// Usage: stipple-crashwriter PATH SEED
@main
struct CrashWriter {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
            FileHandle.standardError.write(Data("usage: stipple-crashwriter PATH SEED\n".utf8))
            exit(2)
        }
        let path = arguments[1]
        do {
            var configuration = EventLog.Configuration()
            configuration.autoTrainThreshold = 200
            let log = FileManager.default.fileExists(atPath: path)
                ? try EventLog(path: path, configuration: configuration)
                : try EventLog.create(at: path, configuration: configuration)
            var state = seed | 1
            func random(_ bound: UInt64) -> UInt64 {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return state % bound
            }
            var batch = 0
            while true {
                batch += 1
                let batchID = "\(seed)-\(batch)"
                let size = Int(random(20)) + 1
                let events = (0..<size).map { index in
                    NewEvent(
                        stream: "client-\(random(50))", type: "SessionRecorded",
                        metadata: EventMetadata(actor: "crash-writer", extra: ["batch": .string(batchID), "size": .int(Int64(size))]),
                        payload: Array(#"{"sessionNumber":\#(index + 1),"areas":["hairline","crown"],"depthMm":0.9,"technician":"tech-\#(random(24))"}"#.utf8))
                }
                let appended = try await log.append(events)
                print("ok \(batchID) \(size) \(appended.last!.position)")
                fflush(nil)
            }
        } catch {
            FileHandle.standardError.write(Data("stipple-crashwriter: \(error)\n".utf8))
            exit(1)
        }
    }
}
