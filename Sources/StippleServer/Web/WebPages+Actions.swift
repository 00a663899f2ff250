import Foundation
import HTTPTypes
import Hummingbird
import StippleService
import SwiftProtobuf
import Treatment

/// The smaller actions of a client's page (consent, booking), each a form described here
/// and rendered by one template loop: its fields, what was typed, each field's errors.
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
        var typed = action.form(client: client, clinic: form.text("clinic"), values: form)
        do {
            let time = try await session.clinicTime(ofClient: client)
            let command = try action.command(client: Session.clientID(client), form: form, time: time, errors: &typed)
            guard let command, !typed.hasErrors else {
                return try await clientPage(signedIn, client: client, purpose: purpose, actions: [typed], status: .unprocessableContent)
            }
            _ = try await session.record([command])
        } catch {
            Self.place(ServiceError(error), in: &typed, fields: action.ruleFields)
            return try await clientPage(signedIn, client: client, purpose: purpose, actions: [typed], status: .unprocessableContent)
        }
        guard purpose != nil else { return Self.redirect(to: "/clients/" + Self.pathSegment(Session.clientID(client))) }
        return try await clientPage(signedIn, client: client, purpose: purpose)
    }
}

/// The actions with a form of their own on a client's page.
enum ClientAction: String, CaseIterable {
    case consent, booking

    var title: String {
        switch self {
        case .consent: return "Record a signed consent"
        case .booking: return "Book a session"
        }
    }

    /// The rule's field (the command's JSON name) → the form's.
    var ruleFields: [String: String] {
        switch self {
        case .consent: return ["formVersion": "form", "signedAt": "at", "witnessId": "witness"]
        case .booking: return ["bookingId": "booking", "technicianId": "technician", "startsAt": "at", "expectedMinutes": "minutes", "sessionNumber": "number"]
        }
    }

    /// The form, blank (with defaults) or as typed.
    func form(client: String, clinic: String, values: Form? = nil, nextSession: Int = 1) -> ActionForm {
        func value(_ name: String, _ fallback: String = "") -> String { values.map { $0.text(name) } ?? fallback }
        func checked(_ name: String, _ fallback: Bool) -> Bool { values.map { $0.value(name) != nil } ?? fallback }
        let fields: [FieldView]
        switch self {
        case .consent:
            fields = [
                FieldView(name: "form", label: "Form version signed", kind: .text, value: value("form", "smp-consent-v4"), required: true),
                FieldView(name: "at", label: "Signed at", kind: .dateTime, value: value("at"), required: true),
                FieldView(name: "procedure", label: "Covers the procedure", kind: .checkbox, checked: checked("procedure", true)),
                FieldView(name: "photos", label: "Covers photos", kind: .checkbox, checked: checked("photos", false)),
                FieldView(name: "marketing", label: "Covers marketing", kind: .checkbox, checked: checked("marketing", false)),
                FieldView(name: "witness", label: "Witness (staff id, optional)", kind: .text, value: value("witness")),
            ]
        case .booking:
            fields = [
                FieldView(name: "booking", label: "Booking id", kind: .text, value: value("booking"), required: true),
                FieldView(name: "number", label: "Session number (0: a touch-up)", kind: .number, value: value("number", String(nextSession)), required: true),
                FieldView(name: "technician", label: "Technician", kind: .text, value: value("technician"), required: true),
                FieldView(name: "at", label: "Starts at", kind: .dateTime, value: value("at"), required: true),
                FieldView(name: "minutes", label: "Expected minutes", kind: .number, value: value("minutes", "180"), required: true),
            ]
        }
        return ActionForm(
            id: rawValue + "-form", action: "/clients/\(WebPages.pathSegment(client))/\(rawValue)", title: title, clinic: clinic, fields: fields)
    }

    /// The command the form says, `nil` with the reasons in `errors` when a value does not parse.
    func command(client: String, form: Form, time: ClinicTime, errors: inout ActionForm) throws(ServiceError) -> Command? {
        func instant(_ field: String) -> Google_Protobuf_Timestamp? {
            do { return try TypedInput.instant(form.text(field), "the time", in: time) } catch let error as ServiceError {
                errors.add(WebPages.sentence(error.message), to: field)
                return nil
            } catch {
                errors.add(WebPages.sentence("\(error)"), to: field)
                return nil
            }
        }
        func integer(_ field: String, _ words: String, _ range: ClosedRange<Int32>) -> Int32? {
            guard let value = Int32(form.text(field)), range.contains(value) else {
                errors.add("Give \(words).", to: field)
                return nil
            }
            return value
        }
        switch self {
        case .consent:
            var consent = Stipple_V1_ConsentSigned()
            consent.formVersion = form.text("form")
            if consent.formVersion.isEmpty { errors.add("Give the version of the form that was signed.", to: "form") }
            guard let at = instant("at") else { return nil }
            consent.signedAt = at
            consent.coversProcedure = form.value("procedure") != nil
            consent.coversPhotos = form.value("photos") != nil
            consent.coversMarketing = form.value("marketing") != nil
            consent.witnessID = form.text("witness")
            consent.clinicID = form.text("clinic")
            return try Command.record(consent, type: "ConsentSigned", stream: Streams.client(client))
        case .booking:
            var booked = Stipple_V1_SessionBooked()
            booked.bookingID = form.text("booking")
            if booked.bookingID.isEmpty { errors.add("Give the booking's id (the clinic's, e.g. B-3).", to: "booking") }
            booked.clinicID = form.text("clinic")
            booked.technicianID = form.text("technician")
            let number = integer("number", "the session's number in the course (0 for a touch-up)", 0...20)
            let minutes = integer("minutes", "the expected length in minutes (30 to 480)", 30...480)
            guard let at = instant("at"), let number, let minutes else { return nil }
            booked.startsAt = at
            booked.sessionNumber = number
            booked.touchUp = number == 0
            booked.expectedMinutes = minutes
            return try Command.record(booked, type: "SessionBooked", stream: Streams.client(client))
        }
    }
}

/// A small form of a client's page.
struct ActionForm: ErrorPlaces {
    var id: String
    var action: String
    var title: String
    var clinic: String
    var fields: [FieldView]
    var formErrors: [String] = []
    var hasErrors = false

    mutating func add(_ message: String, to field: String?) {
        hasErrors = true
        if let field, let index = fields.firstIndex(where: { $0.name == field }) {
            fields[index].errors.append(message)
        } else {
            formErrors.append(message)
        }
    }
}

/// One field of a form, as a template loop renders it.
struct FieldView {
    enum Kind { case text, number, dateTime, checkbox }

    var name: String
    var label: String
    var value: String
    var checked: Bool
    var required: Bool
    var errors: [String] = []
    /// Stored for the template: the input's type.
    var type: String
    var isCheckbox: Bool
    var inputMode: String?

    init(name: String, label: String, kind: Kind, value: String = "", checked: Bool = false, required: Bool = false) {
        self.name = name
        self.label = label
        self.value = value
        self.checked = checked
        self.required = required
        isCheckbox = kind == .checkbox
        switch kind {
        case .text: type = "text"
        case .number: (type, inputMode) = ("text", "numeric")
        case .dateTime: type = "datetime-local"
        case .checkbox: type = "checkbox"
        }
    }
}
