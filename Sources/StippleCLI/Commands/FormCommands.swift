import ArgumentParser
import Foundation
import StippleService
import Treatment

extension Stipple {
    struct Form: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consent forms: publish a version's text (admins), withdraw it, show it, list the forms.",
            discussion: """
                A consent names the form and version the client signed (client consent --form ID \
                [--version V]) and pins the SHA-256 of its text, so the exact words signed stay in \
                the chain: a published text never changes; a new text is a new version.
                """,
            subcommands: [Publish.self, Withdraw.self, Show.self, List.self])

        struct Publish: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Publish a new version of a consent form, its full text from a file.")
            @OptionGroup var options: GlobalOptions
            @Option(help: "The form's id, e.g. smp-consent (letters, digits and -).") var form: String
            @Option(help: "The version's name, e.g. v5 (published once).") var version: String
            @Option(help: "A title shown above the text.") var title: String = ""
            @Option(help: ArgumentHelp("The text as the client reads it (UTF-8), or - for standard input.", valueName: "path")) var file: String
            @Option(help: "What it covers: procedure, photos, marketing (repeat).") var covers: [String] = []
            @Option(help: "When published, e.g. 2026-03-01T09:00Z (an offset is needed: a form belongs to no clinic); default now.") var at: String?

            func run() async throws {
                try await reportingFailures {
                    var published = Stipple_V1_ConsentFormPublished()
                    published.formID = form
                    published.version = version
                    published.title = title
                    guard let text = String(validating: try readInput(file), as: UTF8.self) else {
                        throw Failure.badInput("\(file) is not UTF-8 text: a consent form's text is kept as the client reads it")
                    }
                    published.text = text
                    for scope in covers {
                        switch try TypedInput.consentScopes.value(scope, "--covers") {
                        case .procedure: published.coversProcedure = true
                        case .photos: published.coversPhotos = true
                        case .marketing: published.coversMarketing = true
                        }
                    }
                    if let at { published.publishedAt = try TypedInput.instant(at, "--at", in: nil) } else { published.publishedAt = .init(date: Date()) }
                    try await recordFact(published, type: "ConsentFormPublished", stream: Streams.form(form), options)
                }
            }
        }

        struct Withdraw: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Withdraw a version of a consent form: no consent is signed on it from now on.")
            @OptionGroup var options: GlobalOptions
            @Option(help: "The form's id.") var form: String
            @Option(help: "The version withdrawn.") var version: String
            @Option(help: "Why.") var reason: String

            func run() async throws {
                try await reportingFailures {
                    var withdrawn = Stipple_V1_ConsentFormWithdrawn()
                    withdrawn.version = version
                    withdrawn.reason = reason
                    withdrawn.withdrawnAt = .init(date: Date())
                    try await recordFact(withdrawn, type: "ConsentFormWithdrawn", stream: Streams.form(form), options)
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print a consent form's text as published, with its SHA-256 (default: the version in force).")
            @OptionGroup var options: GlobalOptions
            @Option(help: "The form's id.") var form: String
            @Option(help: "The version (default: the one in force, published last).") var version: String?

            func run() async throws {
                try await reportingFailures {
                    let state = try await options.session().consentForm(form)
                    guard let name = version ?? state.inForce.last ?? state.order.last, let shown = state.versions[name] else {
                        throw Failure.badInput("form \(form) has no version \(version ?? "") (`stipple form list` shows them)")
                    }
                    let published = shown.published
                    Output.error("form \(form) version \(name)" + (published.title.isEmpty ? "" : ": \(published.title)")
                        + "; covers \(published.scopes.joined(separator: ", ")); sha256 \(published.textSha256)"
                        + (shown.withdrawn.map { "; WITHDRAWN (\($0.reason))" } ?? ""))
                    // The text alone on standard output, byte for byte as published.
                    FileHandle.standardOutput.write(Data(published.text.utf8))
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the consent forms and their versions.")
            @OptionGroup var options: GlobalOptions

            func run() async throws {
                try await reportingFailures {
                    let session = try await options.session()
                    for form in try await session.consentForms() {
                        let state = try await session.consentForm(form)
                        for name in state.order {
                            guard let version = state.versions[name] else { continue }
                            Output.line("\(form)\t\(name)\t\(version.withdrawn == nil ? "in force" : "withdrawn")\t\(version.published.textSha256)")
                        }
                    }
                    Output.flush()
                }
            }
        }
    }
}
