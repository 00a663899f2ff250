import EventLog
import Hummingbird
import StippleService

extension StippleAPI {
    /// Recording: commands (the `do` format, through every rule), imports, erasure.
    static var writes: [Route] {
        [
            Self.route(.post, "/v1/commands") { input, _ in
                let (items, raw) = try await input.items()
                let commands = try CommandLines.parse(objects: items)
                let recorded = try await input.session().record(commands, idempotency: input.idempotency(body: raw))
                let replayed = !recorded.events.isEmpty && recorded.events.allSatisfy(\.wasAlreadyStored)
                return JSONBody.response(JSONBody.appended(recorded), status: replayed ? .ok : .created)
            },
            Self.route(.post, "/v1/events") { input, _ in
                let (items, _) = try await input.items()
                let batch = try ImportLines.parse(objects: items)
                let recorded = try await input.session().importEvents(batch)
                return JSONBody.response(JSONBody.appended(recorded), status: .created)
            },
            Self.route(.post, "/v1/clients/{client}/erasure") { input, parameters in
                let body = try await input.object()
                guard let reason = body["reason"]?.stringValue else { throw Problem.badRequest(#"give {"reason": "…"}: why the data is erased (a request's reference, the legal basis)"#) }
                let recorded = try await input.session().erase(client: try parameters.require("client"), reason: reason)
                return JSONBody.response(JSONBody.appended(recorded), status: recorded.events.isEmpty ? .ok : .created)
            },
        ]
    }
}
