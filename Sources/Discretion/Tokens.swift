import Crypto
import EventLog
import Foundation

/// Access tokens: 32 random bytes shown once (`stp_` and base64url), stored only as their
/// SHA-256, so the database never holds what opens it.
public enum Tokens {
    static let prefix = "stp_"

    /// A new token and the hash to store.
    package static func generate() -> (token: String, hash: String) {
        let token = prefix + random(bytes: 32)
        return (token, hash(token))
    }

    /// `bytes` random bytes from the system's generator, as base64url without padding.
    package static func random(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The stored form of a token (lower-case hex SHA-256 of its text).
    package static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).hexString
    }

    /// Whether `text` has a token's shape (a typo is told apart from a wrong token).
    package static func looksLikeToken(_ text: String) -> Bool {
        text.hasPrefix(prefix) && text.count == prefix.count + 43
            && text.dropFirst(prefix.count).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }
}
