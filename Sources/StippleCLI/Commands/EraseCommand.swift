import ArgumentParser
import Discretion
import EventLog
import Foundation
import Recording

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
                let (log, principal) = try await options.open(for: .permission(.eraseClients))
                let id = client.hasPrefix("client-") ? String(client.dropFirst("client-".count)) : client
                if try await log.streamVersion(Recorder.Streams.client(id)) == 0 { throw Failure.badInput("there is no client \(id) in this log") }
                _ = try await options.masterKey(for: log)
                var metadata = EventMetadata(actor: principal.user)
                metadata.extra["role"] = .string(principal.role.rawValue)
                let appended: [AppendedEvent]
                do {
                    appended = try await log.transact([PersonalData.erasure(
                        client: id, reason: reason, at: Int64(Date().timeIntervalSince1970), metadata: metadata)])
                } catch DiscretionError.clientErased {
                    throw Failure.badInput("client \(id)'s personal data was erased already; nothing was changed")
                }
                try await log.checkpointAndTruncateWAL()
                EventJSON.printAppended(appended)
                await catchUpAfterAppend(log)
            }
        }
    }
}
