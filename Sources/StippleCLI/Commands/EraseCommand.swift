import ArgumentParser
import Foundation
import StippleService

extension Stipple.Client {
    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a client's personal data (admins): their key is destroyed, the clinical facts stay.",
            discussion: """
                Destroys the client's key (so every sealed name, contact, note and photo reference of \
                theirs is unreadable from now on, in this file and in every copy of it made from now \
                on), appends ClientErased with the reason, and empties the WAL. The log's chain still \
                verifies and the clinical facts remain for the record-keeping duty; every command and \
                report shows the client as erased. Backups made before, exports already handed out, \
                and the master key's holders' own copies are out of its reach.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The client's id.", valueName: "client"))
        var client: String
        @Option(help: ArgumentHelp("Why (the request's reference, the legal basis); never personal data.", valueName: "text"))
        var reason: String

        func validate() throws {
            if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why the data is erased.") }
        }

        func run() async throws {
            try await reportingFailures {
                let recorded = try await options.session().erase(client: client, reason: reason)
                if recorded.events.isEmpty {
                    Output.line("Client \(client)'s personal data was erased already; what an unfinished erasure had left in the file is gone now.")
                }
                printRecorded(recorded)
            }
        }
    }
}
