import Crypto
import Foundation

/// Seals and opens a client's personal data with the client's own key (AES-256-GCM).
///
/// A sealed value is `0x01` (format version), then the 12-byte nonce, the ciphertext and
/// the 16-byte tag. The client's id is authenticated with it, so a value moved to another
/// client's record does not open.
public enum Sealing {
    static let version: UInt8 = 1

    /// A new random key for one client.
    package static func newClientKey() -> SymmetricKey { SymmetricKey(size: .bits256) }

    /// Seals `plaintext` for `client`; `context` (the event type) is authenticated too, so a
    /// sealed value cannot be moved to another kind of event of the same client.
    package static func seal(_ plaintext: [UInt8], client: String, context: String = "", key: SymmetricKey) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: authenticated(client, context))
        guard let combined = box.combined else { throw DiscretionError.unsealable(client: client, reason: "no nonce") }
        return [version] + Array(combined)
    }

    /// Opens a value sealed for `client`.
    ///
    /// - Throws: ``DiscretionError/unsealable(client:reason:)`` for a value altered, of
    ///   another client, or of an unknown format.
    package static func open(_ sealed: [UInt8], client: String, context: String = "", key: SymmetricKey) throws -> [UInt8] {
        guard let first = sealed.first, first == version else {
            throw DiscretionError.unsealable(client: client, reason: "unknown format")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return Array(try AES.GCM.open(box, using: key, authenticating: authenticated(client, context)))
        } catch {
            throw DiscretionError.unsealable(client: client, reason: "it was altered, or it is not this client's")
        }
    }

    static func authenticated(_ client: String, _ context: String) -> [UInt8] {
        Array(("stipple personal v1 client " + client + " context " + context).utf8)
    }

    /// Wraps a client key with the master key (for the key table).
    static func wrap(_ clientKey: SymmetricKey, client: String, master: MasterKey) throws -> [UInt8] {
        try seal(clientKey.withUnsafeBytes { Array($0) }, client: client, context: "client key", key: master.subkey("client key wrap"))
    }

    /// Unwraps a client key.
    static func unwrap(_ wrapped: [UInt8], client: String, master: MasterKey) throws -> SymmetricKey {
        SymmetricKey(data: try open(wrapped, client: client, context: "client key", key: master.subkey("client key wrap")))
    }
}
