import Foundation

/// Why a key, a token or an access is refused, with what an admin needs to act.
public enum DiscretionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No master key file where it was looked for.
    case noMasterKey(path: String)
    /// A master key file that group or others may read: refused before it is used.
    case keyFileTooOpen(path: String, mode: String)
    /// A file that is not a Stipple master key.
    case malformedKeyFile(path: String, reason: String)
    /// A master key file exists already (creating one never overwrites).
    case masterKeyExists(path: String)
    /// The master key does not open the client keys of this log.
    case wrongMasterKey(path: String)
    /// The client's personal data was erased: nothing personal can be recorded or shown.
    case clientErased(String)
    /// Input that would put personal data in the log outside the sealing.
    case unsealedInput(client: String, type: String, reason: String)
    /// An exposure incident whose personal data cannot be sealed as given.
    case unsealedIncident(stream: String, reason: String)
    /// A sealed value that does not open with its client's key (altered, or another client's).
    case unsealable(client: String, reason: String)

    public var description: String {
        switch self {
        case .noMasterKey(let path):
            return "there is no master key at \(path): give its path with STIPPLE_MASTER_KEY_FILE; without it the personal data of this log cannot be read"
        case .keyFileTooOpen(let path, let mode):
            return "the master key \(path) can be read by others (mode \(mode)); make it the owner's only with `chmod 600 \(path)` — Stipple will not use it as it is"
        case .malformedKeyFile(let path, let reason):
            return "\(path) is not a Stipple master key: \(reason)"
        case .masterKeyExists(let path):
            return "a master key exists already at \(path); it is never overwritten (keep it: losing it loses the personal data)"
        case .wrongMasterKey(let path):
            return "the master key \(path) is not the one this log's client keys were made with: use the right key file (nothing was changed)"
        case .clientErased(let client):
            return "client \(client)'s personal data was erased: nothing personal can be recorded for them again"
        case .unsealedInput(let client, let type, let reason):
            return "\(type) of client \(client) refused: \(reason)"
        case .unsealedIncident(let stream, let reason):
            return "exposure incident \(stream) refused: \(reason)"
        case .unsealable(let client, let reason):
            return "a sealed value of client \(client) does not open: \(reason)"
        }
    }
}
