import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StippleService
import Treatment

extension HTTPField.Name {
    /// Why the caller looks at a record: kept in the access log (never in the URL, which
    /// proxies log).
    static let purpose = HTTPField.Name("Stipple-Purpose")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}

/// What routes read from a request: the session its token opens, the purpose, the body
/// as JSON, query parameters. They parse; the session decides.
struct HTTPInput {
    let request: Request
    let service: StippleService.Service
    let configuration: ServerConfiguration

    /// The session of the bearer token (every check is the application layer's).
    func session() async throws -> Session {
        var token: String?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw ServiceError(.denied, "refused: give the token as `Authorization: Bearer <token>`", detail: .unauthenticated)
            }
            token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        return try await service.authenticate(token)
    }

    var purpose: String? { request.headers[.purpose] }

    /// The body, at most the configured size, which must be JSON.
    func body() async throws -> [UInt8] {
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard type == "application/json" else {
            throw Problem(status: .unsupportedMediaType, type: "unsupported-media-type", detail: "send the body as application/json, not \(type ?? "no content type")")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
        return Array(buffer.readableBytesView)
    }

    /// The body's JSON array: one object per item (item N is "line" N in errors), and the
    /// body's bytes (an idempotency key's fingerprint).
    func items() async throws -> (items: [JSONValue], raw: [UInt8]) {
        let raw = try await body()
        let value: JSONValue
        do { value = try JSONValue.parse(raw) } catch { throw Problem.badRequest(error.description) }
        guard case .array(let items) = value else { throw Problem.badRequest("the body must be a JSON array of objects, not \(value.kindName)") }
        guard !items.isEmpty else { throw Problem.badRequest("the array is empty: give at least one object") }
        return (items, raw)
    }

    /// The body's JSON object.
    func object() async throws -> [String: JSONValue] {
        let raw = try await body()
        let value: JSONValue
        do { value = try JSONValue.parse(raw) } catch { throw Problem.badRequest(error.description) }
        guard case .object(let object) = value else { throw Problem.badRequest("the body must be a JSON object, not \(value.kindName)") }
        return object
    }

    /// The idempotency key of a write, with the fingerprint of its body.
    func idempotency(body: [UInt8]) -> Idempotency? {
        request.headers[.idempotencyKey].map { Idempotency(key: $0, fingerprint: Idempotency.fingerprint(of: body)) }
    }

    // MARK: - Query parameters

    func query(_ name: String) -> String? { request.uri.queryParameters[name[...]].map(String.init) }

    func integer(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = query(name) else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw Problem.badRequest("query parameter \(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    func day(_ name: String) throws -> Day? {
        guard let text = query(name) else { return nil }
        guard let day = Day(text) else { throw Problem.badRequest("query parameter \(name) must be a day such as 2026-03-14, not \"\(text)\"") }
        return day
    }

    func requiredDay(_ name: String) throws -> Day {
        guard let day = try day(name) else { throw Problem.badRequest("query parameter \(name) is missing (a day such as 2026-03-14)") }
        return day
    }

    func bool(_ name: String) throws -> Bool {
        switch query(name) {
        case nil, "false"?: return false
        case "true"?: return true
        case let other?: throw Problem.badRequest("query parameter \(name) must be true or false, not \"\(other)\"")
        }
    }
}

/// JSON responses.
enum JSONBody {
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        var bytes = value.canonicalBytes
        bytes.append(0x0A)
        return Response(
            status: status, headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Where each event landed, as `stipple do` prints them.
    static func appended(_ recorded: Recorded) -> JSONValue {
        .array(recorded.events.map(EventJSON.appended))
    }
}
