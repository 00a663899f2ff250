import Discretion
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Reports
import ServiceLifecycle
import StippleService

/// The admin pages: the log (verify, backup), users (add, disable, invite or reset, second
/// factor), the reports (status, rebuilds with live progress), a client's erasure; and the
/// invite page where a person sets their own password. Every action is the session's, which
/// checks the permission; the pages only ask it which forms to offer.
extension WebPages {
    func addAdminRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        router.get("/admin") { request, _ in try await pages.signedIn(request) { try await pages.adminPage($0) } }
        router.post("/admin/verify") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.verify(signedIn) }
        }
        router.post("/admin/backup") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.backup(signedIn, form) }
        }
        router.get("/admin/users") { request, _ in try await pages.signedIn(request) { try await pages.usersPage($0) } }
        router.post("/admin/users") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.addUser(signedIn, form, request) }
        }
        router.post("/admin/users/access") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.changeAccess(signedIn, form) }
        }
        for action in ["disable", "invite", "second-factor"] {
            router.post(RouterPath("/admin/users/:name/" + action)) { request, context in
                let name = try context.parameters.require("name")
                let form = try await Self.form(request)
                return try await pages.signedIn(request, form: form) { signedIn in try await pages.userAction(action, name: name, signedIn, request) }
            }
        }
        router.get("/admin/reports") { request, _ in try await pages.signedIn(request) { try await pages.projectionsPage($0) } }
        router.post("/admin/rebuilds") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.startRebuild(signedIn, form) }
        }
        router.get("/admin/rebuilds/:id") { request, context in
            let id = try context.parameters.require("id")
            return try await pages.signedIn(request) { signedIn in try pages.rebuildPage(signedIn, id: id) }
        }
        router.get("/admin/rebuilds/:id/events") { request, context in
            let id = try context.parameters.require("id")
            return try await pages.signedIn(request) { signedIn in try pages.rebuildEvents(signedIn, id: id) }
        }
        router.get("/clients/:client/erase") { request, context in
            let client = try context.parameters.require("client")
            return try await pages.signedIn(request) { signedIn in pages.erasurePage(signedIn, client: client) }
        }
        router.post("/clients/:client/erase") { request, context in
            let client = try context.parameters.require("client")
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.erase(signedIn, client: client, form) }
        }
        router.get("/invite/:token") { request, context in
            try await pages.invitePage(token: try context.parameters.require("token"))
        }
        // The password is posted to /invite with the link's token in the form, so that the
        // token is in no address but the link's own.
        router.post("/invite") { request, _ in
            let form = try await Self.form(request)
            return try await pages.acceptInvite(token: form.value("token") ?? "", form)
        }
    }

    /// A page the user's role has no use for: the sentence, not the forms.
    func notYours(_ signedIn: SignedIn, _ what: String) -> Response {
        var model = PageModel(title: "Not open to you", signedIn: signedIn)
        model.message = "\(what) are for admins."
        return render("message", model, status: .forbidden)
    }

    // MARK: - The log

    func adminPage(_ signedIn: SignedIn, result: AdminView.Result? = nil, backupName: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        guard session.may(.manageUsers) else { return notYours(signedIn, "The admin pages") }
        var model = PageModel(title: "Admin", signedIn: signedIn)
        let stats = try await session.stats()
        let last = session.lastPassedVerification
        let day = ISO8601DateFormatter.string(from: service.configuration.clock(), timeZone: .gmt, formatOptions: [.withFullDate])
        model.admin = AdminView(
            events: stats.events, headPosition: stats.headPosition, headHash: stats.headHash,
            lastPassed: last.map { "\(Self.utc($0.at)) by \($0.by): \($0.events) events, head \($0.head.position) \($0.head.hashHex)" },
            result: result,
            backupFolder: service.configuration.resolvedBackupFolder,
            backupName: backupName ?? "stipple-\(day).sqlite")
        return render("admin", model, status: status)
    }

    func verify(_ signedIn: SignedIn) async throws -> Response {
        let verification = try await signedIn.session.verifyAndRemember()
        let log = verification.log
        var lines = ["\(log.eventCount) events; head \(log.head.position) \(log.head.hashHex)."]
        if let broken = log.firstBreak { lines.append("The chain breaks: \(broken).") }
        for trigger in log.missingTriggers { lines.append("A guard of the log is missing: \(trigger).") }
        for user in verification.userMismatches { lines.append("Not backed by the chain: \(user).") }
        for photo in verification.photoMismatches { lines.append(photo.prefix(1).uppercased() + photo.dropFirst() + ".") }
        return try await adminPage(signedIn, result: AdminView.Result(
            ok: verification.isIntact, title: verification.isIntact ? "The log is intact." : "The log was altered.", lines: lines))
    }

    func backup(_ signedIn: SignedIn, _ form: Form) async throws -> Response {
        let name = form.text("name")
        do {
            let (path, report) = try await signedIn.session.backup(named: name)
            return try await adminPage(signedIn, result: AdminView.Result(
                ok: true, title: "Backed up to \(path).", lines: ["\(report.eventCount) events, verified; head \(report.head.position) \(report.head.hashHex)."]))
        } catch {
            return try await adminPage(signedIn, result: AdminView.Result(ok: false, title: "Nothing was backed up.", lines: [Self.sentence(ServiceError(error).message)]),
                                       backupName: name, status: .unprocessableContent)
        }
    }

    static func utc(_ date: Date) -> String {
        ISO8601DateFormatter.string(from: date, timeZone: .gmt, formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]) + " UTC"
    }

    // MARK: - Users

    /// The users' page; `typed` is a form sent back with its errors (the add or the change form).
    func usersPage(
        _ signedIn: SignedIn, shown: UsersView.Shown? = nil, typed: TypedForm<UsersView.Which>? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let session = signedIn.session
        guard session.may(.manageUsers) else { return notYours(signedIn, "The users' pages") }
        var model = PageModel(title: "Users", signedIn: signedIn)
        let users = try await session.users()
        var rows: [UsersView.Row] = []
        for user in users {
            rows.append(UsersView.Row(
                name: user.name, role: user.role.rawValue, clinics: user.clinics.joined(separator: ", "), disabled: user.disabled,
                password: try await session.hasPassword(user.name), created: Self.utc(user.createdAt) + " by " + user.createdBy,
                isSelf: user.name == session.principal.user))
        }
        let clinics = try await session.clinics()
        func fields(_ which: UsersView.Which) -> [FieldView] {
            let mine = typed?.action == which ? typed : nil
            let values = FormValues(mine?.values)
            var fields: [FieldView] = switch which {
            case .add:
                [FieldView(name: "name", label: "User name (letters, digits, - and _)", kind: .text, value: values.value("name"), required: true)]
            case .access:
                [FieldView(name: "name", label: "User", kind: .select(values.choices("name", FormValues.named(users.filter { !$0.disabled }.map(\.name)), fallback: "")))]
            }
            fields += [
                FieldView(name: "role", label: which == .add ? "Role" : "New role", kind: .select(values.choices("role", FormValues.named(Role.allCases.map(\.rawValue)), fallback: "clinician"))),
                FieldView(name: "clinics", label: "Clinics (clinicians and reception)", kind: .checks(values.many("clinics", FormValues.named(clinics)))),
            ]
            for index in fields.indices { fields[index].errors = mine?.errors.fields[fields[index].name] ?? [] }
            return fields
        }
        model.users = UsersView(
            rows: rows, fields: fields(.add), formErrors: typed?.action == .add ? typed?.errors.form ?? [] : [],
            access: UsersView.AccessForm(fields: fields(.access), formErrors: typed?.action == .access ? typed?.errors.form ?? [] : []), shown: shown)
        return render("users", model, status: status)
    }

    func addUser(_ signedIn: SignedIn, _ form: Form, _ request: Request) async throws -> Response {
        let session = signedIn.session
        let name = form.text("name")
        do {
            let token = try await session.addUser(name, role: try Self.role(form), clinics: form.values("clinics"))
            let invite = try await session.invite(name)
            return try await usersPage(signedIn, shown: UsersView.Shown(
                title: "User \(name) added.", link: inviteLink(invite, request), expires: Self.utc(invite.expiresAt), token: token))
        } catch {
            return try await usersPage(signedIn, typed: Self.typed(.add, form, ServiceError(error), unplaced: "name"), status: .unprocessableContent)
        }
    }

    func changeAccess(_ signedIn: SignedIn, _ form: Form) async throws -> Response {
        let name = form.text("name")
        do {
            let role = try Self.role(form)
            try await signedIn.session.changeAccess(of: name, role: role, clinics: form.values("clinics"))
            let clinics = Set(form.values("clinics")).sorted()
            return try await usersPage(signedIn, shown: UsersView.Shown(
                title: "\(name) is now \(role.rawValue)\(clinics.isEmpty ? "" : " at " + clinics.joined(separator: ", ")), from their next page or request."))
        } catch {
            return try await usersPage(signedIn, typed: Self.typed(.access, form, ServiceError(error), unplaced: nil), status: .unprocessableContent)
        }
    }

    /// The role a users' form chose.
    static func role(_ form: Form) throws(ServiceError) -> Role {
        guard let role = Role(rawValue: form.text("role")) else { throw ServiceError(.badInput, "choose a role", detail: .field("role")) }
        return role
    }

    /// A users' form sent back with `error` next to the field the library named (else
    /// next to `unplaced`, or above the form).
    static func typed(_ which: UsersView.Which, _ form: Form, _ error: ServiceError, unplaced: String?) -> TypedForm<UsersView.Which> {
        var typed = TypedForm(action: which, values: form)
        if case .field(let field) = error.detail { typed.errors.add(sentence(error.message), to: field) } else { typed.errors.add(sentence(error.message), to: unplaced) }
        return typed
    }

    func userAction(_ action: String, name: String, _ signedIn: SignedIn, _ request: Request) async throws -> Response {
        let session = signedIn.session
        do {
            switch action {
            case "disable":
                try await session.disableUser(name)
                return try await usersPage(signedIn, shown: UsersView.Shown(title: "User \(name) disabled: their token and page sessions no longer work."))
            case "invite":
                let invite = try await session.invite(name)
                return try await usersPage(signedIn, shown: UsersView.Shown(
                    title: "A link for \(name) to set a password.", link: inviteLink(invite, request), expires: Self.utc(invite.expiresAt)))
            default:
                let enrolment = try await session.enrolSecondFactor(of: name)
                return try await usersPage(signedIn, shown: UsersView.Shown(
                    title: "A new second factor for \(name): add it to their authenticator app now.", secret: enrolment.secret, url: enrolment.url))
            }
        } catch {
            return try await usersPage(signedIn, typed: Self.typed(.add, Form(""), ServiceError(error), unplaced: nil), status: .unprocessableContent)
        }
    }

    /// The invite's address as the person's browser will open it.
    func inviteLink(_ invite: Invites.Invite, _ request: Request) -> String {
        if let base = configuration.publicURL { return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/invite/" + invite.token }
        let host = request.head.authority ?? "127.0.0.1:\(configuration.port)"
        return (configuration.tls == nil ? "http://" : "https://") + host + "/invite/" + invite.token
    }

    func invitePage(token: String, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        var model = PageModel(title: "Set your password")
        do {
            let user = try await service.invitedUser(token: token)
            model.invite = InviteView(user: user, token: token, error: error)
            return render("invite", model, status: status)
        } catch {
            model.message = Self.sentence(error.message)
            return render("message", model, status: .notFound)
        }
    }

    func acceptInvite(token: String, _ form: Form) async throws -> Response {
        let password = form.value("password") ?? ""
        guard password == (form.value("repeat") ?? "") else {
            return try await invitePage(token: token, error: "The two passwords differ: type the same one twice.", status: .unprocessableContent)
        }
        do {
            let user = try await service.acceptInvite(token: token, password: password)
            var model = PageModel(title: "Password set")
            model.signInName = user
            model.success = "Your password is set: sign in with it."
            return render("sign-in", model)
        } catch {
            guard error.kind == .badInput else {
                var model = PageModel(title: "Set your password")
                model.message = Self.sentence(error.message)
                return render("message", model, status: .notFound)
            }
            return try await invitePage(token: token, error: Self.sentence(error.message), status: .unprocessableContent)
        }
    }

    // MARK: - Reports status and rebuilds

    func projectionsPage(_ signedIn: SignedIn, message: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let session = signedIn.session
        guard session.may(.rebuildReports) else { return notYours(signedIn, "Rebuilds") }
        var model = PageModel(title: "Reports status", signedIn: signedIn)
        let projections = try await session.projectionsStatus()
        model.projections = ProjectionsView(
            rows: projections.map { status in
                ProjectionsView.Row(
                    name: status.name, summary: status.summary, version: status.version, generation: status.live.map { String($0.generation) } ?? "none",
                    checkpoint: status.live?.checkpoint ?? 0, lag: status.lag, pending: status.rebuildPending, building: status.building != nil)
            },
            choices: [Choice(value: "", label: "every report", selected: true)] + projections.map { Choice(value: $0.name, label: $0.name, selected: false) },
            error: message)
        return render("projections", model, status: status)
    }

    func startRebuild(_ signedIn: SignedIn, _ form: Form) async throws -> Response {
        let chosen = form.text("projection")
        do {
            let names: [ProjectionName]?
            if chosen.isEmpty { names = nil } else {
                guard let name = ProjectionName(rawValue: chosen) else { throw ProjectionName.unknown(chosen) }
                names = [name]
            }
            let id = try signedIn.session.startRebuild(names)
            return Self.redirect(to: "/admin/rebuilds/" + id)
        } catch {
            return try await projectionsPage(signedIn, message: Self.sentence(ServiceError(error).message), status: .unprocessableContent)
        }
    }

    func rebuildPage(_ signedIn: SignedIn, id: String) throws -> Response {
        var model = PageModel(title: "Rebuild", signedIn: signedIn)
        do {
            model.rebuild = RebuildView(try signedIn.session.rebuildJob(id))
        } catch {
            model.message = Self.sentence(error.message)
            return render("message", model, status: error.kind == .denied ? .forbidden : .notFound)
        }
        return render("rebuild", model)
    }

    /// The rebuild's progress as Server-Sent Events: a `progress` event at each change (at
    /// most four a second), then `done`; it ends early when the person's session does.
    func rebuildEvents(_ signedIn: SignedIn, id: String) throws -> Response {
        let updates = try signedIn.followRebuild(id)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // Ended when the server begins to shut down: the server waits for open responses
        // before the background work is stopped, and a page following a long rebuild would
        // hold it (the browser's EventSource reconnects to a server that is back).
        let events = updates.cancelOnGracefulShutdown().map { job -> ByteBuffer in
            let view = RebuildView(job)
            let data: [String: Any] = [
                "percent": view.percent, "done": job.done, "total": job.total, "rate": view.rate, "eta": view.eta, "phase": job.phase, "unit": job.unit,
                "finished": job.finished, "failure": job.failure ?? "", "summary": view.summary ?? "",
            ]
            let json = (try? JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return ByteBuffer(string: "event: \(job.finished ? "done" : "progress")\ndata: \(json)\n\n")
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: events))
    }

    // MARK: - Erasure

    func erasurePage(_ signedIn: SignedIn, client: String, reason: String = "", error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        guard signedIn.session.may(.eraseClients) else { return notYours(signedIn, "Erasures") }
        var model = PageModel(title: "Erase a client's personal data", signedIn: signedIn)
        model.erasure = ErasureView(client: Session.clientID(client), reason: reason, error: error)
        return render("erase", model, status: status)
    }

    func erase(_ signedIn: SignedIn, client: String, _ form: Form) async throws -> Response {
        guard form.value("confirm") != nil else {
            return erasurePage(signedIn, client: client, reason: form.text("reason"), error: "Tick the box that says you understand what cannot be reached.", status: .unprocessableContent)
        }
        do {
            _ = try await signedIn.session.erase(client: client, reason: form.text("reason"))
        } catch {
            return erasurePage(signedIn, client: client, reason: form.text("reason"), error: Self.sentence(ServiceError(error).message), status: .unprocessableContent)
        }
        var model = PageModel(title: "Erased", signedIn: signedIn)
        model.message = "The personal data of client \(Session.clientID(client)) is erased: their key is destroyed, and no page, report or export shows it again."
        model.success = "yes"
        return render("message", model)
    }
}

struct AdminView {
    struct Result {
        var ok: Bool
        var title: String
        var lines: [String]
    }

    var events: Int64
    var headPosition: Int64
    var headHash: String
    var lastPassed: String?
    var result: Result?
    var backupFolder: String
    var backupName: String
}

struct UsersView {
    struct Row {
        var name: String
        var role: String
        var clinics: String
        var disabled: Bool
        var password: Bool
        var created: String
        var isSelf: Bool
    }

    /// What an action made, shown once.
    struct Shown {
        var title: String
        var link: String?
        var expires: String?
        var token: String?
        var secret: String?
        var url: String?
    }

    /// The form that changes a user's role and clinics.
    struct AccessForm {
        var fields: [FieldView]
        var formErrors: [String]
        let id = Which.access.rawValue
    }

    /// The page's two forms.
    enum Which: String {
        case add = "user-form"
        case access = "access-form"
    }

    var rows: [Row]
    var fields: [FieldView]
    var formErrors: [String]
    var access: AccessForm
    var shown: Shown?
    let id = "user-form"
}

struct InviteView {
    var user: String
    var token: String
    var error: String?
}

struct ProjectionsView {
    struct Row {
        var name: String
        var summary: String
        var version: Int
        var generation: String
        var checkpoint: Int64
        var lag: Int64
        var pending: Bool
        var building: Bool
    }

    var rows: [Row]
    var choices: [Choice]
    var error: String?
}

struct RebuildView {
    var id: String
    var what: String
    var startedBy: String
    var phase: String
    var done: Int64
    var total: Int64
    var unit: String
    var percent: Int
    var rate: String
    var eta: String
    var finished: Bool
    var failure: String?
    var summary: String?

    init(_ job: RebuildJob) {
        id = job.id
        what = job.names?.joined(separator: ", ") ?? "every report"
        startedBy = job.startedBy
        phase = job.phase
        done = job.done
        total = job.total
        unit = job.unit
        percent = job.percent
        rate = job.rate > 0 ? "\(Int(job.rate.rounded())) \(job.unit)/s" : ""
        eta = job.secondsLeft.map { $0 < 1 ? "under a second left" : "about \(Int($0.rounded(.up))) s left" } ?? ""
        finished = job.finished
        failure = job.failure
        summary = job.finished && job.failure == nil
            ? "Done: " + job.summaries.map { "\($0.name) v\($0.version) generation \($0.generation) at \($0.checkpoint)" }.joined(separator: "; ") + "."
            : nil
    }
}

struct ErasureView {
    var client: String
    var reason: String
    var error: String?
}
