import Foundation
import GRDB
import Synchronization

/// Process-wide caches of what never changes once committed: codecs (with their
/// decompressors), stream names and type names by integer key.
///
/// Safe to cache because the database forbids changing them (triggers), and because
/// only committed rows are ever put here (readers see only committed data).
final class Catalog: Sendable {
    private let decompressors = Mutex<[Int32: LZ4Decompressor]>([:])
    private let streamNames = Mutex<[Int64: String]>([:])
    private let typeNames = Mutex<[Int64: String]>([:])

    /// The decompressor of codec `id`, loaded from `db` on first use.
    func decompressor(_ id: Int32, in db: Database) throws -> LZ4Decompressor? {
        if let cached = decompressors.withLock({ $0[id] }) { return cached }
        guard let row = try Row.fetchOne(db, sql: "SELECT kind, dictionary FROM codecs WHERE id = ?", arguments: [id]),
              let kind = Codec.Kind(rawValue: row["kind"])
        else { return nil }
        let dictionary: Data = row["dictionary"] ?? Data()
        let decompressor = LZ4Decompressor(codec: Codec(id: id, kind: kind, dictionary: Array(dictionary)))
        decompressors.withLock { $0[id] = decompressor }
        return decompressor
    }

    /// Every codec of the log, by id, read afresh from `db` (not from the cache:
    /// verification must see a dictionary changed behind this process's back).
    func freshCodecs(in db: Database) throws -> [Int32: LZ4Decompressor] {
        var result: [Int32: LZ4Decompressor] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, kind, dictionary FROM codecs ORDER BY id") {
            guard let id = Int32(exactly: row[0] as Int64), let kind = Codec.Kind(rawValue: row["kind"]) else { continue }
            let dictionary: Data = row["dictionary"] ?? Data()
            result[id] = LZ4Decompressor(codec: Codec(id: id, kind: kind, dictionary: Array(dictionary)))
        }
        return result
    }

    /// A resolver of stream ids to names, starting from what is cached.
    func streamResolver() -> NameResolver {
        NameResolver(table: "streams", known: streamNames.withLock { $0 })
    }

    /// A resolver of type ids to names, starting from what is cached.
    func typeResolver() -> NameResolver {
        NameResolver(table: "event_types", known: typeNames.withLock { $0 })
    }

    /// Keeps what resolvers loaded, for the next reads.
    func remember(streams: NameResolver, types: NameResolver) {
        if !streams.loaded.isEmpty { streamNames.withLock { $0.merge(streams.loaded) { old, _ in old } } }
        if !types.loaded.isEmpty { typeNames.withLock { $0.merge(types.loaded) { old, _ in old } } }
    }
}

/// Resolves integer keys to names during one read, loading misses from the database.
struct NameResolver {
    let table: String
    let known: [Int64: String]
    var loaded: [Int64: String] = [:]

    init(table: String, known: [Int64: String]) {
        self.table = table
        self.known = known
    }

    mutating func name(_ id: Int64, in db: Database) throws -> String? {
        if let name = known[id] ?? loaded[id] { return name }
        guard let name = try String.fetchOne(db.cachedStatement(sql: "SELECT name FROM \(table) WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        // Only into `loaded`: `known` is the process cache's copy, shared until written, and
        // writing one name into it copied every name (22% of a server's CPU recording
        // sessions for new clients, where every read of a client's stream missed).
        loaded[id] = name
        return name
    }
}
