/// What an append expects of a stream's current version before its event lands.
///
/// The check is optimistic concurrency: a writer that read a stream at version 4 and
/// appends with `.exactly(4)` fails with ``EventLogError/versionConflict(stream:expected:actual:)``
/// when somebody else appended in between.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// No check: append whatever the stream's version.
    case any
    /// The stream must not exist yet (its version is 0).
    case noStream
    /// The stream's current version must be exactly this (0 means "no stream").
    case exactly(Int64)

    /// Whether a stream at `actual` satisfies this expectation.
    public func admits(_ actual: Int64) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return actual == 0
        case .exactly(let expected): return actual == expected
        }
    }

    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "no stream"
        case .exactly(let version): return String(version)
        }
    }
}
