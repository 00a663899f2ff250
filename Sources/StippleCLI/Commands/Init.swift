import ArgumentParser
import Foundation
import StippleService

extension Stipple {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new, empty log and its first admin.",
            discussion: """
                Creates the log file, the master key file (STIPPLE_MASTER_KEY_FILE, default ./stipple.key, \
                readable by its owner only; it seals every client's personal data: keep a copy, \
                losing it loses that data) and its first admin user, and prints the admin's access token \
                once (or writes it to --token-file, readable by its owner only). Keep it secret: \
                every other command takes it from STIPPLE_TOKEN. Run on a log made before users \
                existed, it adds the first admin; on a log with users, it changes nothing. A file \
                that is not a Stipple log is refused and left untouched (exit 2).
                """)

        @OptionGroup var options: GlobalOptions

        @Option(help: ArgumentHelp("The first admin's user name.", valueName: "name"))
        var admin = "admin"

        @Option(name: .customLong("token-file"), help: ArgumentHelp(
            "Write the admin's token to this new file (mode 0600) instead of printing it.", valueName: "path"))
        var tokenFile: String?

        func run() async throws {
            try await reportingFailures {
                let path = options.path
                let initialized = try await Service.initialize(options.configuration(), admin: admin)
                if initialized.createdLog { Output.line("Created an empty Stipple log at \(path).") }
                if initialized.createdMasterKey {
                    Output.line("Created the master key \(options.masterKeyPath) (readable by you only). Keep a copy somewhere safe: without it the clients' personal data cannot be read.")
                }
                guard let token = initialized.adminToken else {
                    Output.line("\(path) is already a Stipple log (\(initialized.headPosition) events) with users; nothing to do.")
                    Output.flush()
                    return
                }
                if let tokenFile {
                    try writeSecret(token + "\n", to: tokenFile)
                    Output.line("First admin: \(admin). The token is in \(tokenFile) (readable by you only); export STIPPLE_TOKEN from it.")
                } else {
                    Output.line("First admin: \(admin). Its access token, shown this once (keep it secret; commands read it from STIPPLE_TOKEN):")
                    Output.line(token)
                }
                Output.flush()
            }
        }
    }
}

/// Writes `text` to a new file readable by its owner only (never replaces a file).
func writeSecret(_ text: String, to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else {
        throw Failure.badInput(errno == EEXIST ? "\(path) exists already; a token file is never overwritten" : "cannot create \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
        throw Failure(code: .failure, message: "cannot write \(path)")
    }
}
