import EventLog
import Foundation
import Hummingbird
import StippleService

extension StippleAPI {
    /// Reading: a stream, the log (and its feed), a client's history, access log, export.
    static var reads: [Route] {
        [
            Self.route(.get, "/v1/streams/{stream}") { input, parameters in
                let read = try await input.session().readStream(
                    try parameters.require("stream"), from: try input.integer("from", in: 0...Int64.max), backward: try input.bool("backward"),
                    limit: Int(try input.integer("limit", in: 0...100_000) ?? 1_000), purpose: input.purpose)
                return JSONBody.response(.object([
                    "events": .array(read.events.map(\.json)), "personalSealed": .bool(read.personalSealed),
                ]))
            },
            // The log in pages, and its feed: with `wait`, an empty page waits for new events.
            Self.route(.get, "/v1/events") { input, _ in
                let session = try await input.session()
                let from = try input.integer("from", in: 1...Int64.max) ?? 1
                let limit = Int(try input.integer("limit", in: 1...10_000) ?? 1_000)
                let wait = min(Duration.seconds(try input.integer("wait", in: 0...3_600) ?? 0), input.configuration.maxFeedWait)
                let deadline = ContinuousClock.now.advanced(by: wait)
                var page = try await session.readLog(from: from, limit: limit, purpose: input.purpose)
                while page.events.isEmpty, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    page = try await session.readLog(from: from, limit: limit, purpose: input.purpose)
                }
                let last = page.events.last?.event.position
                return JSONBody.response(.object([
                    "events": .array(page.events.map(\.json)), "personalSealed": .bool(page.personalSealed),
                    "next": .int(last.map { $0 + 1 } ?? from), "more": .bool(page.next != nil),
                ]))
            },
            Self.route(.get, "/v1/clients/{client}/history") { input, parameters in
                let report = try await input.session().history(client: try parameters.require("client"), asOf: try input.day("asOf"), purpose: input.purpose)
                return JSONBody.response(report.json)
            },
            Self.route(.get, "/v1/clients/{client}/access") { input, parameters in
                JSONBody.response(try await input.session().report(.access(client: try parameters.require("client"))).json)
            },
            Self.route(.get, "/v1/clients/{client}/export") { input, parameters in
                JSONBody.response(try await input.session().export(client: try parameters.require("client"), purpose: input.purpose))
            },
        ]
    }
}
