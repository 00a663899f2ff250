import Foundation
import HTTPTypes
import Hummingbird
import StippleService
import SwiftProtobuf
import Treatment

/// The actions of a client's page besides the session (consultation, consent, booking,
/// reschedule, cancel, no-show, touch-up, reaction, amendment), each a form described here
/// and rendered by one template loop: its fields, what was typed, each field's errors. The
/// page only parses the form into a command; the session decides.
extension WebPages {
    func addActionRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        for action in ClientAction.allCases {
            router.post(RouterPath("/clients/:client/" + action.rawValue)) { request, context in
                let client = try context.parameters.require("client")
                let form = try await Self.form(request)
                return try await pages.signedIn(request, form: form) { signedIn in try await pages.record(action, signedIn, client: client, form) }
            }
        }
    }

    /// Records `action` as typed; a refusal shows the page again with the reasons next to
    /// the fields and the form as it was typed.
    func record(_ action: ClientAction, _ signedIn: SignedIn, client: String, _ form: Form) async throws -> Response {
        let session = signedIn.session
        let purpose = form.value("purpose").flatMap { $0.isEmpty ? nil : $0 }
        var typed = TypedAction(action: action, values: form)
        do {
            let time = try await session.clinicTime(ofClient: client)
            let command = try action.command(client: Session.clientID(client), form: form, time: time, errors: &typed.errors)
            guard let command, !typed.errors.hasErrors else {
                return try await clientPage(signedIn, client: client, purpose: purpose, typed: typed, status: .unprocessableContent)
            }
            _ = try await session.record([command], idempotency: form.idempotency)
        } catch {
            Self.place(ServiceError(error), in: &typed.errors, field: action.formField(ofRule:))
            return try await clientPage(signedIn, client: client, purpose: purpose, typed: typed, status: .unprocessableContent)
        }
        guard purpose != nil else { return Self.redirect(to: "/clients/" + Self.pathSegment(Session.clientID(client)) + "?done=" + action.rawValue) }
        return try await clientPage(signedIn, client: client, purpose: purpose, done: action)
    }
}

/// What an action's form offers: the client's open bookings, facts, the lots on hand.
struct ActionContext {
    var client: String
    var clinic: String
    var time: ClinicTime
    var course: CourseGlance
    var lots: [LotOnHand]
    /// The consent forms' versions in force, `form:version` (the newest of each form last).
    var forms: [(value: String, label: String)] = []
}

/// A form as it was posted, and what it got wrong.
struct TypedForm<Action: Equatable> {
    var action: Action
    var values: Form
    var errors = FormErrors()
}

typealias TypedAction = TypedForm<ClientAction>

/// A form's errors: each field's, and those of the whole form.
struct FormErrors: ErrorPlaces {
    var fields: [String: [String]] = [:]
    var form: [String] = []
    var hasErrors: Bool { !fields.isEmpty || !form.isEmpty }

    mutating func add(_ message: String, to field: String?) {
        if let field { fields[field, default: []].append(message) } else { form.append(message) }
    }
}

/// The actions with a form of their own on a client's page.
enum ClientAction: String, CaseIterable {
    case consultation, consent, booking, reschedule, cancel
    case noShow = "no-show"
    case touchUp = "touch-up"
    case reaction, amendment

    var title: String {
        switch self {
        case .consultation: return "Record a consultation"
        case .consent: return "Record a signed consent"
        case .booking: return "Book a session"
        case .reschedule: return "Move a booking"
        case .cancel: return "Cancel a booking"
        case .noShow: return "Record a no-show"
        case .touchUp: return "Record a touch-up"
        case .reaction: return "Report an adverse reaction"
        case .amendment: return "Correct a record"
        }
    }

    /// What was done, for the page after it.
    var done: String {
        switch self {
        case .consultation: return "Consultation recorded."
        case .consent: return "Consent recorded."
        case .booking: return "Booking recorded."
        case .reschedule: return "Booking moved."
        case .cancel: return "Booking cancelled."
        case .noShow: return "No-show recorded."
        case .touchUp: return "Touch-up recorded."
        case .reaction: return "Reaction recorded."
        case .amendment: return "Correction recorded."
        }
    }

    /// The form field a rule's field (the command's JSON name) is shown next to.
    func formField(ofRule field: String) -> String? {
        if self == .touchUp {
            if field.hasPrefix("pigments") { return field.hasSuffix("dilutionPercent") ? "dilution" : "pigment" }
            if field.hasPrefix("cartridges") { return "cartridge" }
        }
        let fields: [String: String]
        switch self {
        case .consultation:
            fields = ["consultantId": "consultant", "consultedAt": "at", "hairLossType": "hairLoss", "norwoodStage": "stage", "ludwigStage": "stage",
                      "stage": "stage", "fitzpatrickType": "fitzpatrick", "areas": "areas", "estimatedSessions": "sessions", "quotedPriceCents": "price",
                      "contraindications": "contraindications"]
        case .consent: fields = ["formId": "form", "formVersion": "form", "formSha256": "form", "covers": "procedure", "signedAt": "at", "witnessId": "witness"]
        case .booking: fields = ["bookingId": "booking", "technicianId": "technician", "startsAt": "at", "expectedMinutes": "minutes", "sessionNumber": "number"]
        case .reschedule: fields = ["bookingId": "booking", "startsAt": "at", "reason": "reason"]
        case .cancel: fields = ["bookingId": "booking", "cancelledBy": "by", "reason": "reason"]
        case .noShow: fields = ["bookingId": "booking"]
        case .touchUp:
            fields = ["technicianId": "technician", "supervisorId": "supervisor", "startedAt": "start", "endedAt": "end", "areas": "areas",
                      "depthMm": "depth", "reason": "reason", "bookingId": "booking", "underGuarantee": "guarantee"]
        case .reaction: fields = ["reportedAt": "at", "severity": "severity", "lots": "lots", "procedureEventId": "procedure", "actionsTaken": "actions"]
        case .amendment: fields = ["correctsEventId": "event", "fields": "fields", "reason": "reason", "correctedValuesJson": "values"]
        }
        return fields[field]
    }

    /// The form, blank (with defaults from the client's course) or as typed.
    func form(_ context: ActionContext, typed: TypedAction? = nil) -> ActionForm {
        let values = FormValues(typed?.values)
        let zone = context.time.zone.identifier
        let areas = TypedInput.areas.names.map { (value: $0, label: AreaLabels.label($0)) }
        let bookings = context.course.bookings.map { booking in
            (value: booking.id, label: "\(booking.id): \(context.time.shown(booking.startsAt)) with \(booking.technician) (\(booking.touchUp ? "touch-up" : "session \(booking.sessionNumber)"))")
        }
        let facts = context.course.correctable.reversed().map { fact in
            (value: fact.id.uuidString, label: "#\(fact.position) \(fact.type), recorded \(context.time.shown(fact.recordedAtMicros / 1_000_000))")
        }
        func lotLabel(_ lot: LotOnHand) -> String { "\(lot.lot): \(lot.manufacturer) \(lot.description), expires \(lot.expiry)" }
        let fields: [FieldView]
        switch self {
        case .consultation:
            fields = [
                FieldView(name: "consultant", label: "Consulting technician", kind: .text, value: values.value("consultant"), required: true),
                FieldView(name: "at", label: "When (\(zone))", kind: .dateTime, value: values.value("at"), required: true),
                FieldView(name: "hairLoss", label: "Hair loss", kind: .select(values.choices("hairLoss", FormValues.named(TypedInput.hairLossTypes.names), fallback: "androgenetic"))),
                FieldView(name: "scale", label: "Stage scale", kind: .select(values.choices("scale", [("norwood", "Norwood (men)"), ("ludwig", "Ludwig (women)")], fallback: "norwood"))),
                FieldView(name: "stage", label: "Stage (Norwood I–VII, 3V, 5A…; Ludwig I–III)", kind: .text, value: values.value("stage"), required: true),
                FieldView(name: "fitzpatrick", label: "Fitzpatrick skin type", kind: .select(values.choices("fitzpatrick", (1...6).map { ("\($0)", "Type \($0)") }, fallback: "3"))),
                FieldView(name: "areas", label: "Areas planned", kind: .checks(values.many("areas", areas))),
                FieldView(name: "sessions", label: "Estimated sessions (1–7)", kind: .number, value: values.value("sessions", "3"), required: true),
                FieldView(name: "price", label: "Quoted price (CAD, e.g. 2400 or 2400.50)", kind: .decimal, value: values.value("price")),
                FieldView(name: "contraindications", label: "Contraindications (comma-separated)", kind: .text, value: values.value("contraindications")),
                FieldView(name: "hairline", label: "Hairline design", kind: .text, value: values.value("hairline")),
                FieldView(name: "notes", label: "Notes (sealed: personal data)", kind: .textarea, value: values.value("notes")),
            ]
        case .consent:
            fields = [
                FieldView(name: "form", label: "Form signed", kind: .select(values.choices(
                    "form", context.forms, blank: context.forms.isEmpty ? "no form is published: an admin publishes one" : nil,
                    fallback: context.forms.last?.value ?? ""))),
                FieldView(name: "at", label: "Signed at (\(zone))", kind: .dateTime, value: values.value("at"), required: true),
                FieldView(name: "procedure", label: "Covers the procedure", kind: .checkbox, checked: values.checked("procedure", true)),
                FieldView(name: "photos", label: "Covers photos", kind: .checkbox, checked: values.checked("photos", false)),
                FieldView(name: "marketing", label: "Covers marketing", kind: .checkbox, checked: values.checked("marketing", false)),
                FieldView(name: "witness", label: "Witness (staff id, optional)", kind: .text, value: values.value("witness")),
            ]
        case .booking:
            fields = [
                FieldView(name: "booking", label: "Booking id", kind: .text, value: values.value("booking"), required: true),
                FieldView(name: "number", label: "Session number (0: a touch-up)", kind: .number, value: values.value("number", String(context.course.sessionsDone + 1)), required: true),
                FieldView(name: "technician", label: "Technician", kind: .text, value: values.value("technician"), required: true),
                FieldView(name: "at", label: "Starts at (\(zone))", kind: .dateTime, value: values.value("at"), required: true),
                FieldView(name: "minutes", label: "Expected minutes", kind: .number, value: values.value("minutes", "180"), required: true),
            ]
        case .reschedule:
            fields = [
                FieldView(name: "booking", label: "Booking", kind: .select(values.choices("booking", bookings, blank: "choose a booking"))),
                FieldView(name: "at", label: "New start (\(zone))", kind: .dateTime, value: values.value("at"), required: true),
                FieldView(name: "reason", label: "Why (optional)", kind: .text, value: values.value("reason")),
            ]
        case .cancel:
            fields = [
                FieldView(name: "booking", label: "Booking", kind: .select(values.choices("booking", bookings, blank: "choose a booking"))),
                FieldView(name: "by", label: "Cancelled by", kind: .select(values.choices("by", [("client", "the client"), ("clinic", "the clinic")], fallback: "client"))),
                FieldView(name: "reason", label: "Why (optional)", kind: .text, value: values.value("reason")),
            ]
        case .noShow:
            fields = [FieldView(name: "booking", label: "Booking", kind: .select(values.choices("booking", bookings, blank: "choose a booking")))]
        case .touchUp:
            let pigments = context.lots.filter { $0.kind == "pigment" }.map { (value: $0.id, label: lotLabel($0)) }
            let cartridges = context.lots.filter { $0.kind == "cartridge" }.map { (value: $0.cartridgeInput, label: lotLabel($0)) }
            let touchUpBookings = context.course.bookings.filter(\.touchUp)
            let booking = touchUpBookings.first
            fields = [
                FieldView(name: "technician", label: "Technician", kind: .text, value: values.value("technician", booking?.technician ?? ""), required: true),
                FieldView(name: "supervisor", label: "Supervisor (for a trainee)", kind: .text, value: values.value("supervisor")),
                FieldView(name: "start", label: "Start (\(zone))", kind: .dateTime, value: values.value("start", booking.map { WebPages.localInput(context.time, $0.startsAt) } ?? ""), required: true),
                FieldView(name: "end", label: "End (\(zone))", kind: .dateTime, value: values.value("end"), required: true),
                FieldView(name: "areas", label: "Areas", kind: .checks(values.many("areas", areas))),
                FieldView(name: "pigment", label: "Pigment lot", kind: .select(values.choices("pigment", pigments, blank: "none"))),
                FieldView(name: "dilution", label: "Dilution (%)", kind: .number, value: values.value("dilution", "30")),
                FieldView(name: "cartridge", label: "Cartridge lot", kind: .select(values.choices("cartridge", cartridges, blank: "none"))),
                FieldView(name: "depth", label: "Needle depth (mm)", kind: .decimal, value: values.value("depth"), required: true),
                FieldView(name: "reason", label: "Why", kind: .select(values.choices("reason", FormValues.named(TypedInput.touchUpReasons.names), fallback: "fading"))),
                FieldView(name: "guarantee", label: "Under the clinic's guarantee", kind: .checkbox, checked: values.checked("guarantee", false)),
                FieldView(name: "booking", label: "Booking (optional)", kind: .select(values.choices(
                    "booking", touchUpBookings.map { (value: $0.id, label: "\($0.id): \(context.time.shown($0.startsAt))") }, blank: "none", fallback: booking?.id ?? ""))),
                FieldView(name: "machine", label: "Machine", kind: .text, value: values.value("machine")),
                FieldView(name: "aftercare", label: "Aftercare sheet", kind: .text, value: values.value("aftercare")),
            ]
        case .reaction:
            let used = Array(Set(context.course.procedures.flatMap(\.lots))).sorted()
            let procedures = context.course.correctable.filter { $0.type == "SessionRecorded" || $0.type == "TouchUpRecorded" }.reversed().map { fact in
                (value: fact.id.uuidString, label: "#\(fact.position) \(fact.type == "TouchUpRecorded" ? "touch-up" : "session"), recorded \(context.time.shown(fact.recordedAtMicros / 1_000_000))")
            }
            fields = [
                FieldView(name: "at", label: "Reported at (\(zone))", kind: .dateTime, value: values.value("at"), required: true),
                FieldView(name: "severity", label: "Severity", kind: .select(values.choices("severity", FormValues.named(TypedInput.severities.names), fallback: "mild"))),
                FieldView(name: "procedure", label: "Procedure it follows (if known)", kind: .select(values.choices("procedure", procedures, blank: "not known"))),
                FieldView(name: "lots", label: "Lots suspected", kind: .checks(values.many("lots", used.map { ($0, $0) }))),
                FieldView(name: "actions", label: "What was done", kind: .textarea, value: values.value("actions")),
                FieldView(name: "description", label: "What the client describes (sealed: personal data)", kind: .textarea, value: values.value("description")),
            ]
        case .amendment:
            fields = [
                FieldView(name: "event", label: "The record corrected", kind: .select(values.choices("event", facts, blank: "choose a record"))),
                FieldView(name: "fields", label: "Fields corrected (their JSON names, comma-separated, e.g. depthMm)", kind: .text, value: values.value("fields"), required: true),
                FieldView(name: "values", label: "Corrected values (a JSON object, e.g. {\"depthMm\": 0.8}; sealed)", kind: .textarea, value: values.value("values")),
                FieldView(name: "reason", label: "Why", kind: .textarea, value: values.value("reason"), required: true),
                FieldView(name: "disputed", label: "The client disputes the record (it stays as it was)", kind: .checkbox, checked: values.checked("disputed", false)),
            ]
        }
        return ActionForm(
            id: rawValue + "-form", action: "/clients/\(WebPages.pathSegment(context.client))/\(rawValue)", title: title, clinic: context.clinic, fields: fields,
            errors: typed?.errors)
    }

    /// The command the form says, `nil` with the reasons in `errors` when a value does not parse.
    func command(client: String, form: Form, time: ClinicTime, errors: inout FormErrors) throws(ServiceError) -> Command? {
        var parsed = FormParser(form: form, time: time)
        defer { errors = parsed.errors }
        func record(_ message: any SwiftProtobuf.Message, _ type: String) throws(ServiceError) -> Command? {
            parsed.errors.hasErrors ? nil : try Command.record(message, type: type, stream: Streams.client(client))
        }
        switch self {
        case .consultation:
            var consultation = Stipple_V1_ConsultationRecorded()
            consultation.clinicID = form.text("clinic")
            consultation.consultantID = parsed.required("consultant", "Give the consulting technician's id.")
            if let at = parsed.instant("at") { consultation.consultedAt = at }
            if let type = parsed.choice("hairLoss", TypedInput.hairLossTypes, "the hair loss") { consultation.hairLossType = type }
            let stage = parsed.required("stage", "Give the stage on the Norwood or Ludwig scale.")
            if form.text("scale") == "ludwig" { consultation.ludwigStage = stage } else { consultation.norwoodStage = stage }
            if let type = parsed.integer("fitzpatrick", "the Fitzpatrick skin type, 1 to 6", 1...6) { consultation.fitzpatrickType = type }
            consultation.areas = parsed.choices("areas", TypedInput.areas, "an area")
            if let sessions = parsed.integer("sessions", "the estimated number of sessions, 1 to 7", 1...7) { consultation.estimatedSessions = sessions }
            if let cents = parsed.cents("price") { consultation.quotedPriceCents = cents }
            consultation.currency = "CAD"
            consultation.contraindications = parsed.list("contraindications")
            consultation.hairlineDesign = form.text("hairline")
            consultation.personal.notes = form.text("notes")
            return try record(consultation, "ConsultationRecorded")
        case .consent:
            var consent = Stipple_V1_ConsentSigned()
            let signed = parsed.required("form", "Choose the form that was signed.").split(separator: ":", maxSplits: 1).map(String.init)
            consent.formID = signed.first ?? ""
            consent.formVersion = signed.count > 1 ? signed[1] : ""
            if let at = parsed.instant("at") { consent.signedAt = at }
            consent.coversProcedure = form.value("procedure") != nil
            consent.coversPhotos = form.value("photos") != nil
            consent.coversMarketing = form.value("marketing") != nil
            consent.witnessID = form.text("witness")
            consent.clinicID = form.text("clinic")
            return try record(consent, "ConsentSigned")
        case .booking:
            var booked = Stipple_V1_SessionBooked()
            booked.bookingID = parsed.required("booking", "Give the booking's id (the clinic's, e.g. B-3).")
            booked.clinicID = form.text("clinic")
            booked.technicianID = form.text("technician")
            if let number = parsed.integer("number", "the session's number in the course (0 for a touch-up)", 0...20) {
                booked.sessionNumber = number
                booked.touchUp = number == 0
            }
            if let minutes = parsed.integer("minutes", "the expected length in minutes (30 to 480)", 30...480) { booked.expectedMinutes = minutes }
            if let at = parsed.instant("at") { booked.startsAt = at }
            return try record(booked, "SessionBooked")
        case .reschedule:
            var moved = Stipple_V1_SessionRescheduled()
            moved.bookingID = parsed.required("booking", "Choose the booking to move.")
            if let at = parsed.instant("at") { moved.startsAt = at }
            moved.reason = form.text("reason")
            return try record(moved, "SessionRescheduled")
        case .cancel:
            var cancelled = Stipple_V1_SessionCancelled()
            cancelled.bookingID = parsed.required("booking", "Choose the booking to cancel.")
            if let by = parsed.choice("by", TypedInput.cancelledBy, "who cancelled") { cancelled.cancelledBy = by }
            cancelled.reason = form.text("reason")
            return try record(cancelled, "SessionCancelled")
        case .noShow:
            var missed = Stipple_V1_SessionNoShow()
            missed.bookingID = parsed.required("booking", "Choose the booking the client missed.")
            return try record(missed, "SessionNoShow")
        case .touchUp:
            var touchUp = Stipple_V1_TouchUpRecorded()
            touchUp.clinicID = form.text("clinic")
            touchUp.technicianID = form.text("technician")
            touchUp.supervisorID = form.text("supervisor")
            if let start = parsed.instant("start") { touchUp.startedAt = start }
            if let end = parsed.instant("end") { touchUp.endedAt = end }
            touchUp.areas = parsed.choices("areas", TypedInput.areas, "an area")
            if let pigment = parsed.pigment("pigment", dilution: "dilution") { touchUp.pigments = [pigment] }
            if let cartridge = parsed.cartridge("cartridge") { touchUp.cartridges = [cartridge] }
            if let depth = parsed.decimal("depth", "the needle depth in mm, e.g. 0.9") { touchUp.depthMm = depth }
            if let reason = parsed.choice("reason", TypedInput.touchUpReasons, "the reason") { touchUp.reason = reason }
            touchUp.underGuarantee = form.value("guarantee") != nil
            touchUp.bookingID = form.text("booking")
            touchUp.machine = form.text("machine")
            touchUp.aftercareSheetVersion = form.text("aftercare")
            return parsed.errors.hasErrors ? nil : Command(.touchUp(client: client, touchUp))
        case .reaction:
            var reaction = Stipple_V1_AdverseReactionReported()
            if let at = parsed.instant("at") { reaction.reportedAt = at }
            if let severity = parsed.choice("severity", TypedInput.severities, "the severity") { reaction.severity = severity }
            reaction.procedureEventID = form.text("procedure")
            reaction.lots = form.values("lots").filter { !$0.isEmpty }
            reaction.actionsTaken = form.text("actions")
            reaction.personal.description_p = form.text("description")
            return try record(reaction, "AdverseReactionReported")
        case .amendment:
            var amendment = Stipple_V1_RecordAmended()
            amendment.correctsEventID = parsed.required("event", "Choose the record to correct.")
            amendment.fields = parsed.list("fields")
            if amendment.fields.isEmpty { parsed.errors.add("Name the fields corrected (their JSON names, e.g. depthMm).", to: "fields") }
            amendment.reason = parsed.required("reason", "Say why the record is corrected.")
            amendment.disputed = form.value("disputed") != nil
            let values = form.text("values")
            if !values.isEmpty {
                if (try? JSONSerialization.jsonObject(with: Data(values.utf8))) as? [String: Any] == nil {
                    parsed.errors.add("Give the corrected values as a JSON object, e.g. {\"depthMm\": 0.8}.", to: "values")
                }
                amendment.personal.correctedValuesJson = values
            }
            return parsed.errors.hasErrors ? nil : Command(.amend(client: client, amendment))
        }
    }
}

/// What a form shows in its fields: the values as typed (after a refusal), else the
/// defaults each field gives.
struct FormValues {
    let typed: Form?

    init(_ typed: Form?) { self.typed = typed }

    func value(_ name: String, _ fallback: String = "") -> String { typed.map { $0.text(name) } ?? fallback }

    func checked(_ name: String, _ fallback: Bool) -> Bool { typed.map { $0.value(name) != nil } ?? fallback }

    /// A select's options, the typed (or default) one chosen; `blank`: a first, empty option.
    func choices(_ name: String, _ options: [(value: String, label: String)], blank: String? = nil, fallback: String = "") -> [Choice] {
        let chosen = value(name, fallback)
        var list = options.map { Choice(value: $0.value, label: $0.label, selected: $0.value == chosen) }
        // What was typed stays chosen, even if it is no longer offered (its error says why).
        if !chosen.isEmpty, !options.contains(where: { $0.value == chosen }) { list.insert(Choice(value: chosen, label: chosen, selected: true), at: 0) }
        if let blank { list.insert(Choice(value: "", label: blank, selected: chosen.isEmpty), at: 0) }
        return list
    }

    /// Boxes of one name, those typed (or the defaults) ticked.
    func many(_ name: String, _ options: [(value: String, label: String)], fallback: [String] = []) -> [Choice] {
        let chosen = Set(typed.map { $0.values(name) } ?? fallback)
        return options.map { Choice(value: $0.value, label: $0.label, selected: chosen.contains($0.value)) }
    }

    /// Options whose labels are their values.
    static func named(_ values: [String]) -> [(value: String, label: String)] { values.map { ($0, $0) } }
}

/// Reads a posted form's values as a command wants them, keeping each failure's sentence
/// beside its field (the parsing is `TypedInput`'s, shared with the command line).
struct FormParser {
    let form: Form
    let time: ClinicTime
    var errors = FormErrors()

    /// The trimmed value; `missing` beside the field when empty.
    mutating func required(_ field: String, _ missing: String) -> String {
        let text = form.text(field)
        if text.isEmpty { errors.add(missing, to: field) }
        return text
    }

    mutating func parse<T>(_ field: String, _ body: (String) throws(ServiceError) -> T) -> T? {
        do { return try body(form.text(field)) } catch {
            errors.add(WebPages.sentence(error.message), to: field)
            return nil
        }
    }

    mutating func instant(_ field: String) -> Google_Protobuf_Timestamp? {
        let time = time
        guard !form.text(field).isEmpty else {
            errors.add("Give the day and time (\(time.zone.identifier)), e.g. 2026-03-14T10:00.", to: field)
            return nil
        }
        return parse(field) { text throws(ServiceError) in try TypedInput.instant(text, "the time", in: time) }
    }

    mutating func integer(_ field: String, _ words: String, _ range: ClosedRange<Int32>) -> Int32? {
        guard let value = Int32(form.text(field)), range.contains(value) else {
            errors.add("Give \(words).", to: field)
            return nil
        }
        return value
    }

    mutating func decimal(_ field: String, _ words: String) -> Double? {
        guard let value = Double(form.text(field)), value.isFinite else {
            errors.add("Give \(words).", to: field)
            return nil
        }
        return value
    }

    /// An amount in dollars and cents (empty: none).
    mutating func cents(_ field: String) -> Int64? {
        guard !form.text(field).isEmpty else { return nil }
        return parse(field) { text throws(ServiceError) in try TypedInput.cents(text, "the price") }
    }

    mutating func choice<Value>(_ field: String, _ vocabulary: Vocabulary<Value>, _ words: String) -> Value? {
        parse(field) { text throws(ServiceError) in try vocabulary.value(text, words) }
    }

    mutating func choices<Value>(_ field: String, _ vocabulary: Vocabulary<Value>, _ words: String) -> [Value] {
        form.values(field).compactMap { text in
            do { return try vocabulary.value(text, words) } catch {
                errors.add(WebPages.sentence(ServiceError(error).message), to: field)
                return nil
            }
        }
    }

    /// Comma-separated values, trimmed, empty ones left out.
    func list(_ field: String) -> [String] {
        form.text(field).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    mutating func pigment(_ field: String, dilution: String) -> Stipple_V1_PigmentUse? {
        let lot = form.text(field)
        guard !lot.isEmpty else { return nil }
        let percent = form.text(dilution)
        return parse(field) { _ throws(ServiceError) in try TypedInput.pigment(percent.isEmpty ? lot : lot + ":" + percent) }
    }

    mutating func cartridge(_ field: String) -> Stipple_V1_CartridgeUse? {
        guard !form.text(field).isEmpty else { return nil }
        return parse(field) { text throws(ServiceError) in try TypedInput.cartridge(text) }
    }
}

/// A small form of a client's page.
struct ActionForm {
    var id: String
    var action: String
    var title: String
    /// The clinic the form records at, posted with it (`nil`: none).
    var clinic: String?
    var fields: [FieldView]
    var formErrors: [String] = []
    var hasErrors = false

    /// The form, with `errors` (a refusal's) next to the fields they name and the others above.
    init(id: String, action: String, title: String, clinic: String?, fields: [FieldView], errors: FormErrors? = nil) {
        (self.id, self.action, self.title, self.clinic, self.fields) = (id, action, title, clinic, fields)
        guard let errors else { return }
        for (field, messages) in errors.fields {
            if let index = self.fields.firstIndex(where: { $0.name == field }) { self.fields[index].errors = messages } else { formErrors += messages }
        }
        formErrors += errors.form
        hasErrors = errors.hasErrors
    }
}

/// One field of a form, as a template loop renders it.
struct FieldView {
    enum Kind {
        case text, number, decimal, date, dateTime, checkbox, textarea
        case select([Choice])
        /// Several boxes of one name.
        case checks([Choice])
    }

    var name: String
    var label: String
    var value: String
    var checked: Bool
    var required: Bool
    var errors: [String] = []
    /// Stored for the template (which reads stored properties only): the input's type and
    /// which of the shapes it is.
    var type: String
    var inputMode: String?
    var isInput = false, isCheckbox = false, isTextarea = false, isSelect = false, isChecks = false
    var options: [Choice] = []

    init(name: String, label: String, kind: Kind, value: String = "", checked: Bool = false, required: Bool = false) {
        self.name = name
        self.label = label
        self.value = value
        self.checked = checked
        self.required = required
        type = "text"
        switch kind {
        case .text: isInput = true
        case .number: (isInput, inputMode) = (true, "numeric")
        case .decimal: (isInput, inputMode) = (true, "decimal")
        case .date: (isInput, type) = (true, "date")
        case .dateTime: (isInput, type) = (true, "datetime-local")
        case .checkbox: (isCheckbox, type) = (true, "checkbox")
        case .textarea: isTextarea = true
        case .select(let choices): (isSelect, options) = (true, choices)
        case .checks(let choices): (isChecks, options) = (true, choices)
        }
    }
}
