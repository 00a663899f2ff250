import Hummingbird
import Logging

/// One log line per request, in metadata: method, the route's template (never the path,
/// which holds client ids), status and milliseconds. No personal data, no token, no query.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        context.logger.info("request", metadata: [
            "http.method": "\(request.method)",
            "http.route": "\(context.endpointPath ?? "unknown")",
            "http.status": "\(response.status.code)",
            "duration_ms": "\(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1_000)",
        ])
        return response
    }
}
