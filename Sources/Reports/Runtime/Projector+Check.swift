import Crypto
import EventLog
import Foundation
import GRDB

/// What ``Projector/check(scratch:progress:)`` found for one projection.
public struct ProjectionCheck: Sendable, Hashable {
    public var name: String
    /// The position both folds reached.
    public var checkpoint: Int64
    /// `false` when the projection has no live tables to check.
    public var built: Bool
    /// The tables whose rows differ from a fold of the log from scratch.
    public var differingTables: [String]

    public var matches: Bool { built && differingTables.isEmpty }
}

extension Projector {
    /// Compares every projection's live tables with a fold of the whole log from scratch,
    /// so that report rows edited behind the log's back (a client deleted from a recall's
    /// contact list) are found: the chain's hash covers the events, not the tables built
    /// from them.
    ///
    /// The work happens in a scratch copy at `scratch` (an online backup; this log is only
    /// read): its live tables are caught up to the head and fingerprinted (SHA-256 of
    /// every row, in the order of all its columns), then rebuilt from the first event and
    /// fingerprinted again. The copy is removed afterwards. It costs a backup and a
    /// rebuild: run it when a doubt needs answering, not per report.
    ///
    /// - Throws: store errors (no room for the copy, a copy that does not verify).
    public func check(scratch: String, progress: ProgressHandler? = nil) async throws -> [ProjectionCheck] {
        ScratchFiles.add(scratch)
        defer {
            for suffix in ["", "-wal", "-shm"] { unlink(scratch + suffix) }
            ScratchFiles.remove(scratch)
        }
        _ = try await log.backup(to: scratch)
        var configuration = EventLog.Configuration()
        configuration.autoTrainThreshold = 0
        let copy = try EventLog(path: scratch, configuration: configuration, logger: EventLog.silentLogger)
        defer { try? copy.close() }
        let runtime = Projector(log: copy, projections: projections, legacy: legacy, options: options)
        try await runtime.catchUp(progress: progress)
        let before = try await runtime.fingerprints()
        let built = projections.map(\.name).filter { before[$0] != nil }
        if !built.isEmpty { _ = try await runtime.rebuild(built, progress: progress) }
        let after = try await runtime.fingerprints()
        return projections.map { projection in
            guard let live = before[projection.name], let fresh = after[projection.name] else {
                return ProjectionCheck(name: projection.name, checkpoint: 0, built: false, differingTables: [])
            }
            let tables = Set(live.tables.keys).union(fresh.tables.keys).sorted()
            var differing = tables.filter { live.tables[$0] != fresh.tables[$0] }
            // The runtime keeps one live generation per projection: a second one was made
            // by hand (reports would read one, catch-ups update another).
            if live.liveGenerations > 1 { differing.insert("report_projections (\(live.liveGenerations) live generations)", at: 0) }
            return ProjectionCheck(name: projection.name, checkpoint: fresh.checkpoint, built: true, differingTables: differing)
        }
    }

    /// A fingerprint of each table of the live generation reports read, by projection,
    /// and how many live generations the registry holds for it.
    func fingerprints() async throws -> [String: (checkpoint: Int64, liveGenerations: Int, tables: [String: [UInt8]])] {
        try await log.readTables { db in
            var result: [String: (checkpoint: Int64, liveGenerations: Int, tables: [String: [UInt8]])] = [:]
            let all = try Registry.all(in: db)
            for projection in self.projections {
                // The generation a report reads (``source(_:in:)``): the first live one.
                let lives = all.filter { $0.name == projection.name && $0.state == .live }
                guard let generation = lives.first else { continue }
                let prefix = generation.tables.prefix
                let names = try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? ORDER BY name",
                    arguments: [prefix.count, prefix])
                var tables: [String: [UInt8]] = [:]
                for name in names {
                    let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\"\(name)\")").count
                    let order = (1...max(1, columns)).map(String.init).joined(separator: ", ")
                    var hasher = SHA256()
                    let rows = try Row.fetchCursor(db, sql: "SELECT * FROM \"\(name)\" ORDER BY \(order)")
                    while let row = try rows.next() {
                        for value in row.databaseValues { Self.hash(value, into: &hasher) }
                        hasher.update(data: [0x1E])
                    }
                    tables[String(name.dropFirst(prefix.count))] = Array(hasher.finalize())
                }
                result[generation.name] = (generation.checkpoint, lives.count, tables)
            }
            return result
        }
    }

    /// One value into a fingerprint: a tag, then its bytes (so `1` and `'1'` differ).
    static func hash(_ value: DatabaseValue, into hasher: inout SHA256) {
        switch value.storage {
        case .null: hasher.update(data: [0])
        case .int64(let number): hasher.update(data: [1] + withUnsafeBytes(of: number.littleEndian, Array.init))
        case .double(let number): hasher.update(data: [2] + withUnsafeBytes(of: number.bitPattern.littleEndian, Array.init))
        case .string(let text):
            hasher.update(data: [3] + withUnsafeBytes(of: UInt64(text.utf8.count).littleEndian, Array.init))
            hasher.update(data: Array(text.utf8))
        case .blob(let data):
            hasher.update(data: [4] + withUnsafeBytes(of: UInt64(data.count).littleEndian, Array.init))
            hasher.update(data: data)
        }
    }
}
