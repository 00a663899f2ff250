import ArgumentParser
import Foundation
import StippleService

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
                let session = try await options.session()
                var sealedNoticeShown = false
                func show(_ read: EventsRead) {
                    if read.personalSealed && !sealedNoticeShown {
                        Output.error("notice: no master key at \(options.masterKeyPath): personal data is shown sealed")
                        sealedNoticeShown = true
                    }
                    for shown in read.events { Output.line(shown.json.canonicalBytes) }
                }
                if let stream {
                    show(try await session.readStream(stream, from: from, backward: backward, limit: limit ?? Int.max, purpose: purpose.purpose))
                } else {
                    var remaining = limit ?? Int.max
                    var position = from ?? 1
                    while remaining > 0 {
                        let page = try await session.readLog(from: position, limit: min(1_000, remaining), purpose: purpose.purpose)
                        show(page)
                        remaining -= page.events.count
                        guard let next = page.next else { break }
                        position = next
                    }
                }
                Output.flush()
            }
        }
    }
}
