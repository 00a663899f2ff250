import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Discretion
import StippleServer
import StippleService
import StippleTesting
import Testing

/// The pages in-process: sessions by cookie, form tokens, the headers of every response,
/// and no personal data where it must not be. The browser tests (Tests/browser) drive the
/// same pages in Chromium.
@Suite("Web pages")
struct PagesTests {
    static let password = "correct horse battery"

    static func chain() async throws -> TestChain {
        let chain = try await TestChain.make {
            $0.projectionUpkeep = .background(readYourWrites: .seconds(5))
            $0.signIn.passwordCost = 4
        }
        try await chain.session(.admin).setPassword(of: "dr-lee", to: password)
        return chain
    }

    static func application(_ chain: TestChain) throws -> some ApplicationProtocol {
        try buildApplication(service: chain.service, configuration: ServerConfiguration(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    static func form(_ fields: [(String, String)], cookie: String? = nil) -> (HTTPFields, ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .accept: "text/html"]
        if let cookie { headers[.cookie] = "stipple_session=" + cookie }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return (headers, ByteBuffer(string: body))
    }

    /// Signs dr-lee in: the cookie and the page's form token.
    static func signIn(_ client: some TestClientProtocol) async throws -> (cookie: String, token: String) {
        let (headers, body) = form([("name", "dr-lee"), ("password", password)])
        let response = try await client.execute(uri: "/sign-in", method: .post, headers: headers, body: body)
        #expect(response.status == .seeOther)
        let setCookie = try #require(response.headers[.setCookie])
        let cookie = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last.map(String.init))
        let home = try await client.execute(uri: "/", method: .get, headers: [.cookie: "stipple_session=" + cookie])
        let page = String(buffer: home.body)
        let token = try #require(page.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1)
        return (cookie, String(token))
    }

    @Test("the session cookie is HttpOnly and SameSite=Strict, and a signed-out browser is sent to sign in")
    func cookies() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let away = try await client.execute(uri: "/clients/42", method: .get)
            #expect(away.status == .seeOther)
            #expect(away.headers[.location] == "/sign-in?next=/clients/42")
            let (headers, body) = Self.form([("name", "dr-lee"), ("password", Self.password)])
            let response = try await client.execute(uri: "/sign-in", method: .post, headers: headers, body: body)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"), "plain HTTP on loopback: no Secure (with TLS the cookie is __Host- and Secure)")
        }
    }

    @Test("a wrong password gets the sign-in page again with one sentence, and no cookie")
    func wrongPassword() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (headers, body) = Self.form([("name", "dr-lee"), ("password", "not it at all")])
            let response = try await client.execute(uri: "/sign-in", method: .post, headers: headers, body: body)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.setCookie] == nil)
            #expect(String(buffer: response.body).contains("the user name or the password is wrong"))
        }
    }

    @Test("every response forbids framing, sniffing, inline script and caching of pages")
    func headers() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            for uri in ["/sign-in", "/healthz", "/static/stipple.css"] {
                let response = try await client.execute(uri: uri, method: .get)
                let policy = try #require(response.headers[.contentSecurityPolicy])
                #expect(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'") && !policy.contains("unsafe"))
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            }
            #expect(try await client.execute(uri: "/sign-in", method: .get).headers[.cacheControl] == "no-store")
            #expect(try await client.execute(uri: "/static/stipple.css", method: .get).headers[.cacheControl] == "public, max-age=3600")
            #expect(try await client.execute(uri: "/static/nothing.js", method: .get).status == .notFound)
        }
    }

    @Test("a form without the session's token is refused and records nothing; with it, the search answers")
    func formTokens() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (cookie, token) = try await Self.signIn(client)
            let head = try await chain.head()
            for fields in [[("q", "client")], [("q", "client"), ("_csrf", "forged")]] {
                let (headers, body) = Self.form(fields, cookie: cookie)
                let refused = try await client.execute(uri: "/clients/search", method: .post, headers: headers, body: body)
                #expect(refused.status == .forbidden)
                #expect(!String(buffer: refused.body).contains("A. Client"))
            }
            #expect(try await chain.head() == head, "no search ran: no access was logged")
            let (headers, body) = Self.form([("q", "a. client"), ("_csrf", token)], cookie: cookie)
            let found = try await client.execute(uri: "/clients/search", method: .post, headers: headers, body: body)
            #expect(found.status == .ok)
            #expect(String(buffer: found.body).contains("A. Client"))
        }
    }

    @Test("a recording form sent twice records once; sent again from the same page with other values it records nothing and says why")
    func formsSentTwice() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (cookie, token) = try await Self.signIn(client)
            let page = try await client.execute(uri: "/clients/42", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            let once = try #require(String(buffer: page.body).firstMatch(of: /name="_once" value="([^"]+)"/)?.1)
            func consent(_ form: String, once: Substring?) async throws -> TestResponse {
                var fields = [("_csrf", token), ("clinic", "toronto"), ("form", form), ("at", "2026-11-20T10:00"), ("procedure", "on")]
                if let once { fields.append(("_once", String(once))) }
                let (headers, body) = Self.form(fields, cookie: cookie)
                return try await client.execute(uri: "/clients/42/consent", method: .post, headers: headers, body: body)
            }
            let before = try await chain.session(.admin).stats().headPosition
            let first = try await consent("smp-consent:v5", once: once)
            #expect(first.status == .seeOther)
            let recorded = try await chain.head()
            #expect(try await chain.session(.admin).stats().headPosition == before + 1)
            let again = try await consent("smp-consent:v5", once: once)
            #expect(again.status == .seeOther, "the first one's answer")
            #expect(try await chain.head() == recorded, "nothing recorded twice")
            let changed = try await consent("smp-consent:v4", once: once)
            #expect(changed.status == .unprocessableContent)
            #expect(String(buffer: changed.body).contains("This form was already sent from this page, with other values"))
            #expect(try await chain.session(.admin).stats().headPosition == before + 2, "only the access of the page shown again")
            let fresh = try await consent("smp-consent:v4", once: nil)
            #expect(fresh.status == .seeOther, "a form without its key is recorded as sent")
            #expect(try await chain.session(.admin).stats().headPosition == before + 3)
        }
    }

    @Test("a consent on the client's page links to its form's page, which shows each version's text, hash and what it covers")
    func consentFormPage() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (cookie, _) = try await Self.signIn(client)
            let page = String(buffer: try await client.execute(uri: "/clients/42", method: .get, headers: [.cookie: "stipple_session=" + cookie]).body)
            #expect(page.contains(#"<a href="/forms/smp-consent#version-v4">smp-consent v4</a>, signed 2026-02-20"#))
            #expect(page.contains(#"<option value="smp-consent:v5" selected>"#), "the version in force, published last, is offered first")
            let form = try await client.execute(uri: "/forms/smp-consent", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            #expect(form.status == .ok)
            let body = String(buffer: form.body)
            for version in [4, 5] {
                #expect(body.contains(#"id="version-v\#(version)""#))
                #expect(body.contains(TestChain.consentText(version).replacingOccurrences(of: "'", with: "&#39;")), "the text, escaped")
            }
            let consent = try #require(try await chain.session(.admin).consentForm("smp-consent").versions["v4"]).published
            #expect(body.contains(consent.textSha256) && consent.textSha256.count == 64)
            let unknown = try await client.execute(uri: "/forms/no-such-form", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            #expect(unknown.status == .notFound)
        }
    }

    @Test("another clinic's client and an unknown one get the same page; a confidential one asks why")
    func refusals() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (cookie, _) = try await Self.signIn(client)
            let other = try await client.execute(uri: "/clients/43", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            let unknown = try await client.execute(uri: "/clients/4343", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            #expect(other.status == .notFound && unknown.status == .notFound)
            #expect(String(buffer: other.body).replacingOccurrences(of: "43", with: "X") == String(buffer: unknown.body).replacingOccurrences(of: "4343", with: "X"))
            let confidential = try await client.execute(uri: "/clients/44", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            #expect(confidential.status == .ok)
            let page = String(buffer: confidential.body)
            #expect(page.contains("purpose-form") && !page.contains("C. Client"))
        }
    }

    @Test("after sign-in only the pages' own paths are gone back to", arguments: [
        ("/clients/42", "/clients/42"), ("https://evil.example/", "/"), ("//evil.example", "/"), ("/clients/42?x=1", "/"),
        ("/v1/streams/client-42", "/"), ("/clients/../v1", "/"),
    ])
    func noOpenRedirect(next: String, landing: String) async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (headers, body) = Self.form([("name", "dr-lee"), ("password", Self.password), ("next", next)])
            let response = try await client.execute(uri: "/sign-in", method: .post, headers: headers, body: body)
            #expect(response.headers[.location] == landing)
        }
    }

    @Test("a form sent from another site is refused before it is read: sign-in (login CSRF) and sign-out too")
    func crossSite() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (cookie, token) = try await Self.signIn(client)
            for (name, value) in [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"), ("Origin", "https://evil.example")] {
                for (uri, fields) in [("/sign-in", [("name", "dr-lee"), ("password", Self.password)]), ("/sign-out", [("_csrf", token)])] {
                    var (headers, body) = Self.form(fields, cookie: cookie)
                    headers[HTTPField.Name(name)!] = value
                    let response = try await client.execute(uri: uri, method: .post, headers: headers, body: body)
                    #expect(response.status == .forbidden, "\(uri) with \(name): \(value)")
                    #expect(response.headers[.setCookie] == nil)
                }
            }
            let still = try await client.execute(uri: "/", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            #expect(still.status == .ok, "not signed out")
            // A link from another site carries no cookie (SameSite=Strict) and clears none.
            let linked = try await client.execute(uri: "/clients/42", method: .get)
            #expect(linked.status == .seeOther && linked.headers[.setCookie] == nil)
        }
    }

    @Test("a session is refused once signed out, wherever its cookie was copied")
    func signOut() async throws {
        let chain = try await Self.chain()
        try await Self.application(chain).test(.router) { client in
            let (cookie, token) = try await Self.signIn(client)
            let (headers, body) = Self.form([("_csrf", token)], cookie: cookie)
            let out = try await client.execute(uri: "/sign-out", method: .post, headers: headers, body: body)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let again = try await client.execute(uri: "/", method: .get, headers: [.cookie: "stipple_session=" + cookie])
            #expect(again.status == .seeOther)
        }
    }

    @Test func behindATrustedProxySignInsCountUnderTheForwardedAddressAndNowhereElse() throws {
        var configuration = ServerConfiguration()
        #expect(configuration.clientAddress(peer: "10.0.0.9", forwardedFor: ["203.0.113.7"]) == "10.0.0.9", "no proxy trusted: the header is the client's to write")
        configuration.trustedProxies = ["127.0.0.1", "10.0.0.2"]
        #expect(configuration.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.7"]) == "203.0.113.7")
        #expect(configuration.clientAddress(peer: "127.0.0.1", forwardedFor: ["198.51.100.1, 203.0.113.7, 10.0.0.2"]) == "203.0.113.7",
                "the last hop that is not a trusted proxy; what the client put before it is not believed")
        #expect(configuration.clientAddress(peer: "127.0.0.1", forwardedFor: ["2001:db8::1"]) == "2001:db8::1")
        #expect(configuration.clientAddress(peer: "127.0.0.1", forwardedFor: ["not-an-address"]) == "127.0.0.1")
        #expect(configuration.clientAddress(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(configuration.clientAddress(peer: "192.0.2.5", forwardedFor: ["203.0.113.7"]) == "192.0.2.5", "a peer that is no trusted proxy")
        configuration.trustedProxies = ["proxy.example"]
        #expect(throws: ServerConfigurationError.badProxy("proxy.example")) { try configuration.validate() }
    }

    @Test("--public-url is a scheme and a host (invite links are built on it), nothing else", arguments: [
        ("https://stipple.example.ca", true), ("https://stipple.example.ca/", true), ("http://10.0.0.5:8080", true),
        ("stipple.example.ca", false), ("ftp://stipple.example.ca", false), ("https://stipple.example.ca/pages", false),
        ("https://stipple.example.ca/?next=x", false), ("https://", false),
    ])
    func publicURL(text: String, valid: Bool) {
        var configuration = ServerConfiguration()
        configuration.publicURL = text
        if valid {
            #expect(throws: Never.self) { try configuration.validate() }
        } else {
            #expect(throws: ServerConfigurationError.badPublicURL(text)) { try configuration.validate() }
        }
    }

    @Test("an invite's password posted without its link's token sets nothing")
    func inviteWithoutToken() async throws {
        let chain = try await Self.chain()
        let head = try await chain.head()
        try await Self.application(chain).test(.router) { client in
            for fields in [[("password", "a phrase of my own choosing"), ("repeat", "a phrase of my own choosing")],
                           [("token", "forged"), ("password", "a phrase of my own choosing"), ("repeat", "a phrase of my own choosing")]] {
                let (headers, body) = Self.form(fields)
                let response = try await client.execute(uri: "/invite", method: .post, headers: headers, body: body)
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("not valid"))
            }
        }
        #expect(try await chain.head() == head)
    }

    /// The recording forms of a page as a browser sees them: where each posts, and a value
    /// for each field (hidden ones as given, text as `text`, a select's first choice, every box ticked).
    static func forms(in html: String, text: String) throws -> [(action: String, fields: [(String, String)])] {
        func unescaped(_ value: Substring) -> String {
            value.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
        }
        func attribute(_ name: String, in tag: Substring) -> String? {
            tag.firstMatch(of: try! Regex("\\b\(name)=\"([^\"]*)\""))?.output[1].substring.map(unescaped)
        }
        var forms: [(String, [(String, String)])] = []
        for form in html.matches(of: try Regex(#"(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>"#)) {
            guard let action = form.output[1].substring.map(unescaped), let body = form.output[2].substring,
                  !["/sign-out", "/unlock", "/clients/search"].contains(action) else { continue }
            var fields: [(String, String)] = []
            for input in body.matches(of: try Regex("<input [^>]*>")) {
                let tag = input.output[0].substring!
                guard let name = attribute("name", in: tag) else { continue }
                switch attribute("type", in: tag) ?? "text" {
                case "hidden": fields.append((name, attribute("value", in: tag) ?? ""))
                case "checkbox": fields.append((name, attribute("value", in: tag) ?? "on"))
                default: fields.append((name, text))
                }
            }
            for area in body.matches(of: try Regex(#"<textarea [^>]*name="([^"]+)""#)) { fields.append((String(area.output[1].substring!), text)) }
            for select in body.matches(of: try Regex(#"(?s)<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>"#)) {
                let first = select.output[2].substring!.firstMatch(of: try Regex(#"<option value="([^"]*)""#))?.output[1].substring.map(unescaped) ?? ""
                fields.append((String(select.output[1].substring!), first))
            }
            forms.append((action, fields))
        }
        return forms
    }

    @Test("markup typed into any field of any form of the client, lot and technician pages comes back as text, recorded or refused")
    func markupInEveryField() async throws {
        let chain = try await Self.chain()
        let admin = try await chain.session(.admin)
        try await admin.setPassword(of: "admin", to: Self.password)
        let enrolment = try await admin.enrolSecondFactor(of: "admin")
        let markup = #"<script>alert(1)</script><img src=x onerror=alert(2)>"#
        let json = #"\u003cscript\u003ealert(1)\u003c/script\u003e\u003cimg src=x onerror=alert(2)\u003e"#
        // Stored free text where the pages show it: a technician's name, a lot's maker and
        // product, a consultation's notes and hairline design.
        for line in [
            #"{"command":"record","stream":"technician-19","type":"TechnicianRegistered","data":{"registeredAt":"2026-02-02T09:00:00Z","personal":{"name":"\#(json)"}}}"#,
            #"{"command":"record","stream":"technician-19","type":"TechnicianAssignedToClinic","data":{"clinicId":"toronto","fromDay":"2026-02-02"}}"#,
            #"{"command":"record","stream":"batch-PB-9~script-alert-1-script-img-src-x","type":"BatchReceived","data":{"lot":"PB-9","kind":"BATCH_KIND_PIGMENT","manufacturer":"\#(json)","product":"\#(json)","shade":"SMP Black","expiry":"2027-05-31","clinicId":"toronto","quantity":1,"receivedAt":"2026-02-05T09:00:00Z"}}"#,
            #"{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"clinicId":"toronto","consultantId":"17","consultedAt":"2026-02-21T10:00:00Z","norwoodStage":"III","fitzpatrickType":3,"estimatedSessions":3,"hairlineDesign":"\#(json)","personal":{"notes":"\#(json)"}}}"#,
        ] {
            _ = try await chain.record(line)
        }
        try await Self.application(chain).test(.router) { client in
            let (headers, body) = Self.form([("name", "admin"), ("password", Self.password), ("code", SecondFactors.code(key: enrolment.key, at: TestChain.now))])
            let signedIn = try await client.execute(uri: "/sign-in", method: .post, headers: headers, body: body)
            let cookie = try #require(signedIn.headers[.setCookie]?.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last.map(String.init))
            var posted = 0
            for page in ["/clients/42", "/lots", "/lots/PB-1187", "/lots/PB-9", "/technicians", "/technicians/17", "/technicians/19"] {
                let shown = try await client.execute(uri: page, method: .get, headers: [.cookie: "stipple_session=" + cookie])
                #expect(shown.status == .ok, "\(page)")
                if ["/clients/42", "/lots/PB-9", "/technicians", "/technicians/19"].contains(page) {
                    #expect(String(buffer: shown.body).contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(page) shows the stored text, as text")
                }
                for (action, fields) in try Self.forms(in: String(buffer: shown.body), text: markup) {
                    let (headers, body) = Self.form(fields, cookie: cookie)
                    let answer = try await client.execute(uri: action, method: .post, headers: headers, body: body)
                    posted += 1
                    #expect(![.internalServerError, .forbidden].contains(answer.status), "\(action): \(answer.status)")
                    #expect(!String(buffer: answer.body).contains("<script>alert(1)"), "\(action) sent the markup back as markup")
                    #expect(!String(buffer: answer.body).contains("<img src=x"), "\(action)")
                }
                let again = try await client.execute(uri: page, method: .get, headers: [.cookie: "stipple_session=" + cookie])
                #expect(!String(buffer: again.body).contains("<script>alert(1)") && !String(buffer: again.body).contains("<img src=x"), "\(page) shows what was stored as markup")
            }
            #expect(posted >= 20, "the client's, lots' and technicians' forms were all sent (\(posted))")
        }
    }
}
