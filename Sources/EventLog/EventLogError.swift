import Foundation

/// Everything the event log refuses or fails at, with the context to act on it.
///
/// SQLite result codes never leave the store: they are translated here into cases a
/// person can act on (a conflict names the stream, the expected and the actual
/// version; a full disk says so). Whenever one of these is thrown by an append,
/// nothing of that append was written.
public enum EventLogError: Error, Sendable, Equatable {
    /// The file at `path` does not exist.
    case noLog(path: String)
    /// The file exists but is not a Stipple event log; it was not modified.
    case notAStippleLog(path: String, reason: String)
    /// The log was written by a newer Stipple: it has migrations this build does not know.
    case logFromNewerVersion(path: String, unknownMigrations: [String])
    /// An event's `expectedVersion` did not match its stream's version.
    case versionConflict(stream: String, expected: ExpectedVersion, actual: Int64)
    /// An event id was appended before with other content.
    case eventIdReused(id: UUID, position: Int64, difference: String)
    /// An event is not valid (an empty stream name, a type that is too long, …).
    case invalidEvent(id: UUID, field: String, reason: String)
    /// A payload or metadata is larger than the log accepts.
    case tooLarge(id: UUID, field: String, size: Int, limit: Int)
    /// The log was opened read-only, or the file or its folder cannot be written.
    case readOnly(path: String)
    /// The disk (or the configured page limit) is full; nothing was written.
    case diskFull(path: String)
    /// The database file is damaged (SQLite reports corruption); nothing was written.
    case damaged(path: String, reason: String)
    /// A stored event cannot be decoded (its codec is unknown or its bytes are damaged).
    case corruptEvent(position: Int64, reason: String)
    /// Another failure of the database, with SQLite's own words.
    case database(code: Int32, message: String)
    /// A destination for a copy of the log (a backup) that cannot take it; nothing was written there.
    case badDestination(path: String, reason: String)
}

extension EventLogError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .noLog(let path):
            return "There is no Stipple log at \(path). Create one with `stipple init`, or name another file with --db or STIPPLE_DB."
        case .notAStippleLog(let path, let reason):
            return "\(path) is not a Stipple log (\(reason)); it was left untouched."
        case .logFromNewerVersion(let path, let unknown):
            return "\(path) was written by a newer Stipple (unknown migrations: \(unknown.joined(separator: ", "))). Upgrade Stipple to open it."
        case .versionConflict(let stream, let expected, let actual):
            return "Version conflict on stream \"\(stream)\": expected version \(expected), but the stream is at version \(actual). Read the stream again and retry."
        case .eventIdReused(let id, let position, let difference):
            return "Event id \(id.uuidString.lowercased()) is already stored at position \(position) with other content (\(difference)). Use a new id for a new event."
        case .invalidEvent(let id, let field, let reason):
            return "Event \(id.uuidString.lowercased()): field \"\(field)\" \(reason)."
        case .tooLarge(let id, let field, let size, let limit):
            return "Event \(id.uuidString.lowercased()): \(field) is \(size) bytes, over the limit of \(limit) bytes."
        case .readOnly(let path):
            return "The log at \(path) is read-only (opened read-only, or the file or its folder cannot be written); nothing was written."
        case .diskFull(let path):
            return "The disk holding \(path) is full (or the log reached its page limit); nothing was written. Free space and retry."
        case .damaged(let path, let reason):
            return "The log at \(path) is damaged (\(reason)). Restore it from a backup; `stipple verify` on the backup tells whether it is sound."
        case .corruptEvent(let position, let reason):
            return "The event at position \(position) cannot be decoded: \(reason). Run `stipple verify`."
        case .database(let code, let message):
            return "Database error \(code): \(message)"
        case .badDestination(let path, let reason):
            return "\(path) cannot take the backup: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
