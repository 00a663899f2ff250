import ArgumentParser
import Foundation
import StippleService
import Treatment

extension Stipple.Client {
    struct Photo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attach a photo to a client's record, or write one out (sealed with the client's key).",
            subcommands: [Add.self, Show.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Attach a before/after photo to one of the client's consultations, sessions, touch-ups or reactions.",
                discussion: """
                    The file must be a JPEG or a PNG of at most 10 MiB. Its metadata (EXIF with GPS and \
                    the device, XMP, comments, PNG text) is stripped, the image is sealed with the client's \
                    key and stored beside the log, and PhotoAttached names it by the SHA-256 of the sealed \
                    bytes. The client must have signed a consent that covers photos (client consent --photos). \
                    A scan of the client's signature goes on their consent instead: --moment signature \
                    --event <the ConsentSigned's id> (no photo consent needed). \
                    `stipple history` lists the photos with their hashes.
                    """)
            @OptionGroup var options: GlobalOptions
            @Option(help: "The client's id.") var client: String
            @Option(help: "The id of the client's consultation, session, touch-up or reaction the photo belongs to (a consent, for a signature).") var event: String
            @Option(help: "before, after, other, or signature (a scan of the client's signature on a consent).") var moment: String
            @Option(help: ArgumentHelp("The JPEG or PNG file, or - for standard input.", valueName: "path")) var file: String
            @Option(help: "When taken, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset); default now.") var at: String?

            func run() async throws {
                try await reportingFailures {
                    let moment = try TypedInput.photoMoments.value(moment, "--moment")
                    let bytes = try readInput(file)
                    let session = try await options.session()
                    var taken: Int64?
                    if let at { taken = try TypedInput.instant(at, "--at", in: try await session.clinicTime(ofClient: client)).seconds }
                    printRecorded(try await session.addPhoto(client: client, to: event, moment: moment, bytes: bytes, takenAt: taken))
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write one of the client's photos, opened with their key, to a new file (the access is logged).")
            @OptionGroup var options: GlobalOptions
            @Option(help: "The client's id.") var client: String
            @Option(help: "The photo's sha256, as `stipple history` lists it.") var photo: String
            @Option(help: ArgumentHelp("The new file to write (mode 0600; never over an existing one).", valueName: "path")) var output: String
            @OptionGroup var purpose: PurposeOption

            func run() async throws {
                try await reportingFailures {
                    // The file first: an output that cannot be written must not leave an access
                    // logged for a photo nobody received.
                    let file = try SecretFile(output, what: "photo")
                    let shown: StippleService.Session.ShownPhoto
                    do {
                        shown = try await options.session().photo(client: client, sha256: photo, purpose: purpose.purpose)
                    } catch {
                        file.discard()
                        throw error
                    }
                    try file.write(bytes: shown.bytes)
                    Output.line("Wrote client \(client)'s photo (\(shown.photo.mediaType), \(shown.bytes.count) bytes) to \(output).")
                    Output.flush()
                }
            }
        }
    }
}
