import EventLog
import Foundation
import Hummingbird
import Reports
import StippleService
import Treatment

extension StippleAPI {
    /// Reports (their CLI flags as query parameters), the projections' status, rebuilds.
    static var reports: [Route] {
        [
            Self.route(.get, "/v1/reports") { input, _ in
                let session = try await input.session()
                let statuses = try await session.projectionsStatus()
                let checks = try input.bool("check") ? try await session.checkReports() : []
                return JSONBody.response(.object([
                    "head": .int(statuses.first?.head ?? 0),
                    "projections": .array(statuses.map { status in
                        var object: [String: JSONValue] = [
                            "name": .string(status.name), "version": .int(Int64(status.version)), "summary": .string(status.summary),
                            "checkpoint": .int(status.live?.checkpoint ?? 0), "lag": .int(status.lag),
                            "rebuildPending": .bool(status.rebuildPending), "building": .bool(status.building != nil),
                        ]
                        if let check = checks.first(where: { $0.name == status.name }) {
                            object["tablesMatchTheLog"] = .bool(check.matches)
                            object["differingTables"] = .array(check.differingTables.map { .string($0) })
                        }
                        return .object(object)
                    }),
                ]))
            },
            Self.route(.get, "/v1/reports/{name}") { input, parameters in
                let name = try parameters.require("name")
                guard let report = ReportName(rawValue: name) else {
                    throw Problem(status: .notFound, type: "not-found", detail: "there is no report \(name) (reports: \(ReportName.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return JSONBody.response(try await input.session().report(try Self.request(report, input), purpose: input.purpose).json)
            },
            Self.route(.post, "/v1/rebuilds") { input, _ in
                let body = try await input.object()
                var names: [ProjectionName]?
                if let given = body["projections"] {
                    guard case .array(let items) = given else { throw Problem.badRequest(#""projections" must be an array of names, or left out for all"#) }
                    names = try items.map { item in
                        guard let text = item.stringValue, let name = ProjectionName(rawValue: text) else { throw ProjectionName.unknown(item.stringValue ?? item.canonicalString) }
                        return name
                    }
                }
                var options = RebuildOptions()
                if case .int(let chunk)? = body["chunk"] { options.chunk = Int(chunk) }
                if case .int(let pause)? = body["pauseMs"] { options.pause = .milliseconds(pause) }
                let summaries = try await input.session().rebuild(names, options: options)
                return JSONBody.response(.array(summaries.map { summary in
                    .object([
                        "name": .string(summary.name), "version": .int(Int64(summary.version)), "generation": .int(Int64(summary.generation)),
                        "resumed": .bool(summary.resumed), "checkpoint": .int(summary.checkpoint),
                    ])
                }))
            },
        ]
    }

    /// The report asked for, from its query parameters (the CLI's flags).
    static func request(_ name: ReportName, _ input: HTTPInput) throws -> ReportRequest {
        func range() throws -> (Day, Day) {
            let from = try input.requiredDay("from"), to = try input.requiredDay("to")
            if to < from { throw Problem.badRequest("the range is reversed: to \(to) is before from \(from)") }
            return (from, to)
        }
        switch name {
        case .workload:
            let (from, to) = try range()
            return .workload(from: from, to: to, clinic: input.query("clinic"))
        case .audit: return .audit(from: try input.day("from"), to: try input.day("to"))
        case .lot:
            guard let lot = input.query("lot") else { throw Problem.badRequest("query parameter lot is missing") }
            return .lot(lot)
        case .due:
            let months = Int(try input.integer("touchUpMonths", in: 1...240) ?? Int64(ClinicReports.defaultTouchUpMonths))
            return .due(on: try input.requiredDay("on"), touchUpMonths: months, clinic: input.query("clinic"))
        case .conversion:
            let (from, to) = try range()
            return .conversion(from: from, to: to)
        case .records:
            let (from, to) = try range()
            return .records(from: from, to: to)
        case .access:
            guard let client = input.query("client") else { throw Problem.badRequest("query parameter client is missing") }
            return .access(client: client)
        }
    }
}
