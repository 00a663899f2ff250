import Foundation
import HTTPTypes
import Discretion
import Hummingbird
import NIOCore
import Reports
import StippleService
import Treatment

/// The reports pages: a list of the reports this user reads, and each report with the form
/// of its parameters (days, clinic: no personal data, so they are a GET's query), its
/// tables, and for the workload a bar chart per technician. The records-law report prints
/// and downloads as CSV. The reports, their permissions and the accesses they log are
/// `Session.report`'s.
extension WebPages {
    func addReportRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        router.get("/reports") { request, _ in
            try await pages.signedIn(request) { signedIn in pages.reportsIndex(signedIn) }
        }
        router.get("/reports/:name") { request, context in
            let name = try context.parameters.require("name")
            return try await pages.signedIn(request) { signedIn in
                if name == "records.csv" { return try await pages.recordsCSV(signedIn, query: Self.query(request)) }
                guard let page = ReportPage(rawValue: name) else {
                    var model = PageModel(title: "No such report", signedIn: signedIn)
                    model.message = "There is no report \(name)."
                    return pages.render("message", model, status: .notFound)
                }
                return try await pages.reportPage(page, signedIn, query: Self.query(request))
            }
        }
    }

    static func query(_ request: Request) -> [String: String] {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { values[String(name)] = String(value).trimmingCharacters(in: .whitespaces) }
        return values
    }

    func reportsIndex(_ signedIn: SignedIn) -> Response {
        var model = PageModel(title: "Reports", signedIn: signedIn)
        let session = signedIn.session
        let links = ReportPage.allCases.compactMap { page in
            session.mayRead(page.report) ? ReportLink(name: page.rawValue, title: page.title, about: page.about) : nil
        }
        model.reports = ReportsIndexView(reports: links, none: links.isEmpty)
        return render("reports", model)
    }

    func reportPage(_ page: ReportPage, _ signedIn: SignedIn, query: [String: String]) async throws -> Response {
        let session = signedIn.session
        var model = PageModel(title: page.title, signedIn: signedIn)
        let clinics = try await Self.clinics(of: session)
        let today = try await session.today(at: clinics.first).day
        var view = ReportView(page: page, values: query, today: today, clinics: clinics, chainWide: session.may(.readReports))
        guard let request = view.request() else {
            view.finish()
            model.report = view
            return render("report", model, status: .unprocessableContent)
        }
        do {
            let report = try await session.report(request)
            view.sections = report.sections.map { ReportTableView($0) }
            view.notice = report.notice.flatMap { $0.contains("rebuild") ? $0 : nil }
            if page == .workload, let table = report.sections.first { view.chart = WorkloadChart(table) }
            if page == .records { view.csv = "/reports/records.csv?from=\(view.value("from"))&to=\(view.value("to"))" }
        } catch {
            let error = ServiceError(error)
            if error.kind == .denied {
                model.message = "You may not read this report" + (page.byClinic && !session.may(.readReports) ? " across the chain: choose one of your clinics." : ".")
            } else {
                Self.place(error, in: &view.errors) { page.formField(ofRule: $0) }
            }
            view.refused = true
        }
        view.finish()
        model.report = view
        return render("report", model, status: view.refused ? .unprocessableContent : .ok)
    }

    /// The records-law report as a CSV file.
    func recordsCSV(_ signedIn: SignedIn, query: [String: String]) async throws -> Response {
        let session = signedIn.session
        let today = try await session.today(at: try await Self.clinics(of: session).first).day
        var view = ReportView(page: .records, values: query, today: today, clinics: [])
        guard let request = view.request() else { throw ServiceError.badInput(view.errors.form.first ?? view.errors.fields.values.first?.first ?? "give the days as YYYY-MM-DD") }
        let report = try await session.report(request)
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        guard case .records(let from, let to) = request else { throw ServiceError.failure("the records report was not asked for") }
        headers[.contentDisposition] = "attachment; filename=\"stipple-records-\(from)-\(to).csv\""
        // A byte-order mark first: spreadsheets then read the names' accents as UTF-8.
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "\u{FEFF}" + report.csvLines.joined(separator: "\r\n") + "\r\n")))
    }
}

/// The reports with a page.
enum ReportPage: String, CaseIterable {
    case audit, workload, due, conversion, records, access

    var title: String {
        switch self {
        case .audit: return "Certification audit"
        case .workload: return "Technician workload"
        case .due: return "Touch-ups due"
        case .conversion: return "Consultations to first sessions"
        case .records: return "Personal-service-settings record"
        case .access: return "A client's access log"
        }
    }

    var about: String {
        switch self {
        case .audit: return "Every procedure checked against consent, certification and lots; violations first, clients by pseudonym."
        case .workload: return "Sessions, touch-ups and hours per technician and ISO week, with bookings ahead."
        case .due: return "Touch-ups and guarantees falling due within \(ClinicReports.lookAheadDays) days, and courses overdue."
        case .conversion: return "Consultations per clinic and how many went on to a first session."
        case .records: return "The record the inspection asks for: date, client, procedure, provider, lots. Prints, and downloads as CSV."
        case .access: return "Who was shown a client's record, when and why."
        }
    }

    /// The library's report (which says who may read it).
    var report: ReportName {
        switch self {
        case .audit: return .audit
        case .workload: return .workload
        case .due: return .due
        case .conversion: return .conversion
        case .records: return .records
        case .access: return .access
        }
    }

    /// Whether the report can be asked for one clinic (a clinician's own).
    var byClinic: Bool { self == .workload || self == .due }

    /// The parameter fields of the report's form.
    var parameters: [String] {
        switch self {
        case .audit: return ["from", "to"]
        case .workload: return ["from", "to", "clinic"]
        case .due: return ["on", "months", "clinic"]
        case .conversion, .records: return ["from", "to"]
        case .access: return ["client"]
        }
    }

    func formField(ofRule field: String) -> String? {
        parameters.contains(field) ? field : nil
    }
}

/// A report's page: its parameters as typed, and what it found.
struct ReportView {
    var name: String
    var title: String
    var about: String
    var fields: [FieldView] = []
    var errors = FormErrors()
    var formErrors: [String] = []
    var sections: [ReportTableView] = []
    var chart: WorkloadChart?
    var csv: String?
    var notice: String?
    var refused = false
    var printable: Bool
    private var values: [String: String]
    private let page: ReportPage
    private let clinics: [String]
    private let chainWide: Bool
    /// The form's id (its fields' ids start with it).
    let id = "report"

    /// - Parameter chainWide: whether the user reads the chain's reports (else one clinic's).
    init(page: ReportPage, values given: [String: String], today: Day, clinics: [String], chainWide: Bool = true) {
        self.page = page
        self.clinics = clinics
        self.chainWide = chainWide
        name = page.rawValue
        title = page.title
        about = page.about
        printable = page == .records
        var values = given
        // Defaults: the last four weeks (workload), the last 30 days (records), the last 90
        // (conversion), today (due); a clinic-scoped user's report is their clinic's.
        let back: Int
        switch page {
        case .workload: back = 21  // with today's week, four whole ISO weeks
        case .conversion: back = 89
        default: back = 29
        }
        if page != .audit, page != .access {
            if values["from", default: ""].isEmpty { values["from"] = today.adding(days: -back).description }
            if values["to", default: ""].isEmpty { values["to"] = today.description }
        }
        if values["on", default: ""].isEmpty { values["on"] = today.description }
        if values["months", default: ""].isEmpty { values["months"] = String(ClinicReports.defaultTouchUpMonths) }
        // A clinic-scoped user's report is one of their clinics' (the chain's is not theirs).
        if page.byClinic, values["clinic", default: ""].isEmpty, !chainWide, let first = clinics.first { values["clinic"] = first }
        self.values = values
    }

    func value(_ name: String) -> String { values[name] ?? "" }

    /// The report asked for; `nil` with the reasons beside the fields when a value does not parse.
    mutating func request() -> ReportRequest? {
        func day(_ field: String, optional: Bool = false) -> Day? {
            let text = value(field)
            if text.isEmpty, optional { return nil }
            do { return try TypedInput.day(text, "the day") } catch {
                errors.add(WebPages.sentence(ServiceError(error).message), to: field)
                return nil
            }
        }
        let clinic = value("clinic").isEmpty ? nil : value("clinic")
        var request: ReportRequest?
        switch page {
        case .audit:
            let from = day("from", optional: true), to = day("to", optional: true)
            request = .audit(from: from, to: to)
        case .workload:
            if let from = day("from"), let to = day("to") { request = .workload(from: from, to: to, clinic: clinic) }
        case .due:
            let months = Int(value("months")).flatMap { (1...240).contains($0) ? $0 : nil }
            if months == nil { errors.add("Give the months from the last procedure to a touch-up, 1 to 240.", to: "months") }
            if let on = day("on"), let months { request = .due(on: on, touchUpMonths: months, clinic: clinic) }
        case .conversion:
            if let from = day("from"), let to = day("to") { request = .conversion(from: from, to: to) }
        case .records:
            if let from = day("from"), let to = day("to") { request = .records(from: from, to: to) }
        case .access:
            if value("client").isEmpty { errors.add("Give the client's id.", to: "client") } else { request = .access(client: value("client")) }
        }
        if errors.hasErrors { request = nil; refused = true }
        return request
    }

    /// The form's fields as typed, with their errors.
    mutating func finish() {
        fields = page.parameters.map { name in
            var field: FieldView
            switch name {
            case "from": field = FieldView(name: name, label: "From", kind: .date, value: value(name))
            case "to": field = FieldView(name: name, label: "To (included)", kind: .date, value: value(name))
            case "on": field = FieldView(name: name, label: "Looking from", kind: .date, value: value(name))
            case "months": field = FieldView(name: name, label: "Months to a touch-up", kind: .number, value: value(name))
            case "clinic":
                var choices = clinics.map { Choice(value: $0, label: $0, selected: $0 == value(name)) }
                if chainWide { choices.insert(Choice(value: "", label: "every clinic", selected: value(name).isEmpty), at: 0) }
                field = FieldView(name: name, label: "Clinic", kind: .select(choices))
            default: field = FieldView(name: name, label: "Client id", kind: .text, value: value(name), required: true)
            }
            field.errors = errors.fields[name] ?? []
            return field
        }
        formErrors = errors.form
    }
}

struct ReportsIndexView {
    var reports: [ReportLink]
    var none = false
}

struct ReportLink {
    var name: String
    var title: String
    var about: String
}

/// The workload as bar charts, one per technician: hours done per ISO week, on one scale.
struct WorkloadChart {
    struct Technician {
        var technician: String
        var bars: [Bar]
        var description: String
    }

    struct Bar {
        var x: Int
        var y: Int
        var height: Int
        var week: String
        /// The week without its year (`W25`), under the bar.
        var short: String
        var hours: String
        var labelY: Int
    }

    var technicians: [Technician]
    var weeks: [String]
    var width: Int
    var maxHours: String
    var none: Bool

    static let plotHeight = 120, barWidth = 34, gap = 10, left = 6

    init(_ table: ReportTable) {
        let technician = table.columns.firstIndex(of: "technician"), week = table.columns.firstIndex(of: "week"), hours = table.columns.firstIndex(of: "hoursDone")
        guard let technician, let week, let hours else { self.init(technicians: [], weeks: []); return }
        var byTechnician: [String: [String: Double]] = [:]
        var weeks: Set<String> = []
        for row in table.rows {
            let value = Double(row[hours].description) ?? 0
            byTechnician[row[technician].description, default: [:]][row[week].description, default: 0] += value
            weeks.insert(row[week].description)
        }
        let sortedWeeks = weeks.sorted()
        let top = max(byTechnician.values.flatMap(\.values).max() ?? 0, 1)
        let technicians = byTechnician.keys.sorted().map { name in
            let hoursByWeek = byTechnician[name] ?? [:]
            let bars = sortedWeeks.enumerated().map { index, week in
                let value = hoursByWeek[week] ?? 0
                let height = Int((value / top * Double(Self.plotHeight)).rounded())
                return Bar(
                    x: Self.left + index * (Self.barWidth + Self.gap), y: Self.plotHeight - height + 14, height: height, week: week,
                    short: String(week.split(separator: "-").last ?? Substring(week)), hours: Self.hours(value), labelY: Self.plotHeight - height + 10)
            }
            let description = "Hours done by technician \(name) per week: " + bars.map { "\($0.week) \($0.hours)" }.joined(separator: ", ")
            return Technician(technician: name, bars: bars, description: description)
        }
        self.init(technicians: technicians, weeks: sortedWeeks)
        maxHours = Self.hours(top)
    }

    private init(technicians: [Technician], weeks: [String]) {
        self.technicians = technicians
        self.weeks = weeks
        width = Self.left * 2 + max(weeks.count, 1) * (Self.barWidth + Self.gap)
        maxHours = "0"
        none = technicians.isEmpty
    }

    static func hours(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

extension HTTPField.Name {
    static let contentDisposition = HTTPField.Name("Content-Disposition")!
}
