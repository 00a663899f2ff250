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
                // The token file first: a path that cannot take it must not leave a log whose
                // admin's token was never shown.
                let secret = try tokenFile.map { try SecretFile($0, what: "token file") }
                let initialized: Service.Initialized
                do {
                    initialized = try await Service.initialize(options.configuration(), admin: admin)
                } catch {
                    secret?.discard()
                    throw error
                }
                if initialized.createdLog { Output.line("Created an empty Stipple log at \(path).") }
                if initialized.createdMasterKey {
                    Output.line("Created the master key \(options.masterKeyPath) (readable by you only). Keep a copy somewhere safe: without it the clients' personal data cannot be read.")
                }
                guard let token = initialized.adminToken else {
                    secret?.discard()
                    Output.line("\(path) is already a Stipple log (\(initialized.headPosition) events) with users; nothing to do.")
                    Output.flush()
                    return
                }
                if let secret, let tokenFile {
                    do {
                        try secret.write(token + "\n")
                    } catch {
                        // The admin exists: the token must not be lost.
                        Output.line("First admin: \(admin). Its token could not be written to \(tokenFile), so here it is, shown this once:")
                        Output.line(token)
                        Output.flush()
                        throw error
                    }
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

/// A new file readable by its owner only (a token, an export), made before the work
/// whose result it will hold, so that a path that cannot be used is refused before
/// anything is done. It never replaces a file, nor follows a link.
final class SecretFile {
    let path: String
    private var descriptor: Int32

    /// - Parameter what: what the file will hold, for the error (`token file`, `export`).
    init(_ path: String, what: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw Failure.badInput(errno == EEXIST
                ? "\(path) exists already; a \(what) is never written over an existing file, so nothing was done"
                : "cannot create \(path): \(String(cString: strerror(errno))); nothing was done")
        }
    }

    /// Writes `text` and closes the file.
    func write(_ text: String) throws { try write(bytes: Array(text.utf8)) }

    /// Writes `bytes` and closes the file.
    func write(bytes: [UInt8]) throws {
        defer { finish() }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(code: .failure, message: "cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw Failure(code: .failure, message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// Removes the file: the work it was made for did not happen.
    func discard() {
        finish()
        unlink(path)
    }

    private func finish() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    deinit { finish() }
}
