import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import StippleService

/// An error rendered as RFC 9457 problem details (`application/problem+json`): a `type`
/// per kind of error, the status, the sentence, and the facts a caller needs (the rules
/// broken with their fields, a conflict's stream and versions, the line of the input).
struct Problem: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var type: String
    var title: String
    var detail: String
    var extra: [String: JSONValue] = [:]
    var headers: HTTPFields = [:]

    /// The problem of a use case's error: its kind decides the status.
    init(_ error: ServiceError) {
        detail = error.message
        switch error.kind {
        case .badInput: (status, type, title) = (.badRequest, "bad-input", "The request is not valid")
        case .notFound: (status, type, title) = (.notFound, "not-found", "Not found")
        case .conflict: (status, type, title) = (.conflict, "conflict", "The stream has moved on")
        case .refused: (status, type, title) = (.unprocessableContent, "refused", "Refused by the rules")
        case .denied: (status, type, title) = (.forbidden, "denied", "Not allowed")
        case .failure: (status, type, title) = (.internalServerError, "failure", "The server failed")
        }
        switch error.detail {
        case .none: break
        case .line(let line): extra["line"] = .int(Int64(line))
        case .field(let field): extra["field"] = .string(field)
        case .violations(let violations, let line):
            extra["violations"] = .array(violations.map { violation in
                var object: [String: JSONValue] = ["rule": .string(violation.rule.rawValue), "message": .string(violation.message)]
                if let field = violation.field { object["field"] = .string(field) }
                return .object(object)
            })
            if let line { extra["line"] = .int(Int64(line)) }
        case .conflict(let stream, let expected, let actual, let line):
            extra["stream"] = .string(stream)
            extra["expected"] = .string(expected.description)
            extra["actual"] = .int(actual)
            if let line { extra["line"] = .int(Int64(line)) }
        case .purposeRequired(let what):
            (type, title) = ("purpose-required", "Say why you look")
            detail = error.message.replacingOccurrences(of: "(the purpose is kept in the access log)", with: "in the Stipple-Purpose header (it is kept in the access log)")
            if case .client(let client) = what { extra["client"] = .string(client) }
        case .denied(let permission): extra["permission"] = .string(permission.rawValue)
        case .unauthenticated:
            (status, type, title) = (.unauthorized, "unauthenticated", "A valid token is needed")
            headers[.wwwAuthenticate] = #"Bearer realm="stipple""#
        case .idempotencyKeyReused:
            (status, type, title) = (.unprocessableContent, "idempotency-key-reused", "The idempotency key was used for another request")
        case .locked:
            (status, type, title) = (.unauthorized, "unauthenticated", "A valid token is needed")
        case .throttled(let seconds):
            (status, type, title) = (.tooManyRequests, "throttled", "Too many failed sign-ins")
            headers[.retryAfter] = String(seconds)
        }
    }

    /// The problem of an HTTP-level refusal (no such route, a body too large …).
    init(status: HTTPResponse.Status, type: String, detail: String) {
        self.status = status
        self.type = type
        self.title = status.reasonPhrase
        self.detail = detail
    }

    /// Whether the request is a person's browser on the pages (not the API): the error is
    /// then a page.
    static func wantsPage(_ request: Request) -> Bool {
        let path = request.uri.path
        guard !path.hasPrefix("/v1/"), path != "/v1", !path.hasPrefix("/openapi"), !["/healthz", "/readyz", "/metrics"].contains(path) else { return false }
        return request.headers[.accept]?.contains("text/html") == true || request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true
    }

    /// The error as a small page (its words escaped).
    func page() -> Response {
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
                .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
        }
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(escaped(title)) · Stipple</title><link rel="stylesheet" href="/static/stipple.css"></head>\
            <body><main class="narrow"><h1>\(escaped(title))</h1><p class="error" role="alert">\(escaped(detail))</p>\
            <p><a href="/">Back to Stipple</a></p></main></body></html>
            """
        var response = WebPages.html(html, status: status)
        response.headers.append(contentsOf: headers.filter { $0.name != .wwwAuthenticate })
        return response
    }

    static func badRequest(_ detail: String) -> Problem { Problem(status: .badRequest, type: "bad-input", detail: detail) }

    var json: JSONValue {
        var object = extra
        object["type"] = .string("/problems/" + type)
        object["title"] = .string(title)
        object["status"] = .int(Int64(status.code))
        object["detail"] = .string(detail)
        return .object(object)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        if Self.wantsPage(request) { return page() }
        var response = JSONBody.response(json, status: status, contentType: "application/problem+json")
        response.headers.append(contentsOf: headers)
        return response
    }

    /// Every kind, for the `/problems/{type}` pages and the API document.
    static let types: [String: String] = [
        "bad-input": "The request is not valid: a field, a line, a value. `detail` names it (and `line` the object of an array).",
        "not-found": "The client, lot, clinic, report or route named does not exist (or is not yours to know of).",
        "conflict": "A stream moved on since the command was decided: read again and decide again.",
        "refused": "The domain's rules refused the command: every rule broken is in `violations`.",
        "denied": "A permission the user lacks; refusals about a client say nothing of whether it exists.",
        "unauthenticated": "No valid bearer token: none, malformed, unknown, rotated, or a disabled user.",
        "purpose-required": "A confidential record (or the whole log once it holds one): say why in the Stipple-Purpose header.",
        "idempotency-key-reused": "The Idempotency-Key was given before with another request.",
        "unsupported-media-type": "A body must be application/json.",
        "too-large": "The body is larger than the server reads.",
        "method-not-allowed": "The route exists, but not with this method.",
        "failure": "The server failed (disk full, damaged file): nothing the request can fix.",
    ]
}

/// Turns every error into problem details, so no route builds an error body by hand.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let error as ServiceError {
            return try Problem(error).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let problem: Problem
            switch error.status {
            case .notFound: problem = Problem(status: .notFound, type: "not-found", detail: "there is no route \(request.method) \(request.uri.path)")
            case .contentTooLarge: problem = Problem(status: .contentTooLarge, type: "too-large", detail: "the body is larger than this server reads")
            case .methodNotAllowed: problem = Problem(status: .methodNotAllowed, type: "method-not-allowed", detail: "\(request.uri.path) does not take \(request.method)")
            default: problem = Problem(status: error.status, type: "bad-input", detail: error.status.reasonPhrase)
            }
            return try problem.response(from: request, context: context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return try Problem(ServiceError(error)).response(from: request, context: context)
        }
    }
}
