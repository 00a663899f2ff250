import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import StippleService

/// The request context of every route: Hummingbird's core, and the address the request
/// came from (sign-ins are throttled per address).
public struct StippleRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The web pages for people: server-rendered HTML (Mustache templates, which escape every
/// value), one style sheet, one small script. Routes parse the form, call the person's
/// session and render; every rule, permission and access-log decision is the application
/// layer's. No personal data in URLs, titles or logs: searches are posted, client pages
/// are addressed by the client's id.
struct WebPages: Sendable {
    let service: StippleService.Service
    let configuration: ServerConfiguration
    let templates: MustacheLibrary

    init(service: StippleService.Service, configuration: ServerConfiguration) throws {
        self.service = service
        self.configuration = configuration
        templates = try Self.loadTemplates()
    }

    /// The templates, parsed once (a template that does not parse stops the server at start).
    static func loadTemplates() throws -> MustacheLibrary {
        guard let folder = Bundle.module.url(forResource: "Templates", withExtension: nil) else {
            throw WebPagesError.missingResources("Templates")
        }
        var library = MustacheLibrary()
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }.sorted()
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            try library.register(text, named: String(file.dropLast(".mustache".count)))
        }
        return library
    }

    /// The session cookie's name: `__Host-` with TLS (the browser then holds it to this
    /// host, path / and Secure only).
    var cookieName: String { configuration.tls == nil ? "stipple_session" : "__Host-stipple_session" }

    func sessionCookie(_ value: String) -> Cookie {
        Cookie(name: cookieName, value: value, path: "/", secure: configuration.tls != nil, httpOnly: true, sameSite: .strict)
    }

    func expiredCookie() -> Cookie {
        Cookie(name: cookieName, value: "", maxAge: 0, path: "/", secure: configuration.tls != nil, httpOnly: true, sameSite: .strict)
    }

    // MARK: - Rendering

    /// A page: the template rendered into the layout, with the headers every page has.
    func render(_ template: String, _ page: PageModel, status: HTTPResponse.Status = .ok) -> Response {
        var page = page
        page.idleSeconds = Int(service.configuration.signIn.idleLock.components.seconds)
        let content = templates.render(page, withTemplate: template) ?? "template \(template) is missing"
        return Self.html(content, status: status)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A redirect after a post (303: the browser then gets the page).
    static func redirect(to path: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = path
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: - Requests

    /// The form fields of a posted `application/x-www-form-urlencoded` body (at most 256 KB).
    static func form(_ request: Request) async throws -> Form {
        // Another site's form is refused before it is read (login CSRF, forced actions): the
        // browser says where a request comes from. Clients that send neither header (curl,
        // old browsers) are held by the form token and the SameSite cookie.
        // `same-site` is refused too (a sibling subdomain, another port of this host).
        if let site = request.headers[.secFetchSite] {
            guard site == "same-origin" || site == "none" else { throw crossSite }
        } else if let origin = request.headers[.origin], origin != "null" {
            let host = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            guard let host, host == request.head.authority else { throw crossSite }
        }
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard type == "application/x-www-form-urlencoded" else {
            throw ServiceError.badInput("this page takes a form (application/x-www-form-urlencoded)")
        }
        let buffer = try await request.body.collect(upTo: 256 << 10)
        return Form(String(buffer: buffer), path: request.uri.path)
    }

    static let crossSite = ServiceError(.denied, "refused: this form was sent from another site")

    /// Where a request came from, for throttling.
    func address(_ request: Request, _ context: StippleRequestContext) -> String {
        configuration.clientAddress(peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[values: .xForwardedFor])
    }

    /// Runs `body` with the person's session; a signed-out request goes to the sign-in
    /// page, a locked one gets the lock page (a posted form's fields kept in it).
    func signedIn(
        _ request: Request, form: Form? = nil, _ body: (SignedIn) async throws -> Response
    ) async throws -> Response {
        let signedIn: SignedIn
        do {
            signedIn = try await service.resume(cookie: request.cookies[cookieName]?.value)
        } catch {
            if error.detail == .unauthenticated {
                var response = Self.redirect(to: "/sign-in" + (Self.isReturnable(request.uri.path) && request.method == .get ? "?next=" + request.uri.path : ""))
                // Only a cookie the request carried is cleared (a link from another site,
                // which carries none under SameSite=Strict, signs nobody out).
                if request.cookies[cookieName] != nil { response.setCookie(expiredCookie()) }
                return response
            }
            guard case .locked(let user) = error.detail else { throw error }
            var page = PageModel(title: "Locked")
            page.lockedUser = user
            page.message = error.message
            let token = service.formToken(ofSession: request.cookies[cookieName]?.value)
            page.formToken = token
            if request.method == .post, let form, let token, form.value("_csrf") == token, Self.isReturnable(request.uri.path) {
                // Kept only when it carries the session's token: a form from another site is not.
                page.kept = KeptForm(action: request.uri.path, fields: form.pairs.filter { $0.name != "_csrf" }.map { KeptField(name: $0.name, value: $0.value) })
            } else if request.method == .get, Self.isReturnable(request.uri.path) {
                page.next = request.uri.path
            }
            return render("lock", page, status: .unauthorized)
        }
        if request.method == .post {
            try signedIn.checkForm((form ?? Form("")).value("_csrf"))
        }
        return try await body(signedIn)
    }

    /// Whether a path may be gone back to after a sign-in or an unlock: one of the pages'
    /// own paths, never another site's or a path with a query (no open redirect).
    static func isReturnable(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"), path.count <= 200, !path.hasSuffix("/events"), !path.contains(".") else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
        guard parts.allSatisfy({ !$0.isEmpty && $0 != ".." && $0.unicodeScalars.allSatisfy(allowed.contains) }) || path == "/" else { return false }
        return path == "/" || ["/clients/", "/lots", "/today", "/reports", "/admin", "/technicians"].contains { path == $0 || path.hasPrefix($0 + "/") || path.hasPrefix($0) && $0.hasSuffix("/") }
    }
}

extension HTTPField.Name {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let origin = HTTPField.Name("Origin")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// The templates or the style sheet are not where the build put them.
enum WebPagesError: Error, CustomStringConvertible {
    case missingResources(String)

    var description: String {
        switch self {
        case .missingResources(let what): return "the web pages' \(what) are missing from the build (Stipple_StippleServer.resources beside the binary)"
        }
    }
}

/// A posted form: its fields in order (a field may repeat: checkboxes).
struct Form: Sendable {
    var pairs: [(name: String, value: String)]
    /// The path the form was posted to.
    var path: String

    init(_ body: String, path: String = "") {
        self.path = path
        pairs = body.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value of `name`, `nil` when absent.
    func value(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// The value of `name` trimmed, `""` when absent.
    func text(_ name: String) -> String { value(name)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }

    /// Every value of `name`.
    func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// A recording form's idempotency key: the page's `_once` (a fresh UUID each time a
    /// page is shown, carried by each of its forms) with the path posted to, and the
    /// fingerprint of what was typed. A form sent twice (a double tap, a reload of the
    /// answer, a retry after a dropped connection) records once: the second gets the first
    /// one's answer. `nil` without a `_once` (nothing to compare with: recorded as sent).
    var idempotency: Idempotency? {
        guard let once = value("_once").flatMap(UUID.init(uuidString:)) else { return nil }
        // Length-prefixed, so that no two different forms give the same bytes.
        var bytes: [UInt8] = []
        func add(_ text: String) {
            let utf8 = Array(text.utf8)
            bytes += withUnsafeBytes(of: UInt32(utf8.count).bigEndian, Array.init) + utf8
        }
        add(path)
        for pair in pairs where pair.name != "_csrf" && pair.name != "_once" {
            add(pair.name)
            add(pair.value)
        }
        let place = Idempotency.fingerprint(of: Array(path.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return Idempotency(key: "page-\(once.uuidString.lowercased())-\(place)", fingerprint: Idempotency.fingerprint(of: bytes))
    }
}
