import ArgumentParser
import Foundation
import StippleService

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
                let batch = try ImportLines.parse(try readInput(file))
                printRecorded(try await options.session().importEvents(batch))
            }
        }
    }
}
