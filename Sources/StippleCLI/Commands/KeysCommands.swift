import ArgumentParser
import EventLog
import Foundation
import StippleService

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
                    let count = try await options.session().rotateMasterKey()
                    let path = options.masterKeyPath
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
                // The file first: an output that cannot be written must not leave an access
                // logged for a record nobody received.
                let file = try output.map { try SecretFile($0, what: "subject-access export") }
                let document: JSONValue
                do {
                    document = try await options.session().export(client: client, purpose: purpose.purpose)
                } catch {
                    file?.discard()
                    throw error
                }
                let bytes = document.canonicalBytes
                if let file, let output {
                    try file.write(String(decoding: bytes, as: UTF8.self) + "\n")
                    let count = document.objectValue?["events"]?.arrayValue?.count ?? 0
                    Output.line("Wrote the record of client \(document.objectValue?["client"]?.stringValue ?? client) (\(count) events) to \(output).")
                } else {
                    Output.line(bytes)
                }
                Output.flush()
            }
        }
    }
}
