import ArgumentParser
import Foundation
import Reports
import StippleService
import Treatment

/// A day typed by a person (`--from 2026-01-05`).
func parseDay(_ text: String, _ flag: String) throws -> Day {
    guard let day = Day(text) else { throw ValidationError("\(flag) must be a day such as 2026-03-14, not \"\(text)\".") }
    return day
}

/// `--from` and `--to`, both required, in order.
struct DateRange: ParsableArguments {
    @Option(help: ArgumentHelp("The first day (YYYY-MM-DD).", valueName: "day"))
    var from: String

    @Option(help: ArgumentHelp("The last day (YYYY-MM-DD), included.", valueName: "day"))
    var to: String

    func validate() throws {
        let first = try parseDay(from, "--from"), last = try parseDay(to, "--to")
        if last < first { throw ValidationError("The range is reversed: --to \(to) is before --from \(from).") }
    }

    var days: (Day, Day) { (Day(from)!, Day(to)!) }
}

/// Asks the session for a report and prints it.
func printReport(_ request: ReportRequest, _ options: GlobalOptions, _ format: ReportFormatOptions, purpose: String? = nil) async throws {
    try await reportingFailures {
        printReport(try await options.session().report(request, purpose: purpose), format: format)
    }
}

extension Stipple {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a client's full timeline, oldest first.",
            discussion: """
                Every consultation, consent, booking, session, touch-up, reaction, amendment (with the \
                event it corrects) and confidentiality change, with the date it happened, the moment it \
                was recorded and who recorded it.
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: ArgumentHelp("The client's id (the part after `client-`).", valueName: "client"))
        var client: String

        @Option(name: .customLong("as-of"), help: ArgumentHelp("Replay only events recorded up to the end of this day (UTC).", valueName: "day"))
        var asOf: String?

        @OptionGroup var format: ReportFormatOptions
        @OptionGroup var purpose: PurposeOption

        func validate() throws {
            if let asOf { _ = try parseDay(asOf, "--as-of") }
            if client.isEmpty { throw ValidationError("Name the client.") }
        }

        func run() async throws {
            try await reportingFailures {
                printReport(try await options.session().history(client: client, asOf: asOf.flatMap(Day.init), purpose: purpose.purpose), format: format)
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one of the clinic reports.",
            subcommands: [Workload.self, Audit.self, Lot.self, Due.self, Conversion.self, Records.self, AccessLogReport.self])

        struct Workload: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Per technician, clinic and ISO week: sessions and touch-ups done, hours, bookings ahead, cancellations, no-shows.",
                discussion: "The report covers the whole ISO weeks (Monday to Sunday) holding --from through --to.")

            @OptionGroup var options: GlobalOptions
            @OptionGroup var range: DateRange
            @Option(help: ArgumentHelp("Only this clinic.", valueName: "clinic"))
            var clinic: String?
            @OptionGroup var format: ReportFormatOptions

            func run() async throws {
                let (from, to) = range.days
                try await printReport(.workload(from: from, to: to, clinic: clinic), options, format)
            }
        }

        struct Audit: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check every session and touch-up: certification, supervision, bloodborne-pathogens training, consent, lots.",
                discussion: "Violations first (one row per rule broken), then the count of clean procedures.")

            @OptionGroup var options: GlobalOptions
            @Option(help: ArgumentHelp("The first day (default: the beginning).", valueName: "day"))
            var from: String?
            @Option(help: ArgumentHelp("The last day, included (default: the end).", valueName: "day"))
            var to: String?
            @OptionGroup var format: ReportFormatOptions

            func validate() throws {
                let first = try from.map { try parseDay($0, "--from") }, last = try to.map { try parseDay($0, "--to") }
                if let first, let last, last < first {
                    throw ValidationError("The range is reversed: --to \(last) is before --from \(first).")
                }
            }

            func run() async throws {
                try await printReport(.audit(from: from.flatMap(Day.init), to: to.flatMap(Day.init)), options, format)
            }
        }

        struct Lot: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Every client, procedure, day, clinic and scalp area that received a lot; for a recalled lot, whom to contact.")

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The lot number (or the lot's id, e.g. PB-1187~perma-blend).", valueName: "lot"))
            var lot: String
            @Option(help: "The lot's manufacturer, where two manufacturers' lots have this number.") var manufacturer: String?
            @OptionGroup var format: ReportFormatOptions
            @OptionGroup var purpose: PurposeOption

            func run() async throws {
                try await reportingFailures {
                    let session = try await options.session()
                    let lot = try await session.lotID(StreamCategory.batch.id(in: self.lot) ?? self.lot, manufacturer: manufacturer ?? "")
                    printReport(try await session.report(.lot(lot), purpose: purpose.purpose), format: format)
                }
            }
        }

        struct Due: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Touch-ups falling due, guarantees ending within 30 days, courses overdue.",
                discussion: """
                    A touch-up falls due --touch-up-months after a client's last procedure (default \
                    \(ClinicReports.defaultTouchUpMonths)); the list holds those due by 30 days after --on. \
                    A guarantee runs \(ClinicReports.guaranteeMonths) months from the course's last session \
                    and covers one touch-up. A course is overdue when its last session is more than \
                    \(ClinicReports.courseOverdueDays) days old and it has fewer sessions than the consultation planned.
                    """)

            @OptionGroup var options: GlobalOptions
            @Option(help: ArgumentHelp("The day to look from (YYYY-MM-DD).", valueName: "day"))
            var on: String
            @Option(name: .customLong("touch-up-months"), help: ArgumentHelp("Months from the last procedure to a touch-up.", valueName: "months"))
            var touchUpMonths = ClinicReports.defaultTouchUpMonths
            @Option(help: ArgumentHelp("Only this clinic's clients (a clinician's own clinic; default: the chain's).", valueName: "clinic"))
            var clinic: String?
            @OptionGroup var format: ReportFormatOptions
            @OptionGroup var purpose: PurposeOption

            func validate() throws {
                _ = try parseDay(on, "--on")
                guard (1...240).contains(touchUpMonths) else {
                    throw ValidationError("--touch-up-months must be 1 to 240, not \(touchUpMonths).")
                }
            }

            func run() async throws {
                try await printReport(.due(on: Day(on)!, touchUpMonths: touchUpMonths, clinic: clinic), options, format, purpose: purpose.purpose)
            }
        }

        struct Conversion: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Consultations per clinic and how many went on to a first session.")

            @OptionGroup var options: GlobalOptions
            @OptionGroup var range: DateRange
            @OptionGroup var format: ReportFormatOptions

            func run() async throws {
                let (from, to) = range.days
                try await printReport(.conversion(from: from, to: to), options, format)
            }
        }

        struct Records: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "The personal-service-settings record: client and contact, date, procedure, provider, lots with expiry.")

            @OptionGroup var options: GlobalOptions
            @OptionGroup var range: DateRange
            @OptionGroup var format: ReportFormatOptions
            @OptionGroup var purpose: PurposeOption

            func run() async throws {
                let (from, to) = range.days
                try await printReport(.records(from: from, to: to), options, format, purpose: purpose.purpose)
            }
        }

        struct AccessLogReport: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "access", abstract: "Who was shown a client's record, when, why and through which command (admins, auditors).")

            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The client's id.", valueName: "client"))
            var client: String
            @OptionGroup var format: ReportFormatOptions

            func run() async throws {
                try await printReport(.access(client: client), options, format)
            }
        }
    }
}
