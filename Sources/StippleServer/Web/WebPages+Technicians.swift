import Discretion
import Foundation
import HTTPTypes
import Hummingbird
import StippleService
import Treatment

/// The technicians' pages: the list (level today, training, lapses within 30 days) and a
/// technician's file (clinics, certifications with their renewals, suspensions and
/// revocations, training, everything recorded), with the forms admins record them by.
extension WebPages {
    func addTechnicianRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        router.get("/technicians") { request, _ in try await pages.signedIn(request) { try await pages.techniciansPage($0) } }
        router.get("/technicians/:id") { request, context in
            let id = try context.parameters.require("id")
            let done = request.uri.queryParameters["done"].flatMap { TechnicianAction(rawValue: String($0))?.done }
            return try await pages.signedIn(request) { signedIn in try await pages.technicianPage(signedIn, id: id, done: done) }
        }
        for action in TechnicianAction.allCases {
            let path = action == .register ? "/technicians" : "/technicians/:id/" + action.rawValue
            router.post(RouterPath(path)) { request, context in
                let id = action == .register ? nil : try context.parameters.require("id")
                let form = try await Self.form(request)
                return try await pages.signedIn(request, form: form) { signedIn in try await pages.record(action, signedIn, technician: id, form) }
            }
        }
    }

    func techniciansPage(_ signedIn: SignedIn, typed: TypedTechnicianAction? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        var model = PageModel(title: "Technicians", signedIn: signedIn)
        do {
            let files = try await session.technicians()
            let context = TechnicianAction.Context(technician: "", clinics: try await session.clinics(), certifications: [])
            model.technicians = TechniciansView(
                rows: files.map { file in
                    TechniciansView.Row(
                        id: file.id, name: file.name, clinics: file.clinics.map(\.clinic).joined(separator: ", "), level: file.level ?? "none in force",
                        training: file.trainingLapses.map { "until \($0)" } ?? "none", lapsing: file.lapsingSoon)
                },
                none: files.isEmpty,
                register: session.may(.manageStaff) ? TechnicianAction.register.form(context, typed: typed) : nil)
        } catch {
            model.message = Self.sentence(error.message)
            return render("message", model, status: .forbidden)
        }
        return render("technicians", model, status: status)
    }

    func technicianPage(_ signedIn: SignedIn, id: String, typed: TypedTechnicianAction? = nil, done: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        var model = PageModel(title: "Technician \(id)", signedIn: signedIn)
        let file: TechnicianFile
        do {
            file = try await session.technician(id)
        } catch {
            model.message = Self.sentence(error.message)
            return render("message", model, status: .notFound)
        }
        var view = TechnicianView(file)
        if session.may(.manageStaff) {
            let context = TechnicianAction.Context(technician: id, clinics: try await session.clinics(), certifications: file.certifications.map(\.id))
            view.actions = TechnicianAction.allCases.filter { $0 != .register }.map { action in
                action.form(context, typed: typed?.action == action ? typed : nil)
            }
        }
        view.done = done
        model.technician = view
        return render("technician", model, status: status)
    }

    func record(_ action: TechnicianAction, _ signedIn: SignedIn, technician: String?, _ form: Form) async throws -> Response {
        var typed = TypedTechnicianAction(action: action, values: form)
        let id = technician ?? form.text("id")
        do {
            let commands = try action.command(technician: id, form: form, now: service.configuration.clock(), errors: &typed.errors)
            if let commands, !typed.errors.hasErrors {
                _ = try await signedIn.session.record(commands, idempotency: form.idempotency)
                return Self.redirect(to: "/technicians/" + Self.pathSegment(id) + (action == .register ? "" : "?done=" + action.rawValue))
            }
        } catch {
            Self.place(ServiceError(error), in: &typed.errors, field: action.formField(ofRule:))
        }
        if action == .register { return try await techniciansPage(signedIn, typed: typed, status: .unprocessableContent) }
        return try await technicianPage(signedIn, id: id, typed: typed, status: .unprocessableContent)
    }
}

typealias TypedTechnicianAction = TypedForm<TechnicianAction>

/// What admins record of a technician, each a form.
enum TechnicianAction: String, CaseIterable {
    case register, assign, certify, renew, suspend, revoke, training
    case hepatitisB = "hepatitis-b"

    struct Context {
        var technician: String
        var clinics: [String]
        var certifications: [String]
    }

    var title: String {
        switch self {
        case .register: return "Register a technician"
        case .assign: return "Assign to a clinic"
        case .certify: return "Grant a certification"
        case .renew: return "Renew a certification"
        case .suspend: return "Suspend a certification"
        case .revoke: return "Revoke a certification"
        case .training: return "Record bloodborne-pathogens training"
        case .hepatitisB: return "Put the hepatitis B status on file"
        }
    }

    var done: String {
        switch self {
        case .register: return "Registered."
        case .assign: return "Assignment recorded."
        case .certify: return "Certification recorded."
        case .renew: return "Renewal recorded."
        case .suspend: return "Suspension recorded."
        case .revoke: return "Revocation recorded."
        case .training: return "Training recorded."
        case .hepatitisB: return "Hepatitis B status on file."
        }
    }

    func formField(ofRule field: String) -> String? {
        let fields = [
            "clinicId": "clinic", "fromDay": "from", "certificationId": "certification", "level": "level", "issuedOn": "issued", "expiresOn": "expires",
            "renewedOn": "renewed", "suspendedOn": "on", "revokedOn": "on", "reason": "reason", "completedOn": "completed", "provider": "provider",
            "status": "status", "onFileFrom": "from",
        ]
        return fields[field]
    }

    func form(_ context: Context, typed: TypedTechnicianAction? = nil) -> ActionForm {
        let values = FormValues(typed?.values)
        func choices(_ name: String, _ options: [String], fallback: String = "") -> [Choice] { values.choices(name, FormValues.named(options), fallback: fallback) }
        let certification = FieldView(name: "certification", label: "Certification", kind: .select(choices("certification", context.certifications)))
        let fields: [FieldView]
        switch self {
        case .register:
            fields = [
                FieldView(name: "id", label: "Technician id (e.g. 21)", kind: .text, value: values.value("id"), required: true),
                FieldView(name: "name", label: "Name (kept in clear: it signs the records)", kind: .text, value: values.value("name"), required: true),
                FieldView(name: "clinic", label: "First clinic", kind: .select(choices("clinic", context.clinics))),
                FieldView(name: "from", label: "Working there from", kind: .date, value: values.value("from"), required: true),
            ]
        case .assign:
            fields = [
                FieldView(name: "clinic", label: "Clinic", kind: .select(choices("clinic", context.clinics))),
                FieldView(name: "from", label: "From", kind: .date, value: values.value("from"), required: true),
            ]
        case .certify:
            fields = [
                FieldView(name: "certification", label: "Certification id", kind: .text, value: values.value("certification"), required: true),
                FieldView(name: "level", label: "Level", kind: .select(choices("level", TypedInput.certificationLevels.names, fallback: "certified"))),
                FieldView(name: "issued", label: "Issued on", kind: .date, value: values.value("issued"), required: true),
                FieldView(name: "expires", label: "Expires on", kind: .date, value: values.value("expires"), required: true),
                FieldView(name: "issuer", label: "Issuer", kind: .text, value: values.value("issuer", "Stipple Academy")),
                FieldView(name: "trainer", label: "Trainer (technician id, optional)", kind: .text, value: values.value("trainer")),
            ]
        case .renew:
            fields = [
                certification,
                FieldView(name: "renewed", label: "Renewed on", kind: .date, value: values.value("renewed"), required: true),
                FieldView(name: "expires", label: "New expiry", kind: .date, value: values.value("expires"), required: true),
            ]
        case .suspend, .revoke:
            fields = [
                certification,
                FieldView(name: "on", label: self == .suspend ? "Suspended from" : "Revoked on", kind: .date, value: values.value("on"), required: true),
                FieldView(name: "reason", label: "Why", kind: .text, value: values.value("reason"), required: true),
            ]
        case .training:
            fields = [
                FieldView(name: "completed", label: "Completed on", kind: .date, value: values.value("completed"), required: true),
                FieldView(name: "provider", label: "Provider", kind: .text, value: values.value("provider")),
                FieldView(name: "certificate", label: "Certificate reference", kind: .text, value: values.value("certificate")),
            ]
        case .hepatitisB:
            fields = [
                FieldView(name: "status", label: "Status (the document stays in the clinic's files)", kind: .select(choices("status", TypedInput.hepatitisBStatuses.names, fallback: "recorded"))),
                FieldView(name: "from", label: "On file from", kind: .date, value: values.value("from"), required: true),
            ]
        }
        let path = self == .register ? "/technicians" : "/technicians/\(WebPages.pathSegment(context.technician))/\(rawValue)"
        return ActionForm(id: "tech-" + rawValue + "-form", action: path, title: title, clinic: nil, fields: fields, errors: typed?.errors)
    }

    /// The commands the form says (a registration and its first clinic are two facts of
    /// one stream); `nil` with the reasons in `errors`.
    func command(technician id: String, form: Form, now: Date, errors: inout FormErrors) throws(ServiceError) -> [Command]? {
        var parsed = FormParser(form: form, time: .chainDefault)
        defer { errors = parsed.errors }
        func day(_ field: String) -> String {
            parsed.parse(field) { text throws(ServiceError) in try TypedInput.day(text, "the day") }?.description ?? ""
        }
        let stream = Streams.technician(id)
        switch self {
        case .register:
            if id.isEmpty { parsed.errors.add("Give the technician's id.", to: "id") }
            var registered = Stipple_V1_TechnicianRegistered()
            registered.personal.name = parsed.required("name", "Give the technician's name.")
            var assigned = Stipple_V1_TechnicianAssignedToClinic()
            assigned.clinicID = parsed.required("clinic", "Choose the clinic.")
            assigned.fromDay = day("from")
            guard !parsed.errors.hasErrors else { return nil }
            registered.registeredAt = .init(date: now)
            return [try Command.record(registered, type: "TechnicianRegistered", stream: stream),
                    try Command.record(assigned, type: "TechnicianAssignedToClinic", stream: stream)]
        case .assign:
            var assigned = Stipple_V1_TechnicianAssignedToClinic()
            assigned.clinicID = parsed.required("clinic", "Choose the clinic.")
            assigned.fromDay = day("from")
            return parsed.errors.hasErrors ? nil : [try Command.record(assigned, type: "TechnicianAssignedToClinic", stream: stream)]
        case .certify:
            var granted = Stipple_V1_CertificationGranted()
            granted.certificationID = parsed.required("certification", "Give the certification's id.")
            if let level = parsed.choice("level", TypedInput.certificationLevels, "the level") { granted.level = level }
            granted.issuedOn = day("issued")
            granted.expiresOn = day("expires")
            granted.issuer = form.text("issuer")
            granted.trainerID = form.text("trainer")
            return parsed.errors.hasErrors ? nil : [try Command.record(granted, type: "CertificationGranted", stream: stream)]
        case .renew:
            var renewal = Stipple_V1_CertificationRenewed()
            renewal.certificationID = parsed.required("certification", "Choose the certification.")
            renewal.renewedOn = day("renewed")
            renewal.expiresOn = day("expires")
            return parsed.errors.hasErrors ? nil : [Command(.renew(technician: id, renewal))]
        case .suspend:
            var suspended = Stipple_V1_CertificationSuspended()
            suspended.certificationID = parsed.required("certification", "Choose the certification.")
            suspended.suspendedOn = day("on")
            suspended.reason = parsed.required("reason", "Say why.")
            return parsed.errors.hasErrors ? nil : [try Command.record(suspended, type: "CertificationSuspended", stream: stream)]
        case .revoke:
            var revoked = Stipple_V1_CertificationRevoked()
            revoked.certificationID = parsed.required("certification", "Choose the certification.")
            revoked.revokedOn = day("on")
            revoked.reason = parsed.required("reason", "Say why.")
            return parsed.errors.hasErrors ? nil : [try Command.record(revoked, type: "CertificationRevoked", stream: stream)]
        case .training:
            var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
            training.completedOn = day("completed")
            training.provider = form.text("provider")
            training.certificateRef = form.text("certificate")
            return parsed.errors.hasErrors ? nil : [try Command.record(training, type: "BloodbornePathogensTrainingRecorded", stream: stream)]
        case .hepatitisB:
            var hepatitisB = Stipple_V1_HepatitisBStatusRecorded()
            if let status = parsed.choice("status", TypedInput.hepatitisBStatuses, "the status") { hepatitisB.status = status }
            hepatitisB.onFileFrom = day("from")
            return parsed.errors.hasErrors ? nil : [try Command.record(hepatitisB, type: "HepatitisBStatusRecorded", stream: stream)]
        }
    }
}

struct TechniciansView {
    struct Row {
        var id: String
        var name: String
        var clinics: String
        var level: String
        var training: String
        var lapsing: Bool
    }

    var rows: [Row]
    var none: Bool
    var register: ActionForm?
}

struct TechnicianView {
    struct CertificationRow {
        var id: String
        var level: String
        var periods: String
        var expires: String
        var state: String
        var holds: Bool
    }

    var id: String
    var name: String
    var clinics: [TechnicianFile.Assignment]
    var certifications: [CertificationRow]
    var noCertifications: Bool
    var trainings: String?
    var trainingCurrent: Bool
    var trainingLapses: String?
    var hepatitisB: String?
    var level: String
    var history: [TechnicianFile.Entry]
    var actions: [ActionForm] = [] { didSet { recordable = !actions.isEmpty } }
    /// Stored for the template: whether the user records technicians' facts.
    var recordable = false
    var done: String?

    init(_ file: TechnicianFile) {
        id = file.id
        name = file.name
        clinics = file.clinics
        certifications = file.certifications.map { certification in
            CertificationRow(
                id: certification.id, level: certification.level, periods: certification.periods.joined(separator: "; "),
                expires: certification.expiresOn?.description ?? "", state: certification.state, holds: certification.holds)
        }
        noCertifications = file.certifications.isEmpty
        hepatitisB = file.hepatitisB
        trainings = WebPages.shown(file.trainings.map(\.description).joined(separator: ", "))
        trainingCurrent = file.trainingCurrent
        trainingLapses = file.trainingLapses?.description
        level = file.level ?? "none in force"
        history = file.history
    }
}
