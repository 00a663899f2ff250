import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StippleService
import Treatment

extension WebPages {
    /// Adds the pages' routes.
    func addRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        router.get("/static/:file") { _, context in try pages.staticFile(context.parameters.require("file")) }
        router.get("/sign-in") { request, _ in pages.signInPage(next: request.uri.queryParameters["next"].map(String.init)) }
        router.post("/sign-in") { request, context in try await pages.signIn(request, context) }
        router.post("/sign-out") { request, _ in try await pages.signOut(request) }
        router.post("/unlock") { request, context in try await pages.unlock(request, context) }
        router.get("/") { request, _ in try await pages.signedIn(request) { signedIn in pages.home(signedIn) } }
        router.post("/clients/search") { request, _ in
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.search(signedIn, form) }
        }
        router.get("/clients/:client") { request, context in
            let client = try context.parameters.require("client")
            let recorded = request.uri.queryParameters["recorded"].flatMap { Int32(String($0)) }
            let done = request.uri.queryParameters["done"].flatMap { ClientAction(rawValue: String($0)) }
            return try await pages.signedIn(request) { signedIn in
                try await pages.clientPage(signedIn, client: client, purpose: nil, recorded: recorded, done: done)
            }
        }
        router.post("/clients/:client") { request, context in
            let client = try context.parameters.require("client")
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in
                try await pages.clientPage(signedIn, client: client, purpose: form.text("purpose"))
            }
        }
        router.post("/clients/:client/session") { request, context in
            let client = try context.parameters.require("client")
            let form = try await Self.form(request)
            return try await pages.signedIn(request, form: form) { signedIn in try await pages.recordSession(signedIn, client: client, form) }
        }
        router.get("/forms/:form") { request, context in
            let form = try context.parameters.require("form")
            return try await pages.signedIn(request) { signedIn in try await pages.consentFormPage(signedIn, form: form) }
        }
        addLotRoutes(to: router)
        addTodayRoutes(to: router)
        addActionRoutes(to: router)
        addReportRoutes(to: router)
        addAdminRoutes(to: router)
        addTechnicianRoutes(to: router)
    }

    // MARK: - Static files

    static let staticFiles: [String: (type: String, bytes: [UInt8])] = {
        var files: [String: (String, [UInt8])] = [:]
        for (name, type) in [("stipple.css", "text/css; charset=utf-8"), ("stipple.js", "text/javascript; charset=utf-8")] {
            if let url = Bundle.module.url(forResource: "Static/" + name, withExtension: nil), let data = try? Data(contentsOf: url) {
                files[name] = (type, Array(data))
            }
        }
        return files
    }()

    func staticFile(_ name: String) throws -> Response {
        guard let file = Self.staticFiles[name] else { throw HTTPError(.notFound) }
        var headers = HTTPFields()
        headers[.contentType] = file.type
        headers[.cacheControl] = "public, max-age=3600"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }

    // MARK: - Signing in and out

    func signInPage(next: String?, name: String? = nil, message: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var page = PageModel(title: "Sign in")
        page.next = next.flatMap { Self.isReturnable($0) ? $0 : nil }
        page.signInName = name
        page.message = message
        return render("sign-in", page, status: status)
    }

    func signIn(_ request: Request, _ context: StippleRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        let name = form.text("name"), next = form.value("next").flatMap { Self.isReturnable($0) ? $0 : nil }
        do {
            let signedIn = try await service.signIn(user: name, password: form.value("password") ?? "", code: form.text("code"), from: address(request, context))
            var response = Self.redirect(to: next ?? "/")
            response.setCookie(sessionCookie(signedIn.cookie))
            return response
        } catch {
            let status: HTTPResponse.Status = if case .throttled = error.detail { .tooManyRequests } else { .unauthorized }
            return signInPage(next: next, name: name, message: error.message, status: status)
        }
    }

    func signOut(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        // Signing out needs the page's form token too: another site cannot sign a person out.
        if let signedIn = try? await service.resume(cookie: request.cookies[cookieName]?.value) {
            try signedIn.checkForm(form.value("_csrf"))
        }
        service.signOut(cookie: request.cookies[cookieName]?.value)
        var response = signInPage(next: nil, message: "You are signed out.")
        response.setCookie(expiredCookie())
        return response
    }

    /// The lock page's password: the same session opens again (a new cookie), and a form
    /// sent while it was locked is offered to send again, as it was typed.
    func unlock(_ request: Request, _ context: StippleRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        let kept = Self.keptForm(form)
        if form.value("inline") == "1" {
            // The page's own lock (stipple.js): a status and a sentence, the page stays.
            do {
                let signedIn = try await service.unlock(
                cookie: request.cookies[cookieName]?.value, formToken: form.value("_csrf"), password: form.value("password") ?? "", from: address(request, context))
                var response = Response(status: .noContent)
                response.setCookie(sessionCookie(signedIn.cookie))
                return response
            } catch {
                let text = error.detail == .unauthenticated ? "Your session has ended: open the page again and sign in." : error.message
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(status: .unauthorized, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
            }
        }
        do {
            let signedIn = try await service.unlock(
                cookie: request.cookies[cookieName]?.value, formToken: form.value("_csrf"), password: form.value("password") ?? "", from: address(request, context))
            var response: Response
            if let kept {
                var page = PageModel(title: "Send again", signedIn: signedIn)
                page.kept = kept
                page.message = "Unlocked. What you were sending was kept: check it and send it."
                response = render("resend", page)
            } else {
                response = Self.redirect(to: form.value("next").flatMap { Self.isReturnable($0) ? $0 : nil } ?? "/")
            }
            response.setCookie(sessionCookie(signedIn.cookie))
            return response
        } catch {
            if error.detail == .unauthenticated {
                var response = signInPage(next: nil, message: "Your session has ended: sign in again.", status: .unauthorized)
                response.setCookie(expiredCookie())
                return response
            }
            var page = PageModel(title: "Locked")
            if case .locked(let user) = error.detail { page.lockedUser = user }
            page.message = error.message
            let token = service.formToken(ofSession: request.cookies[cookieName]?.value)
            page.formToken = token
            // A kept form stays only with the session's token (not one sent from elsewhere).
            page.kept = token != nil && form.value("_csrf") == token ? kept : nil
            page.next = form.value("next").flatMap { Self.isReturnable($0) ? $0 : nil }
            let status: HTTPResponse.Status = if case .throttled = error.detail { .tooManyRequests } else { .unauthorized }
            return render("lock", page, status: status)
        }
    }

    /// The form kept in the lock page (`kept.action`, `kept.<name>` fields), if any.
    static func keptForm(_ form: Form) -> KeptForm? {
        guard let action = form.value("kept.action"), isReturnable(action) else { return nil }
        let fields = form.pairs.filter { $0.name.hasPrefix("kept.field.") }.map { KeptField(name: String($0.name.dropFirst("kept.field.".count)), value: $0.value) }
        return KeptForm(action: action, fields: fields)
    }

    // MARK: - Finding a client

    func home(_ signedIn: SignedIn) -> Response {
        var page = PageModel(title: "Find a client", signedIn: signedIn)
        page.search = SearchView(query: "", results: [], more: 0, searched: false)
        return render("home", page)
    }

    func search(_ signedIn: SignedIn, _ form: Form) async throws -> Response {
        var page = PageModel(title: "Find a client", signedIn: signedIn)
        let query = form.text("q")
        do {
            let found = try await signedIn.session.findClients(query)
            page.search = SearchView(
                query: query,
                results: found.clients.map {
                    ResultRow(
                        client: $0.client, clinic: $0.clinic, name: $0.name, phone: $0.phone, email: $0.email, pseudonym: $0.pseudonym,
                        confidential: $0.confidential, openable: signedIn.session.principal.role != .reception)
                },
                more: found.more, searched: true)
            return render("home", page)
        } catch {
            guard error.kind == .badInput else { throw error }
            page.search = SearchView(query: query, results: [], more: 0, searched: false)
            page.message = error.message
            return render("home", page, status: .unprocessableContent)
        }
    }
}
