import ArgumentParser
import Discretion
import EventLog
import Foundation

extension Stipple {
    struct Append: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append events given as JSON lines, all in one atomic batch.",
            discussion: """
                Each line: {"stream":"client-42","type":"ClientRegistered","data":{…}} with optional \
                "schemaVersion" (default: the newest of the type), "id" (a UUID; default: a new time-ordered one), \
                "expectedVersion" (a number, "any" or "none"; default "any") and "metadata" \
                ({"actor","clinic","correlationId","causationId", other keys}).

                All lines land together or none does. Prints one JSON line per event: \
                {"position","stream","version","id"}. Re-sending an event id with the same content \
                returns the original position ("alreadyStored":true).

                Exit codes: 2 bad input (the message names the line and the field), 3 version conflict.
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: ArgumentHelp("A file of JSON lines, or - for standard input.", valueName: "file"))
        var file: String = "-"

        func run() async throws {
            try await reportingFailures {
                let text: [UInt8]
                if file == "-" {
                    text = Array(FileHandle.standardInput.readDataToEndOfFile())
                } else {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw Failure.badInput("cannot read \(file): no such file, or it is not readable")
                    }
                    text = Array(data)
                }
                let input = try AppendInput.parse(text)
                let (log, principal) = try await options.open(for: .permission(.importEvents))
                let appended: [AppendedEvent]
                do {
                    // The actor is the importing user, whatever the lines say; personal data
                    // is sealed like any other command's.
                    let events = input.events.map { event in
                        var event = event
                        event.metadata.actor = principal.user
                        event.metadata.extra["role"] = .string(principal.role.rawValue)
                        return event
                    }
                    let master = try await options.masterKey(for: log)
                    appended = try await log.transact(PersonalData.sealing([{ _ in events }], master: master))
                } catch let error as EventLogError {
                    var start: Int64?
                    if case .versionConflict(let stream, _, _) = error { start = try? await log.streamVersion(stream) }
                    throw Self.locate(error, in: input, streamStart: start)
                }
                EventJSON.printAppended(appended)
                await catchUpAfterAppend(log)
            }
        }

        /// Puts the input line in front of an error about one event.
        static func locate(_ error: EventLogError, in input: AppendInput, streamStart: Int64?) -> Failure {
            let failure = Failure.from(error)
            let line: Int?
            switch error {
            case .eventIdReused(let id, _, _), .invalidEvent(let id, _, _), .tooLarge(let id, _, _, _):
                line = input.line(of: id)
            case .versionConflict(let stream, _, let actual):
                line = input.conflictLine(stream: stream, start: streamStart ?? actual, actual: actual)
            default:
                line = nil
            }
            guard let line else { return failure }
            return Failure(code: failure.code, message: "line \(line): \(failure.message) Nothing was appended.")
        }
    }
}
