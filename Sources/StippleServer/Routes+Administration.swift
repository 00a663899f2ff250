import Discretion
import EventLog
import Foundation
import Hummingbird
import StippleService

extension StippleAPI {
    /// Users, keys, backups and the log's integrity.
    static var administration: [Route] {
        [
            Self.route(.get, "/v1/verify") { input, _ in
                let verification = try await input.session().verify()
                return JSONBody.response(verification.json)
            },
            Self.route(.get, "/v1/stats") { input, _ in
                let stats = try await input.session().stats()
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return JSONBody.response(try JSONValue.parse(Array(try encoder.encode(stats))))
            },
            Self.route(.get, "/v1/users") { input, _ in
                let users = try await input.session().users()
                return JSONBody.response(.array(users.map { user in
                    var object: [String: JSONValue] = [
                        "name": .string(user.name), "role": .string(user.role.rawValue), "clinics": .array(user.clinics.map { .string($0) }),
                        "disabled": .bool(user.disabled), "createdBy": .string(user.createdBy),
                    ]
                    if let rotated = user.tokenRotatedAt { object["tokenRotatedAt"] = .string(Timestamp.iso8601(seconds: Int64(rotated.timeIntervalSince1970))) }
                    return .object(object)
                }))
            },
            Self.route(.post, "/v1/users") { input, _ in
                let body = try await input.object()
                guard let name = body["name"]?.stringValue else { throw Problem.badRequest(#"give {"name", "role", "clinics"?}: the user's name is missing"#) }
                let (role, clinics) = try Self.access(in: body)
                let token = try await input.session().addUser(name, role: role, clinics: clinics)
                return JSONBody.response(.object(["name": .string(name), "role": .string(role.rawValue), "clinics": .array(clinics.map { .string($0) }), "token": .string(token)]), status: .created)
            },
            Self.route(.post, "/v1/users/{name}/access") { input, parameters in
                let (role, clinics) = try Self.access(in: try await input.object())
                try await input.session().changeAccess(of: try parameters.require("name"), role: role, clinics: clinics)
                return Response(status: .noContent)
            },
            Self.route(.post, "/v1/users/{name}/disable") { input, parameters in
                try await input.session().disableUser(try parameters.require("name"))
                return Response(status: .noContent)
            },
            Self.route(.post, "/v1/users/{name}/token") { input, parameters in
                let name = try parameters.require("name")
                let token = try await input.session().rotateToken(of: name)
                return JSONBody.response(.object(["name": .string(name), "token": .string(token)]), status: .created)
            },
            Self.route(.post, "/v1/dictionaries") { input, _ in
                guard let report = try await input.session().trainDictionary() else {
                    return JSONBody.response(.object(["trained": .bool(false)]))
                }
                return JSONBody.response(.object([
                    "trained": .bool(true), "codec": .int(Int64(report.codecID)), "dictionaryBytes": .int(Int64(report.dictionaryBytes)),
                    "samples": .int(Int64(report.samples)), "ratioBefore": .double(report.ratioBefore), "ratioAfter": .double(report.ratioAfter),
                ]), status: .created)
            },
            Self.route(.post, "/v1/keys/rotation") { input, _ in
                let count = try await input.session().rotateMasterKey()
                return JSONBody.response(.object(["rewrapped": .int(Int64(count))]))
            },
            Self.route(.post, "/v1/backups") { input, _ in
                let body = try await input.object()
                if body["path"] != nil {
                    throw Problem.badRequest(#"the server writes backups only into its backup folder (stipple serve --backup-folder): give {"name": "stipple-2026-12-02.sqlite"}, a new file's name, not a path"#)
                }
                guard let name = body["name"]?.stringValue, !name.isEmpty else { throw Problem.badRequest(#"give {"name": "…"}: a new file's name in the server's backup folder"#) }
                let (path, report) = try await input.session().backup(named: name)
                return JSONBody.response(.object([
                    "path": .string(path), "events": .int(report.eventCount), "headPosition": .int(report.head.position), "headHash": .string(report.head.hashHex),
                ]), status: .created)
            },
        ]
    }

    /// A body's `role` and `clinics` (a new user's, or a change of them).
    static func access(in body: [String: JSONValue]) throws -> (Role, [String]) {
        guard let roleName = body["role"]?.stringValue, let role = Role(rawValue: roleName) else {
            throw Problem.badRequest(#""role" must be one of \#(Role.allCases.map(\.rawValue).joined(separator: ", "))"#)
        }
        var clinics: [String] = []
        if let given = body["clinics"] {
            guard case .array(let items) = given, items.allSatisfy({ $0.stringValue != nil }) else { throw Problem.badRequest(#""clinics" must be an array of clinic ids"#) }
            clinics = items.compactMap(\.stringValue)
        }
        return (role, clinics)
    }
}
