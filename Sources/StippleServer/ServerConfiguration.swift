import Foundation
import Prometheus

/// How `stipple serve` listens and what it bounds.
public struct ServerConfiguration: Sendable {
    /// The address to listen on (default loopback: one server per chain, behind TLS).
    public var hostname = "127.0.0.1"
    public var port = 8080
    /// PEM files of the certificate chain and its private key; `nil`: plain HTTP.
    public var tls: (certificate: String, key: String)?
    /// Listen without TLS on an address other clinics can reach (only when told).
    public var insecureHTTP = false
    /// The largest request body read (bigger ones get 413 before anything is parsed).
    public var maxBodyBytes = 8 << 20
    /// A connection idle this long is closed (a stuck client holds no more than a socket:
    /// the log's writer is only taken once a whole body is read).
    public var idleTimeout: Duration = .seconds(60)
    /// The longest a feed request may wait for new events.
    public var maxFeedWait: Duration = .seconds(30)
    /// How far behind the log the projections may be for `/readyz`.
    public var readyLag: Int64 = 10_000
    /// Where `/metrics` reads from: the registry the process's metrics were bootstrapped
    /// with (`nil`: none, `/metrics` is empty).
    public var metrics: PrometheusCollectorRegistry?

    public init() {}

    /// Whether `hostname` is a loopback address.
    public var isLoopback: Bool {
        ["127.0.0.1", "::1", "localhost"].contains(hostname) || hostname.hasPrefix("127.")
    }

    /// Refuses to listen on a reachable address without TLS, unless told.
    ///
    /// - Throws: ``ServerConfigurationError``.
    public func validate() throws {
        if !isLoopback && tls == nil && !insecureHTTP { throw ServerConfigurationError.plainHTTPOnNetwork(hostname) }
        guard (0...65_535).contains(port) else { throw ServerConfigurationError.badPort(port) }
        if let tls {
            for path in [tls.certificate, tls.key] where !FileManager.default.isReadableFile(atPath: path) {
                throw ServerConfigurationError.unreadableTLSFile(path)
            }
        }
    }
}

/// A server configuration that cannot be used.
public enum ServerConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    case plainHTTPOnNetwork(String)
    case badPort(Int)
    case unreadableTLSFile(String)

    public var description: String {
        switch self {
        case .plainHTTPOnNetwork(let host):
            return "refusing to serve plain HTTP on \(host), where other machines can reach it: give --tls-cert and --tls-key (PEM), put a TLS proxy in front and listen on 127.0.0.1, or pass --insecure-http if you really mean it"
        case .badPort(let port):
            return "--port must be 0 to 65535, not \(port)"
        case .unreadableTLSFile(let path):
            return "cannot read \(path): give a PEM file this user can read"
        }
    }
}
