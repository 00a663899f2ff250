import ArgumentParser
import Discretion
import EventLog
import Foundation
import Treatment

extension Stipple {
    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print events as JSON lines: one stream, or the whole log with --all.",
            discussion: """
                Each line: {"position","stream","version","type","schemaVersion","id","recordedAt",\
                "metadata","data"}. Reading never changes the log.

                Examples:
                  stipple read client-42
                  stipple read client-42 --backward --limit 1
                  stipple read --all --from 1000 --limit 50
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: ArgumentHelp("The stream to read (omit with --all).", valueName: "stream"))
        var stream: String?

        @OptionGroup var purpose: PurposeOption

        @Flag(help: "Read the whole log in position order instead of one stream.")
        var all = false

        @Option(help: ArgumentHelp(
            "First stream version (or, with --all, first position) to print. Backward reads start at the newest by default.",
            valueName: "n"))
        var from: Int64?

        @Flag(help: "Read the stream newest first.")
        var backward = false

        @Option(help: ArgumentHelp("Print at most this many events (default: all).", valueName: "n"))
        var limit: Int?

        func validate() throws {
            if all && stream != nil { throw ValidationError("Give a stream or --all, not both.") }
            if !all && stream == nil { throw ValidationError("Name a stream to read, or use --all for the whole log.") }
            if all && backward { throw ValidationError("--backward reads one stream; the whole log reads forward.") }
            if let from, from < (all ? 1 : 0) { throw ValidationError("--from must be \(all ? 1 : 0) or more.") }
            if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more.") }
        }

        func run() async throws {
            try await reportingFailures {
                let (log, principal) = try await options.open(for: .permission(.readClinical))
                // Every client record shown is logged; a confidential one needs a purpose.
                if let stream, StreamCategory(stream: stream) == .client, try await log.streamVersion(stream) > 0 {
                    try await showRecord(
                        of: String(stream.dropFirst(StreamCategory.client.prefix.count)), log: log, principal: principal,
                        purpose: purpose.purpose, command: "read")
                }
                if all, (purpose.purpose?.trimmingCharacters(in: .whitespaces).isEmpty ?? true), try await log.storedTypeVersions().contains(where: { $0.type == "ClientMarkedConfidential" }) {
                    throw Failure(code: .denied, message: "refused: the log holds confidential clients: say why you read it all with --reason (it is kept in the access log)")
                }
                @Sendable func logPage(_ page: [RecordedEvent]) async throws {
                    guard all else { return }
                    let clients = Set(page.compactMap { event in
                        StreamCategory(stream: event.stream) == .client ? String(event.stream.dropFirst(StreamCategory.client.prefix.count)) : nil
                    })
                    try await logAccess(to: Array(clients), log: log, principal: principal, purpose: purpose.purpose, command: "read --all")
                }
                let keys = try await options.clientKeysIfAvailable(for: log)
                if keys == nil { Output.error("notice: no master key at \(options.masterKeyPath): personal data is shown sealed") }
                @Sendable func line(_ event: RecordedEvent) async throws -> [UInt8] { try await EventJSON.revealedLine(event, keys: keys) }
                var remaining = limit ?? Int.max
                let pageSize = 1_000
                if all {
                    var position = from ?? 1
                    while remaining > 0 {
                        let page = try await log.readAll(from: position, limit: min(pageSize, remaining))
                        try await logPage(page)
                        for event in page { Output.line(try await line(event)) }
                        remaining -= page.count
                        guard let last = page.last, page.count == min(pageSize, remaining + page.count) else { break }
                        position = last.position + 1
                    }
                } else if let stream {
                    var version = from
                    let direction: ReadDirection = backward ? .backward : .forward
                    while remaining > 0 {
                        let page = try await log.read(stream: stream, from: version, direction: direction, limit: min(pageSize, remaining))
                        for event in page { Output.line(try await line(event)) }
                        remaining -= page.count
                        guard let last = page.last, page.count == min(pageSize, remaining + page.count) else { break }
                        version = backward ? last.streamVersion - 1 : last.streamVersion + 1
                        if version! < 1 { break }
                    }
                }
                Output.flush()
            }
        }
    }
}
