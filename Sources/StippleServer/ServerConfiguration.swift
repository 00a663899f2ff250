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
    /// The addresses of reverse proxies in front of the server: a request from one of them
    /// is counted (for sign-in throttling) under the address its `X-Forwarded-For` gives.
    public var trustedProxies: Set<String> = []
    /// The address people open the pages at (`https://stipple.example.ca`), which invite
    /// links are built on; `nil`: the address the admin's own request came to (right
    /// without a proxy, or with one that keeps the Host header).
    public var publicURL: String?

    public init() {}

    /// A request's client address: the peer's, or for a peer that is a trusted proxy the last
    /// address of `X-Forwarded-For` that is not itself a trusted proxy (the entries before
    /// it are the client's own to write, so they are not believed; a hop that is no address
    /// leaves the proxy's).
    public func clientAddress(peer: String?, forwardedFor: [String]) -> String {
        guard let peer else { return "unknown" }
        guard trustedProxies.contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !trustedProxies.contains(hop) {
            return Self.isIPAddress(hop) ? hop : peer
        }
        return peer
    }

    /// Whether `text` is an IPv4 or IPv6 address as written (no name, no port).
    public static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

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
        for proxy in trustedProxies where !Self.isIPAddress(proxy) { throw ServerConfigurationError.badProxy(proxy) }
        if let publicURL {
            let url = URL(string: publicURL)
            guard let url, ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false, url.query == nil, url.fragment == nil,
                  url.path.isEmpty || url.path == "/" else {
                throw ServerConfigurationError.badPublicURL(publicURL)
            }
        }
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
    case badProxy(String)
    case unreadableTLSFile(String)
    case badPublicURL(String)

    public var description: String {
        switch self {
        case .plainHTTPOnNetwork(let host):
            return "refusing to serve plain HTTP on \(host), where other machines can reach it: give --tls-cert and --tls-key (PEM), put a TLS proxy in front and listen on 127.0.0.1, or pass --insecure-http if you really mean it"
        case .badPort(let port):
            return "--port must be 0 to 65535, not \(port)"
        case .badProxy(let text):
            return "--trusted-proxy takes the proxy's IP address as it connects (e.g. 127.0.0.1 or ::1), not \"\(text)\""
        case .unreadableTLSFile(let path):
            return "cannot read \(path): give a PEM file this user can read"
        case .badPublicURL(let text):
            return "--public-url takes the address people open the pages at, scheme and host only (e.g. https://stipple.example.ca), not \"\(text)\""
        }
    }
}
