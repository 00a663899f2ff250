import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StippleServer
import StippleService
import StippleTesting
import Testing

/// The API in-process (HummingbirdTesting's router client): it maps the application
/// layer's error kinds to statuses and problem details, and renders what the use cases
/// return. The policy itself is the application layer's, tested there.
struct API {
    let chain: TestChain

    init() async throws {
        chain = try await TestChain.make { $0.projectionUpkeep = .background(readYourWrites: .seconds(5)) }
    }

    func application() throws -> some ApplicationProtocol {
        try buildApplication(service: chain.service, configuration: ServerConfiguration(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    func headers(_ user: TestUser?, json: Bool = true, purpose: String? = nil, key: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [:]
        if let user { headers[.authorization] = "Bearer " + chain.tokens[user]! }
        if json { headers[.contentType] = "application/json" }
        if let purpose { headers[HTTPField.Name("Stipple-Purpose")!] = purpose }
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return headers
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONValue.parse(Array(response.body.readableBytesView))
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? { objectValue?[key] }
    var intValue: Int64? { if case .int(let value) = self { return value } else { return nil } }
}

@Suite("HTTP API")
struct ServerTests {
    static let consent = #"[{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v5","coversProcedure":true}}]"#

    @Test("a write answers 201 with the events as do prints them; a retry with its Idempotency-Key records nothing again")
    func commands() async throws {
        let api = try await API()
        try await api.application().test(.router) { client in
            let first = try await client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.clinician, key: "retry-1"), body: ByteBuffer(string: Self.consent))
            #expect(first.status == .created)
            let events = try #require(try API.json(first).arrayValue)
            #expect(events.count == 1 && events[0]["stream"] == .string("client-42"))
            let again = try await client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.clinician, key: "retry-1"), body: ByteBuffer(string: Self.consent))
            #expect(again.status == .ok)
            #expect(try API.json(again).arrayValue?.first?["position"] == events[0]["position"])
            #expect(try API.json(again).arrayValue?.first?["alreadyStored"] == .bool(true))
            let other = try await client.execute(
                uri: "/v1/commands", method: .post, headers: api.headers(.clinician, key: "retry-1"), body: ByteBuffer(string: Self.consent.replacingOccurrences(of: "v5", with: "v4")))
            #expect(other.status == .unprocessableContent)
            #expect(try API.json(other)["type"] == .string("/problems/idempotency-key-reused"))
        }
    }

    @Test("a backup goes into the server's backup folder, under the name given")
    func backupByName() async throws {
        let api = try await API()
        try await api.application().test(.router) { client in
            let response = try await client.execute(uri: "/v1/backups", method: .post, headers: api.headers(.admin), body: ByteBuffer(string: #"{"name":"copy-1.sqlite"}"#))
            #expect(response.status == .created, "\(String(buffer: response.body))")
            let path = api.chain.folder.file("backups/copy-1.sqlite")
            #expect(try API.json(response)["path"] == .string(path))
            #expect(FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("errors are problem details with the status of their kind", arguments: [
        // (user, uri, method, body, content type json, status, problem type)
        (nil as TestUser?, "/v1/stats", "GET", nil as String?, true, 401, "unauthenticated"),
        (TestUser.reception, "/v1/commands", "POST", #"[{"command":"record","stream":"client-42","type":"ConsentSigned","data":{}}]"#, true, 403, "denied"),
        (.clinician, "/v1/commands", "POST", #"[{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"fitzpatrickType":9}}]"#, true, 422, "refused"),
        (.admin, "/v1/commands", "POST", #"[{"command":"record","stream":"clinic-toronto","type":"ClinicOpened","data":{"name":"again","openedOn":"2021-05-01"}}]"#, true, 409, "conflict"),
        (.admin, "/v1/commands", "POST", #"[{"command":"paint"}]"#, true, 400, "bad-input"),
        (.admin, "/v1/commands", "POST", #"{"command":"#, true, 400, "bad-input"),
        (.admin, "/v1/commands", "POST", Self.consent, false, 415, "unsupported-media-type"),
        (.admin, "/v1/no-such-route", "GET", nil, true, 404, "not-found"),
        (.admin, "/v1/clients/999/history", "GET", nil, true, 404, "not-found"),
        (.auditor, "/v1/clients/44/history", "GET", nil, true, 403, "purpose-required"),
        (.admin, "/v1/reports/paint", "GET", nil, true, 404, "not-found"),
        (.admin, "/v1/reports/workload", "GET", nil, true, 400, "bad-input"),
        (.admin, "/v1/backups", "POST", #"{"path":"/tmp/anywhere.sqlite"}"#, true, 400, "bad-input"),
        (.admin, "/v1/backups", "POST", #"{"name":"../anywhere.sqlite"}"#, true, 400, "bad-input"),
        (.clinician, "/v1/backups", "POST", #"{"name":"mine.sqlite"}"#, true, 403, "denied"),
    ] as [(TestUser?, String, String, String?, Bool, Int, String)])
    func problems(user: TestUser?, uri: String, method: String, body: String?, json: Bool, status: Int, type: String) async throws {
        let api = try await API()
        let before = try await api.chain.head()
        try await api.application().test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: HTTPRequest.Method(method)!, headers: api.headers(user, json: json), body: body.map { ByteBuffer(string: $0) })
            #expect(response.status.code == status, "\(String(buffer: response.body))")
            #expect(response.headers[.contentType] == "application/problem+json")
            let problem = try API.json(response)
            #expect(problem["type"] == .string("/problems/" + type))
            #expect(problem["status"] == .int(Int64(status)))
            #expect(problem["detail"]?.stringValue?.isEmpty == false)
            if status == 401 { #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="stipple""#) }
            if status == 422 { #expect(problem["violations"]?.arrayValue?.isEmpty == false) }
            if status == 409 { #expect(problem["stream"] == .string("clinic-toronto") && problem["actual"] == .int(1)) }
        }
        #expect(try await api.chain.head() == before, "a refused request writes nothing")
    }

    @Test("reads: a confidential history with its purpose; the log's feed; a report sees the reader's own write")
    func reads() async throws {
        let api = try await API()
        let upkeep = Task { await api.chain.service.keepProjectionsCurrent() }
        defer { upkeep.cancel() }
        try await api.application().test(.router) { client in
            let history = try await client.execute(uri: "/v1/clients/44/history", method: .get, headers: api.headers(.auditor, purpose: "yearly audit"))
            #expect(history.status == .ok)
            #expect(try API.json(history)["sections"]?.arrayValue?.first?["title"]?.stringValue?.contains("C. Client") == true)
            let page = try await client.execute(uri: "/v1/events?from=1&limit=5", method: .get, headers: api.headers(.admin, purpose: "integration"))
            #expect(page.status == .ok)
            #expect(try API.json(page)["events"]?.arrayValue?.count == 5)
            #expect(try API.json(page)["next"] == .int(6))
            let session = #"[{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}]"#
            #expect(try await client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.admin), body: ByteBuffer(string: session)).status == .created)
            let records = try await client.execute(uri: "/v1/reports/records?from=2026-03-01&to=2026-03-31", method: .get, headers: api.headers(.admin))
            #expect(records.status == .ok)
            #expect(try API.json(records)["sections"]?.arrayValue?.first?["rows"]?.arrayValue?.count == 1, "read-your-writes")
            // The feed waits for the next event.
            let stats = try await client.execute(uri: "/v1/stats", method: .get, headers: api.headers(.admin))
            let head = try #require(try API.json(stats)["headPosition"]?.intValue)
            async let waited = client.execute(uri: "/v1/events?from=\(head + 1)&wait=10", method: .get, headers: api.headers(.admin, purpose: "integration"))
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.clinician), body: ByteBuffer(string: Self.consent))
            let fed = try await waited
            #expect(try API.json(fed)["events"]?.arrayValue?.map { $0["type"] } == [.string("ConsentSigned")], "\(String(buffer: fed.body))")
        }
    }

    @Test("probes answer without a token; /readyz says why it is not ready")
    func probes() async throws {
        let api = try await API()
        try await api.application().test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok, "\(String(buffer: ready.body))")
            #expect(try await client.execute(uri: "/openapi.json", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/problems/refused", method: .get).status == .ok)
        }
    }

    @Test("the API document describes every route, and nothing else")
    func document() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/StippleServer/openapi.json")
        let document = try JSONValue.parse(Array(try Data(contentsOf: url)))
        #expect(document["openapi"] == .string("3.1.0"))
        guard case .object(let paths)? = document["paths"] else {
            Issue.record("no paths")
            return
        }
        var documented: Set<String> = []
        for (path, item) in paths {
            for method in item.objectValue?.keys ?? [:].keys { documented.insert(method.uppercased() + " " + path) }
        }
        let served = Set(StippleAPI.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served, "documented only: \(documented.subtracting(served).sorted()); served only: \(served.subtracting(documented).sorted())")
    }
}

@Suite("HTTP API: bad input, faults and attacks")
struct ServerFaultTests {
    @Test("tokens: missing, malformed, wrong scheme, unknown, rotated, disabled: 401 with the reason")
    func tokens() async throws {
        let api = try await API()
        let admin = try await api.chain.session(.admin)
        let old = api.chain.tokens[.clinician]!
        _ = try await admin.rotateToken(of: TestUser.clinician.rawValue)
        try await admin.disableUser(TestUser.otherClinician.rawValue)
        try await api.application().test(.router) { client in
            for (authorization, reason) in [
                (nil, "no access token"), ("Bearer hunter2", "not a Stipple access token"), ("Basic YWRtaW46YWRtaW4=", "Authorization: Bearer"),
                ("Bearer stp_" + String(repeating: "A", count: 43), "not valid"), ("Bearer " + old, "not valid"),
                ("Bearer " + api.chain.tokens[.otherClinician]!, "is disabled"),
            ] as [(String?, String)] {
                var headers: HTTPFields = [:]
                if let authorization { headers[.authorization] = authorization }
                let response = try await client.execute(uri: "/v1/stats", method: .get, headers: headers)
                #expect(response.status == .unauthorized, "\(authorization ?? "none")")
                #expect(try API.json(response)["detail"]?.stringValue?.contains(reason) == true, "\(String(buffer: response.body))")
            }
        }
    }

    @Test("a body over the limit is refused with 413 before it is parsed; an unknown method on a route, 405 or 404")
    func limits() async throws {
        let api = try await API()
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = 1_000
        let application = try buildApplication(service: api.chain.service, configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await application.test(.router) { client in
            let big = "[" + Array(repeating: ServerTests.consent.dropFirst().dropLast(), count: 20).joined(separator: ",") + "]"
            let response = try await client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.admin), body: ByteBuffer(string: big))
            #expect(response.status == .contentTooLarge)
            #expect(try API.json(response)["type"] == .string("/problems/too-large"))
            let method = try await client.execute(uri: "/v1/stats", method: .delete, headers: api.headers(.admin))
            #expect([.methodNotAllowed, .notFound].contains(method.status))
            #expect(method.headers[.contentType] == "application/problem+json")
        }
    }

    @Test("two writers deciding on the same stream version: one records, the other gets 409 naming the stream and both versions")
    func concurrentConflict() async throws {
        let api = try await API()
        let line = #"[{"command":"record","stream":"client-42","type":"ConsentSigned","expectedVersion":2,"data":{"formId":"smp-consent","formVersion":"v5","coversProcedure":true}}]"#
        try await api.application().test(.router) { client in
            async let first = client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.clinician), body: ByteBuffer(string: line))
            async let second = client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.admin), body: ByteBuffer(string: line))
            let statuses = [try await first, try await second].map(\.status).sorted { $0.code < $1.code }
            #expect(statuses == [.created, .conflict])
        }
    }

    @Test("a full disk during a request: a clean 5xx problem, nothing written, and reads still served")
    func fullDisk() async throws {
        let chain = try await TestChain.make()
        let pages = try await chain.session(.admin).stats().databaseBytes / 4_096
        try chain.service.close()
        var configuration = chain.configuration
        configuration.log.maxPageCount = Int(pages) + 2
        configuration.projectionUpkeep = .background(readYourWrites: .milliseconds(100))
        let service = try await Service.open(configuration)
        let application = try buildApplication(service: service, configuration: ServerConfiguration(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let api = API(chain: chain)
        try await application.test(.router) { client in
            var refused: TestResponse?
            for round in 0..<200 where refused == nil {
                let body = #"[{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"clinicId":"toronto","consultantId":"17","consultedAt":"2026-02-21T10:00:00Z","hairLossType":"HAIR_LOSS_TYPE_ANDROGENETIC","norwoodStage":"IV","fitzpatrickType":3,"estimatedSessions":3,"hairlineDesign":"v\#(round)-\#(String(repeating: "x", count: 4_000))"}}]"#
                let response = try await client.execute(uri: "/v1/commands", method: .post, headers: api.headers(.admin), body: ByteBuffer(string: body))
                if response.status != .created { refused = response }
            }
            let full = try #require(refused)
            #expect(full.status == .internalServerError)
            #expect(try API.json(full)["detail"]?.stringValue?.contains("full") == true, "\(String(buffer: full.body))")
            for uri in ["/v1/stats", "/v1/streams/batch-PB-1187~perma-blend", "/v1/reports/workload?from=2026-03-01&to=2026-03-31", "/readyz"] {
                let read = try await client.execute(uri: uri, method: .get, headers: api.headers(.admin))
                #expect(read.status == .ok, "reads go on: \(uri) \(String(buffer: read.body))")
            }
            // A client's record is not shown when its reading cannot be logged.
            let history = try await client.execute(uri: "/v1/clients/42/history", method: .get, headers: api.headers(.admin))
            #expect(history.status == .internalServerError)
            #expect(try API.json(history)["detail"]?.stringValue?.contains("full") == true)
            let verify = try await client.execute(uri: "/v1/verify", method: .get, headers: api.headers(.admin))
            #expect(try API.json(verify)["intact"] == .bool(true))
        }
    }
}

extension API {
    init(chain: TestChain) { self.chain = chain }
}
