import ArgumentParser
import Discretion
import Foundation
import Reports
import StippleService

extension Stipple {
    struct User: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage users, their roles and their tokens (admins).",
            discussion: """
                Roles: admin (users, keys, rebuilds, erasure, backups, everything else), auditor (reads \
                everything, runs audits, replays histories; records nothing), clinician (records and \
                reads for their clinics), reception (bookings and client registrations for their \
                clinics; no clinical detail). Tokens are shown once and stored only as a hash.
                """,
            subcommands: [Add.self, List.self, Change.self, Disable.self, RotateToken.self, SetPassword.self, SecondFactor.self])

        /// A user's `--role` and `--clinic`s (a new user's, or a change of them).
        struct AccessOptions: ParsableArguments {
            @Option(help: ArgumentHelp("admin, auditor, clinician or reception.", valueName: "role"))
            var role: String
            @Option(name: .customLong("clinic"), help: ArgumentHelp("A clinic they work for (clinicians and reception; repeat for several).", valueName: "clinic"))
            var clinics: [String] = []

            func validate() throws {
                guard Role(rawValue: role) != nil else {
                    throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(role)\".")
                }
            }

            /// Checked by `validate()`.
            var chosenRole: Role { Role(rawValue: role)! }

            /// "clinician at toronto", as the commands say it.
            var described: String { role + (clinics.isEmpty ? "" : " at " + Set(clinics).sorted().joined(separator: ", ")) }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a user and print their token once.")

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The user's name (letters, digits, '.', '-', '_').", valueName: "name"))
            var name: String
            @OptionGroup var access: AccessOptions

            func run() async throws {
                try await reportingFailures {
                    let token = try await options.session().addUser(name, role: access.chosenRole, clinics: access.clinics)
                    Output.line("Added \(name) (\(access.described)). Their access token, shown this once:")
                    Output.line(token)
                    Output.flush()
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the users, their roles and clinics.")

            @OptionGroup var options: GlobalOptions
            @OptionGroup var format: ReportFormatOptions

            func run() async throws {
                try await reportingFailures {
                    let rows: [[ReportValue]] = try await options.session(readOnly: true).users().map { user in
                        [.text(user.name), .text(user.role.rawValue), .text(user.clinics.joined(separator: ", ")),
                         .text(user.disabled ? "disabled" : "active"), .text(user.createdBy),
                         .text(user.tokenRotatedAt.map { ISO8601DateFormatter().string(from: $0) } ?? "")]
                    }
                    let table = ReportTable(title: "Users", columns: ["name", "role", "clinics", "state", "createdBy", "tokenRotatedAt"], rows: rows)
                    printReport(ClinicReports.Report(sections: [table], notice: nil), format: format)
                }
            }
        }

        struct Change: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Give a user another role or other clinics.",
                discussion: """
                    Both are given anew (the clinics replace theirs). Their token, password and second \
                    factor stay; from their next request they may do what the new role allows. What they \
                    did before stays recorded under the role they had then (UserAccessChanged in the chain).
                    """)

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The user's name.", valueName: "name"))
            var name: String
            @OptionGroup var access: AccessOptions

            func run() async throws {
                try await reportingFailures {
                    try await options.session().changeAccess(of: name, role: access.chosenRole, clinics: access.clinics)
                    Output.line("\(name) is now \(access.described).")
                    Output.flush()
                }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Disable a user: their token stops working at once.")

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The user's name.", valueName: "name"))
            var name: String

            func run() async throws {
                try await reportingFailures {
                    try await options.session().disableUser(name)
                    Output.line("Disabled \(name).")
                    Output.flush()
                }
            }
        }

        struct RotateToken: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rotate-token", abstract: "Give a user a new token (the old one stops working) and print it once.")

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The user's name.", valueName: "name"))
            var name: String

            func run() async throws {
                try await reportingFailures {
                    let token = try await options.session().rotateToken(of: name)
                    Output.line("New access token of \(name), shown this once (the old one no longer works):")
                    Output.line(token)
                    Output.flush()
                }
            }
        }

        struct SetPassword: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set-password",
                abstract: "Set a user's password for the web pages (their open sessions end).",
                discussion: """
                    The password is read from standard input: typed at the prompt (not shown) when \
                    standard input is a terminal, else the first line (`printf '%s\\n' "$PW" | stipple \
                    user set-password dr-lee`). At least \(Passwords.minimumLength) characters, at most \
                    \(Passwords.maximumBytes) bytes, not the user name. Only a bcrypt hash of it is kept, \
                    beside the log; the chain records that it changed.
                    """)

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The user's name.", valueName: "name"))
            var name: String

            func run() async throws {
                try await reportingFailures {
                    let session = try await options.session()
                    guard let password = Terminal.readSecret(prompt: "New password for \(name): ") else {
                        throw ServiceError.badInput("no password on standard input: type it at the prompt or give it as the first line")
                    }
                    try await session.setPassword(of: name, to: password)
                    Output.line("Set the password of \(name); they sign in to the pages with it.")
                    Output.flush()
                }
            }
        }
    }
}

extension Stipple.User {
    struct SecondFactor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "second-factor",
            abstract: "Give a user a second factor for the pages (admins need one), and print it once.",
            discussion: """
                Prints a secret to type into an authenticator app (or the otpauth:// URL a QR code \
                would carry); from then on the user signs in to the pages with their password and \
                the app's six-digit code. It replaces the one before; their open sessions end. The \
                secret is kept sealed beside the log (master key), never in an event.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The user's name.", valueName: "name"))
        var name: String

        func run() async throws {
            try await reportingFailures {
                let enrolment = try await options.session().enrolSecondFactor(of: name)
                Output.line("Second factor of \(name), shown this once: type this secret into their authenticator app")
                Output.line(enrolment.secret)
                Output.line("or give the app this URL (as a QR code):")
                Output.line(enrolment.url)
                Output.flush()
            }
        }
    }
}

/// Reading what must not be echoed.
enum Terminal {
    /// A line from standard input, typed without echo at a terminal; `nil` at end of input.
    static func readSecret(prompt: String) -> String? {
        guard isatty(STDIN_FILENO) == 1 else { return readLine(strippingNewline: true) }
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true)
    }
}
