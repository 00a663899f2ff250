import Foundation

/// Why a report or a rebuild cannot be served, with what a person needs to act.
public enum ReportsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No projection of that name.
    case unknownProjection(String, known: [String])
    /// A stored event the projections cannot read (a damaged payload).
    case undecodable(position: Int64, type: String, reason: String)
    /// The report's tables do not exist yet and cannot be built here (a read-only log).
    case notBuilt(String)
    /// The rebuild could not reach the head because appends kept landing.
    case swapStarved(String, attempts: Int)
    /// The live tables have another layout than this build reads: only a rebuild helps.
    case rebuildRequired(String)
    /// Another process started a rebuild of other code while this one ran.
    case rebuildReplaced(String)
    /// A report was asked about something the log does not hold.
    case notFound(what: String, id: String)
    /// A report's arguments are wrong (reversed dates, unknown clinic…).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unknownProjection(let name, let known):
            return "no report or projection named \"\(name)\" (known: \(known.joined(separator: ", ")))"
        case .undecodable(let position, let type, let reason):
            return "event \(position) (\(type)) cannot be read by the reports: \(reason)"
        case .notBuilt(let name):
            return "the \(name) report has not been built in this file, and it is open read-only: run `stipple rebuild \(name)` with write access"
        case .swapStarved(let name, let attempts):
            return "the rebuild of \(name) caught up \(attempts) times but new events kept landing before the swap; run it again when the chain is quieter"
        case .rebuildRequired(let name):
            return "the \(name) tables were built by an earlier Stipple with other columns, and this one cannot read them: run `stipple rebuild \(name)` (reports of \(name) are back once it has swapped in)"
        case .rebuildReplaced(let name):
            return "the rebuild of \(name) was replaced by another one (of other code) while it ran; run `stipple reports status` to see where it stands"
        case .notFound(let what, let id):
            return "no \(what) \"\(id)\" in this log"
        case .invalidArgument(let message):
            return message
        }
    }
}
