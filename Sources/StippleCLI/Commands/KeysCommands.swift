import ArgumentParser
import Discretion
import EventLog
import Foundation
import Recording
import Treatment

extension Stipple {
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the master key (admins).", subcommands: [RotateMaster.self])

        struct RotateMaster: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rotate-master",
                abstract: "Make a new master key and wrap every client key with it; the old key file is replaced.",
                discussion: """
                    The new key is written first to <key file>.new (mode 0600); every client key is \
                    rewrapped in one transaction; then the new file replaces the old one. If it stops \
                    after the rewrap, the key that opens the log is <key file>.new. Backups made before \
                    keep needing the old key: make a new backup afterwards.
                    """)

            @OptionGroup var options: GlobalOptions

            func run() async throws {
                try await reportingFailures {
                    let (log, _) = try await options.open(for: .permission(.manageKeys))
                    let path = options.masterKeyPath
                    let current = try await options.masterKey(for: log)
                    let staged = path + ".new"
                    if FileManager.default.fileExists(atPath: staged) {
                        throw Failure.badInput("\(staged) exists (an earlier rotation stopped?): if the log opens with it, move it to \(path); else remove it, then run this again")
                    }
                    let next = try MasterKey.create(at: staged)
                    let count = try await ClientKeys(log: log, master: current, masterPath: path).rotate(to: next)
                    guard rename(staged, path) == 0 else {
                        throw Failure(code: .failure, message: "the client keys are wrapped with the new key in \(staged), but it could not replace \(path): move it there by hand")
                    }
                    Output.line("Rewrapped \(count) client key\(count == 1 ? "" : "s") with a new master key, now in \(path). Make a new backup: older ones need the old key.")
                    Output.flush()
                }
            }
        }
    }
}

extension Stipple.Client {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a client's whole record, decrypted, as one JSON document (subject access; admins).",
            discussion: """
                Every event of the client, with personal data opened, and the access log of their \
                record. The export itself is logged. Written to standard output, or with --output to \
                a new file readable by its owner only.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The client's id.", valueName: "client"))
        var client: String
        @OptionGroup var purpose: PurposeOption
        @Option(help: ArgumentHelp("Write to this new file (mode 0600) instead of standard output.", valueName: "path"))
        var output: String?

        func run() async throws {
            try await reportingFailures {
                let (log, principal) = try await options.open(for: .permission(.exportRecords))
                let id = client.hasPrefix("client-") ? String(client.dropFirst("client-".count)) : client
                guard try await log.streamVersion(Recorder.Streams.client(id)) > 0 else { throw Failure.badInput("there is no client \(id) in this log") }
                let keys = try await options.clientKeysIfAvailable(for: log)
                try await showRecord(of: id, log: log, principal: principal, purpose: purpose.purpose, command: "client export")
                var events: [JSONValue] = []
                for event in try await log.read(stream: Recorder.Streams.client(id), limit: Int.max) {
                    events.append(try JSONValue.parse(try await EventJSON.revealedLine(event, keys: keys)))
                }
                var accesses: [JSONValue] = []
                for event in try await log.read(stream: Recorder.Streams.access(id), limit: Int.max) {
                    accesses.append(try JSONValue.parse(EventJSON.line(event)))
                }
                let document = JSONValue.object([
                    "client": .string(id),
                    "exportedAt": .string(EventJSON.iso8601Seconds(Int64(Date().timeIntervalSince1970))),
                    "exportedBy": .string(principal.user),
                    "events": .array(events),
                    "accessLog": .array(accesses),
                ])
                let bytes = document.canonicalBytes
                if let output {
                    try writeSecret(String(decoding: bytes, as: UTF8.self) + "\n", to: output)
                    Output.line("Wrote the record of client \(id) (\(events.count) events) to \(output).")
                } else {
                    Output.line(bytes)
                }
                Output.flush()
            }
        }
    }
}
