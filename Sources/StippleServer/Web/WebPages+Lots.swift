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
        for action in [LotAction.open, .recall, .discard] {
            router.post(RouterPath("/lots/:lot/" + action.rawValue)) { request, context in
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

    func lotsPage(_ signedIn: SignedIn, clinic: String?, receiving: TypedForm<LotAction>? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        let clinics = try await Self.clinics(of: session)
        let chosen = clinic.flatMap { clinics.contains($0) ? $0 : nil } ?? clinics.first
        var model = PageModel(title: "Lots", signedIn: signedIn)
        var view = LotsView(
            clinic: chosen ?? "", clinics: clinics.map { Choice(value: $0, label: $0, selected: $0 == chosen) }, lots: [],
            form: LotAction.receive.form(lot: "", clinic: chosen ?? "", typed: receiving))
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
        try await lotAction(.receive, signedIn, lot: LotIdentity.id(lot: form.text("lot"), manufacturer: form.text("manufacturer")), form)
    }

    func lotPage(_ signedIn: SignedIn, lot typedLot: String, typed: TypedForm<LotAction>? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        var model = PageModel(title: "Lot \(LotIdentity.number(of: typedLot))", signedIn: signedIn)
        let report: ClinicReports.Report
        let lot: String
        do {
            // A typed number finds its lot; two manufacturers' lots of one number are told apart by id.
            lot = try await session.lotID(typedLot)
            report = try await session.report(.lot(lot))
        } catch {
            let error = ServiceError(error)
            guard error.kind == .denied || error.kind == .notFound || error.kind == .badInput else { throw error }
            model.message = error.kind == .badInput ? Self.sentence(error.message) : "There is no lot \(typedLot) that you may open."
            return render("message", model, status: .notFound)
        }
        let time = try await session.clinicTime(ofLot: lot)
        model.lot = LotView(
            lot: lot, sections: report.sections.map { ReportTableView($0) }, zone: time.zone.identifier,
            actions: [LotAction.open, .recall, .discard].map { $0.form(lot: lot, clinic: nil, typed: typed?.action == $0 ? typed : nil) },
            notice: report.notice.flatMap { $0.contains("rebuild") ? $0 : nil })
        return render("lot", model, status: status)
    }

    /// Records a lot's receipt, opening, recall or discard as typed; a refusal shows the page
    /// again with each reason next to its field.
    func lotAction(_ action: LotAction, _ signedIn: SignedIn, lot: String, _ form: Form) async throws -> Response {
        let session = signedIn.session
        var typed = TypedForm(action: action, values: form)
        do {
            let lot = action == .receive ? lot : try await session.lotID(lot)
            let time = action == .receive ? try await session.clinicTime(form.text("clinic")) : try await session.clinicTime(ofLot: lot)
            let clinic = action == .open ? try await session.clinic(ofLot: lot) : nil
            if let command = try action.command(lot: lot, form: form, time: time, clinic: clinic, errors: &typed.errors), !typed.errors.hasErrors {
                _ = try await session.record([command], idempotency: form.idempotency)
                return Self.redirect(to: "/lots/" + Self.pathSegment(lot))
            }
        } catch {
            Self.place(ServiceError(error), in: &typed.errors, field: action.formField(ofRule:))
        }
        if action == .receive { return try await lotsPage(signedIn, clinic: form.text("clinic"), receiving: typed, status: .unprocessableContent) }
        return try await lotPage(signedIn, lot: lot, typed: typed, status: .unprocessableContent)
    }

    /// A refusal's reasons next to the fields `field` names for the rule's fields.
    /// A form of a page shown once, sent again with other values (the browser's Back, then
    /// a change): the first one was recorded, this one is not.
    static let sentAgain = "This form was already sent from this page, with other values: that first one was recorded. Nothing more was: open the page again to record another."

    static func place<F: ErrorPlaces>(_ error: ServiceError, in form: inout F, field: (String) -> String?) {
        if case .violations(let violations, _) = error.detail {
            for violation in violations { form.add(sentence(violation.message), to: violation.field.flatMap(field)) }
        } else if error.detail == .idempotencyKeyReused {
            form.add(sentAgain, to: nil)
        } else {
            form.add(sentence(error.message), to: nil)
        }
    }

    /// A lot id as one path segment (lot ids are letters, digits, dashes and `~`; anything
    /// else is escaped).
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? ""
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
    var form: ActionForm
}

struct LotRow {
    var id: String
    var lot: String
    var kind: String
    var description: String
    var expiry: String
    var received: String
    var opened: String
    var state: String
    var usable: Bool

    init(_ status: LotStatus) {
        id = status.lot.id
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

struct LotView {
    var lot: String
    var sections: [ReportTableView]
    var zone: String
    /// Opening, recall and discard.
    var actions: [ActionForm]
    var notice: String?
}

/// What is recorded of a lot from the pages, each a form.
enum LotAction: String, CaseIterable {
    case receive, open, recall, discard

    var title: String {
        switch self {
        case .receive: return "Record the receipt"
        case .open: return "Record a bottle or box opened"
        case .recall: return "Record a recall"
        case .discard: return "Record a discard"
        }
    }

    func formField(ofRule field: String) -> String? {
        let fields = [
            "lot": "lot", "kind": "kind", "expiry": "expiry", "manufacturer": "manufacturer", "configuration": "configuration", "diameterMm": "diameter",
            "quantity": "quantity", "receivedAt": "at", "openedAt": "at", "authority": "authority", "noticeReference": "notice", "reason": "reason",
            "recalledAt": "at", "discardedAt": "at", "clinicId": "clinic",
        ]
        return fields[field]
    }

    /// The form, blank or as typed; `clinic`: the receiving clinic (a receipt's).
    func form(lot: String, clinic: String?, typed: TypedForm<LotAction>? = nil) -> ActionForm {
        let values = FormValues(typed?.values)
        let at = FieldView(name: "at", label: self == .receive ? "Received" : self == .open ? "Opened at" : self == .recall ? "Recalled at" : "Discarded at",
                           kind: .dateTime, value: values.value("at"), required: true)
        let fields: [FieldView]
        switch self {
        case .receive:
            fields = [
                FieldView(name: "lot", label: "Lot number", kind: .text, value: values.value("lot"), required: true),
                FieldView(name: "kind", label: "Kind", kind: .select(values.choices("kind", [("pigment", "pigment"), ("cartridge", "needle cartridge")], fallback: "pigment"))),
                FieldView(name: "manufacturer", label: "Manufacturer", kind: .text, value: values.value("manufacturer"), required: true),
                FieldView(name: "expiry", label: "Expiry", kind: .date, value: values.value("expiry"), required: true),
                FieldView(name: "shade", label: "Shade (pigments)", kind: .text, value: values.value("shade")),
                FieldView(name: "quantity", label: "Units", kind: .number, value: values.value("quantity", "1")),
                FieldView(name: "configuration", label: "Configuration (cartridges)", kind: .select(values.choices(
                    "configuration", FormValues.named(TypedInput.needleConfigurations.names), fallback: "3RL"))),
                FieldView(name: "diameter", label: "Needle diameter, mm (cartridges)", kind: .decimal, value: values.value("diameter")),
                at,
            ]
        case .open: fields = [at]
        case .recall:
            fields = [
                FieldView(name: "authority", label: "Recalled by (authority)", kind: .text, value: values.value("authority", "Health Canada"), required: true),
                FieldView(name: "notice", label: "Notice reference", kind: .text, value: values.value("notice"), required: true),
                at,
                FieldView(name: "reason", label: "Reason", kind: .text, value: values.value("reason")),
            ]
        case .discard:
            fields = [FieldView(name: "reason", label: "Why", kind: .text, value: values.value("reason"), required: true), at]
        }
        let path = self == .receive ? "/lots" : "/lots/\(WebPages.pathSegment(lot))/\(rawValue)"
        return ActionForm(id: rawValue + "-form", action: path, title: title, clinic: clinic, fields: fields, errors: typed?.errors)
    }

    /// The command the form says; `nil` with the reasons in `errors`.
    func command(lot: String, form: Form, time: ClinicTime, clinic: String?, errors: inout FormErrors) throws(ServiceError) -> Command? {
        var parsed = FormParser(form: form, time: time)
        defer { errors = parsed.errors }
        let at = parsed.instant("at")
        switch self {
        case .receive:
            var batch = Stipple_V1_BatchReceived()
            batch.lot = parsed.required("lot", "Give the lot number printed on the lot.")
            if let kind = parsed.choice("kind", TypedInput.batchKinds, "the kind") { batch.kind = kind }
            batch.manufacturer = parsed.required("manufacturer", "Give the lot's manufacturer.")
            if let expiry = parsed.parse("expiry", { text throws(ServiceError) in try TypedInput.day(text, "the expiry") }) { batch.expiry = expiry.description }
            batch.clinicID = form.text("clinic")
            batch.shade = form.text("shade")
            if batch.kind == .cartridge {
                if let configuration = parsed.choice("configuration", TypedInput.needleConfigurations, "the configuration") { batch.configuration = configuration }
                if let diameter = parsed.decimal("diameter", "the needle diameter in mm, e.g. 0.25") { batch.diameterMm = diameter }
            }
            if let quantity = parsed.integer("quantity", "how many units were received (1 or more)", 1...1_000_000) { batch.quantity = quantity }
            if let at { batch.receivedAt = at }
            return parsed.errors.hasErrors ? nil : try Command.record(batch, type: "BatchReceived", stream: Streams.batch(lot: batch.lot, manufacturer: batch.manufacturer))
        case .open:
            var opened = Stipple_V1_BatchOpened()
            if let at { opened.openedAt = at }
            opened.clinicID = clinic ?? ""
            return parsed.errors.hasErrors ? nil : try Command.record(opened, type: "BatchOpened", stream: Streams.batch(lot))
        case .recall:
            var recall = Stipple_V1_BatchRecalled()
            recall.authority = form.text("authority")
            recall.noticeReference = form.text("notice")
            recall.reason = form.text("reason")
            if let at { recall.recalledAt = at }
            return parsed.errors.hasErrors ? nil : Command(.recall(lot: lot, recall))
        case .discard:
            var discard = Stipple_V1_BatchDiscarded()
            discard.reason = form.text("reason")
            if let at { discard.discardedAt = at }
            return parsed.errors.hasErrors ? nil : try Command.record(discard, type: "BatchDiscarded", stream: Streams.batch(lot))
        }
    }
}

/// A report's table as a page shows it.
struct ReportTableView {
    struct Cell {
        var text: String
        /// A client's page, for a client id of a report without names.
        var link: String?
    }

    struct Row { var cells: [Cell] }
    var title: String
    var columns: [String]
    var rows: [Row]
    var notes: [String]
    var empty: Bool
    /// A recall's contact list: shown as an alarm.
    var alarm: Bool

    /// - Parameter linkingClients: the `client` column's values link to their pages.
    init(_ table: ReportTable, linkingClients: Bool = false) {
        title = table.title
        columns = table.columns
        let clientColumn = linkingClients ? table.columns.firstIndex(of: "client") : nil
        rows = table.rows.map { row in
            Row(cells: row.indices.map { index in
                let text = row[index].description
                return Cell(text: text, link: index == clientColumn && !text.isEmpty ? "/clients/" + WebPages.pathSegment(text) : nil)
            })
        }
        notes = table.notes
        empty = table.rows.isEmpty
        alarm = table.title.hasPrefix("RECALLED")
    }
}
