import Crypto
import Foundation

/// Stable pseudonyms for reports that do not need names: `C-` and ten characters of
/// Crockford base32 from a keyed hash (HMAC-SHA256) of the client id, so the same client
/// always gets the same pseudonym and nobody without the master key can go back to the id
/// (or check a guess). Fifty bits: two clients of a million-client chain share one with a
/// chance of about one in two thousand.
public struct Pseudonyms: Sendable {
    let key: SymmetricKey
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    /// Pseudonyms keyed by a key derived from `master` (they change with it).
    package init(master: MasterKey) { key = master.subkey("pseudonyms") }

    init(key: SymmetricKey) { self.key = key }

    /// The pseudonym of `client`, e.g. `C-7F3KQ-2M9XA`.
    public func pseudonym(for client: String) -> String {
        let mac = Array(HMAC<SHA256>.authenticationCode(for: Array(client.utf8), using: key))
        var bits: UInt64 = 0
        for byte in mac.prefix(8) { bits = bits << 8 | UInt64(byte) }
        var characters: [Character] = []
        for index in 0..<10 {
            characters.append(Self.alphabet[Int((bits >> UInt64(59 - index * 5)) & 31)])
        }
        return "C-" + String(characters[0..<5]) + "-" + String(characters[5..<10])
    }
}
