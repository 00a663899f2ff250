import Foundation
import HTTPTypes
import Hummingbird
import Reports
import StippleService
import Treatment

/// The lots pages: a clinic's lots and their state, receiving one; a lot's page (who it
/// was used on; for a recalled lot, whom to contact) with recalling and discarding it.
extension WebPages {
    func addLotRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        router.get("/lots") { request, _ in
            try await pages.signedIn(request) { signedIn in try await pages.lotsPage(signedIn, clinic: request.uri.queryParameters["clinic"].map(String.init)) }
        }
        router.post("/lots") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.receiveLot(signedIn, form) }
        }
        router.get("/lots/:lot") { request, context in
            let lot = try context.parameters.require("lot")
            return try await pages.signedIn(request) { signedIn in try await pages.lotPage(signedIn, lot: lot) }
        }
        for action in ["open", "recall", "discard"] {
            router.post(RouterPath("/lots/:lot/" + action)) { request, context in
                let lot = try context.parameters.require("lot")
                let form = try await Self.form(request)
                return try await pages.signedIn(request, form: form) { signedIn in try await pages.lotAction(action, signedIn, lot: lot, form) }
            }
        }
    }

    /// The clinics a user picks from: their own, or (admins, auditors) the chain's.
    static func clinics(of session: Session) async throws -> [String] {
        if session.principal.role.isClinicScoped { return session.principal.clinics.sorted() }
        return try await session.clinics()
    }

    func lotsPage(_ signedIn: SignedIn, clinic: String?, receiving: LotForm? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        let clinics = try await Self.clinics(of: session)
        let chosen = clinic.flatMap { clinics.contains($0) ? $0 : nil } ?? clinics.first
        var model = PageModel(title: "Lots", signedIn: signedIn)
        var view = LotsView(clinic: chosen ?? "", clinics: clinics.map { Choice(value: $0, label: $0, selected: $0 == chosen) }, lots: [], form: receiving ?? LotForm(clinic: chosen ?? ""))
        if let chosen {
            do {
                view.lots = try await session.lots(at: chosen).map(LotRow.init)
            } catch {
                model.message = Self.sentence(error.message)
            }
        }
        model.lots = view
        return render("lots", model, status: status)
    }

    func receiveLot(_ signedIn: SignedIn, _ form: Form) async throws -> Response {
        var typed = LotForm(form)
        let session = signedIn.session
        do {
            let time = try await session.clinicTime(typed.clinic)
            var batch = Stipple_V1_BatchReceived()
            func parse<T>(_ field: String, _ body: () throws(ServiceError) -> T) -> T? {
                do { return try body() } catch { typed.add(Self.sentence(error.message), to: field); return nil }
            }
            batch.lot = typed.lot
            if let kind = parse("kind", { () throws(ServiceError) in try TypedInput.batchKinds.value(typed.kind, "the kind") }) { batch.kind = kind }
            batch.manufacturer = typed.manufacturer
            if let expiry = parse("expiry", { () throws(ServiceError) in try TypedInput.day(typed.expiry, "the expiry") }) { batch.expiry = expiry.description }
            batch.clinicID = typed.clinic
            batch.shade = typed.shade
            if typed.kind == "cartridge" {
                if let configuration = parse("configuration", { () throws(ServiceError) in try TypedInput.needleConfigurations.value(typed.configuration, "the configuration") }) {
                    batch.configuration = configuration
                }
                if let diameter = parse("diameter", { () throws(ServiceError) -> Double in
                    guard let value = Double(typed.diameter) else { throw ServiceError.badInput("give the needle diameter in mm, e.g. 0.25") }
                    return value
                }) { batch.diameterMm = diameter }
            }
            if let quantity = parse("quantity", { () throws(ServiceError) -> Int32 in
                guard let value = Int32(typed.quantity), value > 0 else { throw ServiceError.badInput("give how many units were received (1 or more)") }
                return value
            }) { batch.quantity = quantity }
            if let at = parse("at", { () throws(ServiceError) in try TypedInput.instant(typed.at, "the time received", in: time) }) { batch.receivedAt = at }
            if typed.lot.isEmpty { typed.add("Give the lot number printed on the lot.", to: "lot") }
            guard !typed.hasErrors else { return try await lotsPage(signedIn, clinic: typed.clinic, receiving: typed, status: .unprocessableContent) }
            _ = try await session.record([try Command.record(batch, type: "BatchReceived", stream: Streams.batch(typed.lot))])
            return Self.redirect(to: "/lots/" + Self.pathSegment(typed.lot))
        } catch {
            Self.place(ServiceError(error), in: &typed, fields: ["lot": "lot", "kind": "kind", "expiry": "expiry", "manufacturer": "manufacturer",
                                                                   "configuration": "configuration", "diameterMm": "diameter", "quantity": "quantity", "receivedAt": "at"])
            return try await lotsPage(signedIn, clinic: typed.clinic, receiving: typed, status: .unprocessableContent)
        }
    }

    func lotPage(_ signedIn: SignedIn, lot: String, action: LotActionForm? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        var model = PageModel(title: "Lot \(lot)", signedIn: signedIn)
        let report: ClinicReports.Report
        do {
            report = try await session.report(.lot(lot))
        } catch {
            let error = ServiceError(error)
            guard error.kind == .denied || error.kind == .notFound else { throw error }
            model.message = "There is no lot \(lot) that you may open."
            return render("message", model, status: .notFound)
        }
        let time = try await session.clinicTime(ofLot: lot)
        model.lot = LotView(
            lot: lot, sections: report.sections.map(ReportTableView.init),
            zone: time.zone.identifier, form: action ?? LotActionForm(), notice: report.notice.flatMap { $0.contains("rebuild") ? $0 : nil })
        return render("lot", model, status: status)
    }

    func lotAction(_ action: String, _ signedIn: SignedIn, lot: String, _ form: Form) async throws -> Response {
        let session = signedIn.session
        var typed = LotActionForm(form)
        do {
            let time = try await session.clinicTime(ofLot: lot)
            let at = try? TypedInput.instant(typed.at, "the time", in: time)
            // The opening's form is a line of its own: its errors go above the forms.
            if at == nil { typed.add("Give the day and time (\(time.zone.identifier)), e.g. 2026-03-14T10:00.", to: action == "open" ? nil : "at") }
            let command: Command
            switch action {
            case "open":
                var opened = Stipple_V1_BatchOpened()
                if let at { opened.openedAt = at }
                opened.clinicID = try await session.clinic(ofLot: lot) ?? ""
                command = try Command.record(opened, type: "BatchOpened", stream: Streams.batch(lot))
            case "recall":
                var recall = Stipple_V1_BatchRecalled()
                recall.authority = typed.authority
                recall.noticeReference = typed.notice
                recall.reason = typed.reason
                if let at { recall.recalledAt = at }
                command = Command(.recall(lot: lot, recall))
            default:
                var discard = Stipple_V1_BatchDiscarded()
                discard.reason = typed.reason
                if let at { discard.discardedAt = at }
                command = try Command.record(discard, type: "BatchDiscarded", stream: Streams.batch(lot))
            }
            guard !typed.hasErrors else { return try await lotPage(signedIn, lot: lot, action: typed, status: .unprocessableContent) }
            _ = try await session.record([command])
            return Self.redirect(to: "/lots/" + Self.pathSegment(lot))
        } catch {
            Self.place(ServiceError(error), in: &typed, fields: ["authority": "authority", "noticeReference": "notice", "reason": "reason",
                                                                   "recalledAt": "at", "discardedAt": "at"])
            return try await lotPage(signedIn, lot: lot, action: typed, status: .unprocessableContent)
        }
    }

    /// A refusal's reasons next to the fields they name (`fields`: the rule's field → the form's).
    static func place<F: ErrorPlaces>(_ error: ServiceError, in form: inout F, fields: [String: String]) {
        place(error, in: &form) { fields[$0] }
    }

    /// A refusal's reasons next to the fields `field` names for the rule's fields.
    static func place<F: ErrorPlaces>(_ error: ServiceError, in form: inout F, field: (String) -> String?) {
        if case .violations(let violations, _) = error.detail {
            for violation in violations { form.add(sentence(violation.message), to: violation.field.flatMap(field)) }
        } else {
            form.add(sentence(error.message), to: nil)
        }
    }

    /// A lot number as one path segment (lot numbers are letters, digits and dashes; anything
    /// else is escaped).
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")) ?? ""
    }
}

/// A form that shows errors next to its fields.
protocol ErrorPlaces {
    mutating func add(_ message: String, to field: String?)
}

struct LotsView {
    var clinic: String
    var clinics: [Choice]
    var lots: [LotRow]
    var form: LotForm
}

struct LotRow {
    var lot: String
    var kind: String
    var description: String
    var expiry: String
    var received: String
    var opened: String
    var state: String
    var usable: Bool

    init(_ status: LotStatus) {
        lot = status.lot.lot
        kind = status.lot.kind
        description = "\(status.lot.manufacturer) \(status.lot.description)"
        expiry = status.lot.expiry.description
        received = status.received.description
        opened = status.opened?.description ?? ""
        switch status.state {
        case .onHand: (state, usable) = ("on hand", true)
        case .expired: (state, usable) = ("expired", false)
        case .recalled(let day, let authority, let notice): (state, usable) = ("recalled \(day) (\(authority) \(notice))", false)
        case .discarded(let day): (state, usable) = ("discarded \(day)", false)
        }
    }
}

/// The receipt form, as typed.
struct LotForm: ErrorPlaces {
    var lot = "", kind = "pigment", manufacturer = "", expiry = "", clinic = "", shade = "", configuration = "3RL", diameter = "", quantity = "1", at = ""
    var fieldErrors = LotFieldErrors()
    var formErrors: [String] = []
    var hasErrors = false
    /// Stored for the template (which reads stored properties only).
    var isCartridge: Bool

    init(clinic: String) {
        self.clinic = clinic
        isCartridge = false
    }

    init(_ form: Form) {
        lot = form.text("lot"); kind = form.text("kind"); manufacturer = form.text("manufacturer"); expiry = form.text("expiry")
        clinic = form.text("clinic"); shade = form.text("shade"); configuration = form.text("configuration"); diameter = form.text("diameter")
        quantity = form.text("quantity"); at = form.text("at")
        isCartridge = kind == "cartridge"
    }

    mutating func add(_ message: String, to field: String?) {
        hasErrors = true
        if let field, fieldErrors.add(message, to: field) { return }
        formErrors.append(message)
    }
}

struct LotFieldErrors {
    var lot: [String] = [], kind: [String] = [], manufacturer: [String] = [], expiry: [String] = [], configuration: [String] = []
    var diameter: [String] = [], quantity: [String] = [], at: [String] = []

    mutating func add(_ message: String, to field: String) -> Bool {
        switch field {
        case "lot": lot.append(message)
        case "kind": kind.append(message)
        case "manufacturer": manufacturer.append(message)
        case "expiry": expiry.append(message)
        case "configuration": configuration.append(message)
        case "diameter": diameter.append(message)
        case "quantity": quantity.append(message)
        case "at": at.append(message)
        default: return false
        }
        return true
    }
}

/// The open, recall and discard forms of a lot's page, as typed.
struct LotActionForm: ErrorPlaces {
    var authority = "", notice = "", reason = "", at = ""
    var fieldErrors = ActionFieldErrors()
    var formErrors: [String] = []
    var hasErrors = false

    init() {}

    init(_ form: Form) {
        authority = form.text("authority"); notice = form.text("notice"); reason = form.text("reason"); at = form.text("at")
    }

    mutating func add(_ message: String, to field: String?) {
        hasErrors = true
        switch field {
        case "authority": fieldErrors.authority.append(message)
        case "notice": fieldErrors.notice.append(message)
        case "reason": fieldErrors.reason.append(message)
        case "at": fieldErrors.at.append(message)
        default: formErrors.append(message)
        }
    }
}

struct ActionFieldErrors {
    var authority: [String] = [], notice: [String] = [], reason: [String] = [], at: [String] = []
}

struct LotView {
    var lot: String
    var sections: [ReportTableView]
    var zone: String
    var form: LotActionForm
    var notice: String?
}

/// A report's table as a page shows it.
struct ReportTableView {
    struct Row { var cells: [String] }
    var title: String
    var columns: [String]
    var rows: [Row]
    var notes: [String]
    var empty: Bool
    /// A recall's contact list: shown as an alarm.
    var alarm: Bool

    init(_ table: ReportTable) {
        title = table.title
        columns = table.columns
        rows = table.rows.map { Row(cells: $0.map(\.description)) }
        notes = table.notes
        empty = table.rows.isEmpty
        alarm = table.title.hasPrefix("RECALLED")
    }
}
