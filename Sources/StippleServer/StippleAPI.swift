import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import Metrics
import NIOSSL
import Prometheus
import Reports
import ServiceLifecycle
import StippleService
import Treatment

/// The HTTP API: every use case of the application layer under `/v1`, JSON in and out.
/// A route parses the request, calls the session its bearer token opens, and renders;
/// no rule, permission or access-log decision is made here.
public struct StippleAPI: Sendable {
    /// One route: what the API document describes, and what answers it.
    public struct Route: Sendable {
        public let method: HTTPRequest.Method
        /// The path as the API document writes it: `/v1/streams/{stream}`.
        public let path: String
        let handle: @Sendable (HTTPInput, Parameters) async throws -> Response
    }

    let service: StippleService.Service
    let configuration: ServerConfiguration

    public init(service: StippleService.Service, configuration: ServerConfiguration) {
        self.service = service
        self.configuration = configuration
    }

    /// Every route of the API.
    public static var routes: [Route] { writes + reads + reports + administration + health }

    /// The router: the API and the pages, problem details for every API error, a request
    /// log without personal data, and the security headers of every response.
    ///
    /// - Throws: ``WebPagesError`` when the pages' templates are missing from the build.
    public func router() throws -> Router<StippleRequestContext> {
        let router = Router(context: StippleRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        let service = self.service, configuration = self.configuration
        for route in Self.routes {
            let path = route.path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
            let handle = route.handle
            router.on(RouterPath(path), method: route.method) { request, context -> Response in
                try await handle(HTTPInput(request: request, service: service, configuration: configuration), context.parameters)
            }
        }
        try WebPages(service: service, configuration: configuration).addRoutes(to: router)
        return router
    }

    static func route(
        _ method: HTTPRequest.Method, _ path: String, _ handle: @escaping @Sendable (HTTPInput, Parameters) async throws -> Response
    ) -> Route {
        Route(method: method, path: path, handle: handle)
    }
}

/// The application `stipple serve` runs (and the tests): the API on the configured
/// address, TLS when given, and the projections kept current beside it.
///
/// - Throws: ``ServerConfigurationError`` (plain HTTP on a reachable address, a bad port,
///   unreadable TLS files), or the TLS library's error for a PEM it cannot read.
public func buildApplication(service: StippleService.Service, configuration: ServerConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    try buildApplication(service: service, configuration: configuration, logger: logger, api: StippleAPI(service: service, configuration: configuration))
}

func buildApplication(
    service: StippleService.Service, configuration: ServerConfiguration, logger: Logger, api: StippleAPI,
    listening: @escaping @Sendable (Int) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try configuration.validate()
    var http1 = HTTP1Channel.Configuration()
    http1.idleTimeout = .nanoseconds(Int64(configuration.idleTimeout.components.seconds) * 1_000_000_000)
    let server: HTTPServerBuilder
    if let tls = configuration.tls {
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        let tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        server = try .tls(.http1(configuration: http1), tlsConfiguration: tlsConfiguration)
    } else {
        server = .http1(configuration: http1)
    }
    return Application(
        router: try api.router(),
        server: server,
        configuration: ApplicationConfiguration(address: .hostname(configuration.hostname, port: configuration.port), serverName: "Stipple"),
        services: [ProjectionUpkeep(service: service)],
        onServerRunning: { channel in listening(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// Keeps the projections current while the server runs; stops with it, and stops the
/// background rebuilds then.
struct ProjectionUpkeep: ServiceLifecycle.Service {
    let service: StippleService.Service

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await service.keepProjectionsCurrent()
        }
        // A rebuild started from the pages stops where it is (the server has stopped by
        // now: the pages following it ended their event streams when shutdown began).
        await service.stopBackgroundWork()
    }
}

/// Runs the server until SIGTERM or SIGINT: stops accepting, finishes the requests in
/// flight, stops the projections' upkeep, then returns (the caller closes the log).
///
/// Metrics go to a Prometheus registry read by `/metrics` (the process's metrics system
/// is bootstrapped here, once).
///
/// - Parameter listening: called once the server listens, with its port (useful with port 0).
public func serve(
    service: StippleService.Service, configuration: ServerConfiguration, logger: Logger, listening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws {
    var configuration = configuration
    configuration.metrics = Metrics.registry
    let api = StippleAPI(service: service, configuration: configuration)
    try configuration.validate()
    let application = try buildApplication(service: service, configuration: configuration, logger: logger, api: api, listening: listening)
    try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
}

/// The process's metrics: bootstrapped once, whatever number of servers a process runs (tests).
enum Metrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
