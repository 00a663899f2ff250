import ArgumentParser
import Foundation
import StippleService

extension Stipple {
    struct Do: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "do",
            abstract: "Record clinical commands given as JSON lines, checking every rule; all or nothing.",
            discussion: """
                Each line: {"command": …, "data": {…}, "metadata"?: {…}} and the command's key:
                  session   "client"      a session of the course (data: SessionRecorded)
                  touch-up  "client"      a touch-up (data: TouchUpRecorded)
                  amend     "client"      a correction pointing at an event (data: RecordAmended)
                  recall    "lot"         a lot recalled (data: BatchRecalled)
                  renew     "technician"  a certification renewed (data: CertificationRenewed)
                  record    "stream", "type", "expectedVersion"?  any other event, checked against its schema

                Every command is decided against the current state of every stream it touches, in one \
                transaction; a later line sees what the earlier ones recorded. If any line is refused, \
                nothing is recorded: exit 4 and every reason, with the line. Prints the recorded events \
                as JSON lines {"position","stream","version","id"}.

                Example:
                  {"command":"record","stream":"client-42","type":"ConsentSigned","data":{"coversProcedure":true}}
                  {"command":"session","client":"42","data":{"sessionNumber":1,"technicianId":"17", …}}
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: ArgumentHelp("A file of JSON lines, or - for standard input.", valueName: "file"))
        var file: String = "-"

        func run() async throws {
            try await reportingFailures {
                let commands = try CommandLines.parse(try readInput(file))
                printRecorded(try await options.session().record(commands))
            }
        }
    }
}
