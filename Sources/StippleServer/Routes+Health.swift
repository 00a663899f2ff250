import EventLog
import Foundation
import Hummingbird
import NIOCore
import Prometheus
import StippleService

extension StippleAPI {
    /// Probes, metrics and the API's own description: no token needed, no record shown.
    static var health: [Route] {
        [
            Self.route(.get, "/healthz") { _, _ in JSONBody.response(.object(["status": .string("up")])) },
            Self.route(.get, "/readyz") { input, _ in
                let readiness = await input.service.readiness(maxLag: input.configuration.readyLag)
                return JSONBody.response(readiness.json, status: readiness.isReady ? .ok : .serviceUnavailable)
            },
            Self.route(.get, "/metrics") { input, _ in
                // The projections' lag is read when asked for, not kept current by a timer.
                if let registry = input.configuration.metrics {
                    if let lag = try? await input.service.projectionLag() { registry.makeGauge(descriptor: MetricNameDescriptor(
                        namespace: "stipple", metricName: "projection_lag", unitName: "events",
                        helpText: "Events recorded that the report projections have not folded yet.")).set(Double(lag)) }
                    var bytes: [UInt8] = []
                    registry.emit(into: &bytes)
                    return Response(
                        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
                }
                return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"])
            },
            Self.route(.get, "/openapi.json") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: APIDocument.bytes)))
            },
            Self.route(.get, "/problems/{type}") { _, parameters in
                let type = try parameters.require("type")
                guard let text = Problem.types[type] else { throw Problem(status: .notFound, type: "not-found", detail: "there is no problem type \(type)") }
                return JSONBody.response(.object(["type": .string("/problems/" + type), "description": .string(text)]))
            },
        ]
    }
}

/// The committed API document (`Sources/StippleServer/openapi.json`), served as it is.
enum APIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else { return Array("{}".utf8) }
        return Array(data)
    }()
}
