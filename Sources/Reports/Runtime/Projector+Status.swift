import EventLog
import Foundation
import GRDB

/// Where one projection stands, for `stipple reports status`.
public struct ProjectionStatus: Sendable, Hashable {
    public var name: String
    public var summary: String
    /// The version this build folds.
    public var version: Int
    /// The generation reports read, if any.
    public var live: Generation?
    /// A rebuild in progress (not yet swapped in), if any.
    public var building: Generation?
    /// The head of the log when the status was taken.
    public var head: Int64

    /// Events the live tables have not applied yet.
    public var lag: Int64 { head - (live?.checkpoint ?? 0) }

    /// Whether the live tables were built by other code (or there are none): a rebuild
    /// is needed before reports show what this build computes.
    public var rebuildPending: Bool { live == nil || live?.signature != currentSignature }

    let currentSignature: String
}

/// The tables a report reads now, and what a person should know about them.
public struct ReportSource: Sendable, Hashable {
    public var tables: TableNames
    /// Set when the tables are not what this build would compute (a rebuild is pending or
    /// in progress), or lag behind the log: print it beside the report.
    public var notice: String?
    /// The last position the tables hold.
    public var checkpoint: Int64
}

extension Projector {
    /// The status of every projection of this build.
    public func status() async throws -> [ProjectionStatus] {
        let (generations, head) = try await log.readTables { db in
            (try Registry.all(in: db), try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0)
        }
        return projections.map { projection in
            ProjectionStatus(
                name: projection.name, summary: projection.summary, version: projection.version,
                live: generations.first { $0.name == projection.name && $0.state == .live },
                building: generations.first { $0.name == projection.name && $0.state == .building },
                head: head, currentSignature: projection.signature)
        }
    }

    /// The tables the report `name` reads now, with a notice when they are not current.
    ///
    /// - Throws: ``ReportsError/unknownProjection(_:known:)``, ``ReportsError/notBuilt(_:)``.
    public func source(_ name: String) async throws -> ReportSource {
        let projection = try projection(named: name)
        return try await log.readTables { db in try Self.source(projection, in: db) }
    }

    /// The source of `projection` as `db`'s snapshot sees it: read a report's rows in the
    /// same snapshot, so a swap in another process cannot pull its tables away meanwhile.
    static func source(_ projection: any Projection, in db: Database) throws -> ReportSource {
        let name = projection.name
        let generations = try Registry.all(in: db).filter { $0.name == name }
        let head = try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") ?? 0
        guard let live = generations.first(where: { $0.state == .live }) else { throw ReportsError.notBuilt(name) }
        if live.layout != projection.layout { throw ReportsError.rebuildRequired(name) }
        let building = generations.first { $0.state == .building }
        var notes: [String] = []
        if live.signature != projection.signature {
            var note = "the \(name) report comes from tables built by version \(live.version) of its code; this build computes version \(projection.version)"
            if live.version == projection.version { note += " with newer event schemas (\(projection.signature))" }
            if let building {
                note += ", and its rebuild has reached event \(building.checkpoint) of \(head)"
            }
            note += ": run `stipple rebuild \(name)` to bring it up to date"
            notes.append(note)
        } else if let building {
            notes.append("a rebuild of \(name) is in progress (event \(building.checkpoint) of \(head)); the report shows the tables in use until it swaps")
        }
        let lag = head - live.checkpoint
        if lag > 0 {
            notes.append("it holds events up to \(live.checkpoint); the \(lag) later event\(lag == 1 ? " is" : "s are") not in it")
        }
        return ReportSource(tables: live.tables, notice: notes.isEmpty ? nil : notes.joined(separator: "; "), checkpoint: live.checkpoint)
    }
}
