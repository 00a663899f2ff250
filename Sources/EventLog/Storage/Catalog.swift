import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Process-wide caches of what never changes once committed and stays few: codecs (with
/// their decompressors) and type names by integer key.
///
/// Safe to cache because the database forbids changing them (triggers), and because
/// only committed rows are ever put here (readers see only committed data).
///
/// Stream names are not kept here: a chain has a stream per client, so such a cache grew
/// with the clients (every stream of the log after one replay: 143k names at 1M events,
/// 1.4M at 10M), and each read that loaded new names copied all of it to merge them. A
/// read resolves each stream it meets once, for itself (``NameResolver``).
final class Catalog: Sendable {
    private let decompressors = Mutex<[Int32: LZ4Decompressor]>([:])
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

    /// A resolver of stream ids to names for one read, knowing `known` already (the stream
    /// a read of one stream looked up by name).
    func streamResolver(known: [Int64: String] = [:]) -> NameResolver {
        NameResolver(table: "streams", known: known)
    }

    /// A resolver of type ids to names, starting from what is cached.
    func typeResolver() -> NameResolver {
        NameResolver(table: "event_types", known: typeNames.withLock { $0 })
    }

    /// Keeps the type names a resolver loaded, for the next reads.
    func remember(types: NameResolver) {
        if !types.loaded.isEmpty { typeNames.withLock { $0.merge(types.loaded) { old, _ in old } } }
    }
}

/// Resolves integer keys to names during one read, loading misses from the database.
struct NameResolver {
    let known: [Int64: String]
    var loaded: [Int64: String] = [:]
    private let sql: String
    /// GRDB's cached statement for a miss, found on the first (a read of the whole log
    /// misses once per stream: per seven events of W1).
    private var lookup: Statement?

    init(table: String, known: [Int64: String]) {
        self.known = known
        sql = "SELECT name FROM \(table) WHERE id = ?1"
    }

    mutating func name(_ id: Int64, in db: Database) throws -> String? {
        if let name = known[id] ?? loaded[id] { return name }
        let prepared = try lookup ?? db.cachedStatement(sql: sql)
        lookup = prepared
        // The C API (see SQLiteRaw.swift): GRDB's fetch allocated arguments and a cursor per miss.
        let statement = prepared.sqliteStatement
        let name: String? = try withExtendedLifetime(prepared) {
            defer { sqlite3_reset(statement) }
            statement.bind(1, int64: id)
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return nil }
            guard code == SQLITE_ROW else { throw db.rawError(code, sql: sql) }
            guard let text = sqlite3_column_text(statement, 0) else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, 0))), as: UTF8.self)
        }
        guard let name else { return nil }
        // Only into `loaded`: `known` is the process cache's copy (of type names), shared
        // until written, and writing one name into it copied every name.
        loaded[id] = name
        return name
    }
}
