import Crypto
import EventLog
import Foundation
import GRDB

/// Each client's own key, in a table beside the log and outside its hash chain (so that
/// erasure can destroy it), wrapped with the master key.
///
/// Tables: `client_keys(client, wrapped, created_at, erased_at)` — an erased client keeps
/// its row with no key, so nothing can be sealed for it again — and
/// `discretion_settings(name, value)` holding the master key's check value: a wrong key
/// file is recognised before any key is made with it.
public struct ClientKeys: Sendable {
    package let log: EventLog
    let master: MasterKey
    let masterPath: String

    /// A client's key, or why there is none.
    public enum Lookup: Sendable {
        case key(SymmetricKey)
        /// Never made (nothing sealed for the client yet).
        case none
        /// Destroyed by erasure.
        case erased
    }

    package init(log: EventLog, master: MasterKey, masterPath: String) {
        self.log = log
        self.master = master
        self.masterPath = masterPath
    }

    static func createTables(in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS client_keys (
                client TEXT PRIMARY KEY, wrapped BLOB, created_at REAL NOT NULL, erased_at REAL
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS discretion_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
            -- Photos sealed with their client's key (Photos.swift), by the SHA-256 of the sealed bytes.
            CREATE TABLE IF NOT EXISTS attachments (sha256 TEXT NOT NULL UNIQUE, client TEXT NOT NULL, sealed BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS attachments_by_client ON attachments (client);
            """)
    }

    /// Creates the tables if needed and checks the master key against the one the client
    /// keys were made with (the first key used becomes that one).
    ///
    /// - Throws: ``DiscretionError/wrongMasterKey(path:)``.
    package func prepare() async throws {
        let master = self.master, path = masterPath
        // Read first: most commands find the check in place (and a read-only log works).
        let stored = try await log.readTables { db -> String? in
            guard try db.tableExists("discretion_settings") else { return nil }
            return try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = 'master_check'")
        }
        if let stored {
            if stored != master.check { throw DiscretionError.wrongMasterKey(path: path) }
            return
        }
        try await log.writeTables { db in try Self.prepare(in: db, master: master, path: path) }
    }

    static func prepare(in db: Database, master: MasterKey, path: String) throws {
        try createTables(in: db)
        let check = master.check
        if let stored = try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = 'master_check'") {
            if stored != check { throw DiscretionError.wrongMasterKey(path: path) }
        } else {
            try db.execute(sql: "INSERT INTO discretion_settings (name, value) VALUES ('master_check', ?)", arguments: [check])
        }
    }

    /// The key of `client` as `db` holds it.
    static func lookup(_ client: String, in db: Database, master: MasterKey) throws -> Lookup {
        guard try db.tableExists("client_keys"),
              let row = try Row.fetchOne(db, sql: "SELECT wrapped FROM client_keys WHERE client = ?", arguments: [client])
        else { return .none }
        guard let wrapped = row[0] as Data? else { return .erased }
        return .key(try Sealing.unwrap(Array(wrapped), client: client, master: master))
    }

    /// The key of `client`, made and stored in `db`'s transaction if it has none yet.
    ///
    /// - Throws: ``DiscretionError/clientErased(_:)`` for an erased client.
    static func keyCreatingIfNeeded(_ client: String, in db: Database, master: MasterKey) throws -> SymmetricKey {
        switch try lookup(client, in: db, master: master) {
        case .key(let key): return key
        case .erased: throw DiscretionError.clientErased(client)
        case .none:
            try createTables(in: db)
            // Checked in the same transaction: a master key rotated meanwhile (by another
            // process) must not wrap a new key with the old one.
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = 'master_check'"),
               stored != master.check {
                throw DiscretionError.wrongMasterKey(path: "the master key file")
            }
            let fresh = Sealing.newClientKey()
            try db.execute(
                sql: "INSERT INTO client_keys (client, wrapped, created_at) VALUES (?, ?, ?)",
                arguments: [client, Data(try Sealing.wrap(fresh, client: client, master: master)), Date().timeIntervalSince1970])
            return fresh
        }
    }

    /// The key of `client`, or why there is none.
    package func lookup(_ client: String) async throws -> Lookup {
        let master = self.master
        return try await log.readTables { db in try Self.lookup(client, in: db, master: master) }
    }

    /// The key of `client`, or `nil` when it has none (never made, or destroyed by erasure).
    package func key(for client: String) async throws -> SymmetricKey? {
        if case .key(let key) = try await lookup(client) { return key }
        return nil
    }

    /// The key of `client`, made and stored first if the client has none yet.
    package func keyCreatingIfNeeded(for client: String) async throws -> SymmetricKey {
        let master = self.master
        return try await log.writeTables { db in try Self.keyCreatingIfNeeded(client, in: db, master: master) }
    }

    /// Destroys `client`'s key in `db`'s transaction; the client is marked erased, so
    /// nothing is sealed for it again. The key table is then rewritten (see
    /// ``rewriteTable(in:)``) and an erasure marked pending until the WAL is emptied (see
    /// ``finishPendingErasures(patience:)``).
    static func destroy(_ client: String, in db: Database, at now: Date = Date()) throws {
        try createTables(in: db)
        try db.execute(sql: "PRAGMA secure_delete = ON")
        try db.execute(sql: """
            INSERT INTO client_keys (client, wrapped, created_at, erased_at) VALUES (?1, NULL, ?2, ?2)
            ON CONFLICT (client) DO UPDATE SET wrapped = NULL, erased_at = ?2
            """, arguments: [client, now.timeIntervalSince1970])
        // The client's photos go with the key (secure_delete zeroes their pages).
        try db.execute(sql: "DELETE FROM attachments WHERE client = ?", arguments: [client])
        try rewriteTable(in: db)
        try db.execute(sql: "INSERT INTO discretion_settings (name, value) VALUES ('erasure_pending', '1') ON CONFLICT (name) DO UPDATE SET value = '1'")
    }

    /// Destroys `client`'s key, then empties the WAL so that no copy of the wrapped key
    /// stays in the files. Returns whether the client had one.
    @discardableResult
    package func destroy(client: String) async throws -> Bool {
        let master = self.master
        let had = try await log.writeTables { db -> Bool in
            let had: Bool
            if case .key = try Self.lookup(client, in: db, master: master) { had = true } else { had = false }
            try Self.destroy(client, in: db)
            return had
        }
        try await Self.finishPendingErasures(in: log)
        return had
    }

    /// Rewrites the key table from its live rows and drops the old one, in `db`'s
    /// transaction, so that no page of the file keeps a copy of a destroyed (or
    /// rewrapped) key.
    ///
    /// `secure_delete` zeroes a deleted row and every page it frees, but not the copies
    /// that B-tree rebalancing left earlier in the unused space of pages that stay in use
    /// (about one client in 2,000 had such a copy, by the December review). Dropping the
    /// table frees (so zeroes) each of its pages; the new table, written in key order,
    /// holds only the live rows. It costs one pass over the table (a second or so per
    /// million clients): erasures and rotations are rare.
    static func rewriteTable(in db: Database) throws {
        try db.execute(sql: """
            PRAGMA secure_delete = ON;
            CREATE TABLE client_keys_rewritten (
                client TEXT PRIMARY KEY, wrapped BLOB, created_at REAL NOT NULL, erased_at REAL
            ) WITHOUT ROWID;
            INSERT INTO client_keys_rewritten (client, wrapped, created_at, erased_at)
                SELECT client, wrapped, created_at, erased_at FROM client_keys ORDER BY client;
            DROP TABLE client_keys;
            ALTER TABLE client_keys_rewritten RENAME TO client_keys;
            """)
    }

    /// Whether the log's client keys were made with a master key (its check value is
    /// stored): then no new key file may be made for it.
    package static func hasMasterCheck(in log: EventLog) async throws -> Bool {
        try await log.readTables { db in
            guard try db.tableExists("discretion_settings") else { return false }
            return try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = 'master_check'") != nil
        }
    }

    /// Whether `client`'s key was destroyed by an erasure.
    package static func isErased(_ client: String, in log: EventLog) async throws -> Bool {
        try await log.readTables { db in
            guard try db.tableExists("client_keys") else { return false }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM client_keys WHERE client = ? AND wrapped IS NULL", arguments: [client]) ?? 0 > 0
        }
    }

    /// Whether an erasure (or a rotation) committed but the WAL, which still holds the old
    /// pages, has not been emptied since.
    package static func erasurePending(in log: EventLog) async throws -> Bool {
        try await log.readTables { db in
            guard try db.tableExists("discretion_settings") else { return false }
            return try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = 'erasure_pending'") == "1"
        }
    }

    /// Empties the WAL after an erasure (or a rotation), so that the old pages, which hold
    /// the destroyed key, are gone from the files; then clears the mark. Returns whether
    /// one was pending.
    ///
    /// - Throws: ``EventLogError/database(code:message:)`` when another process keeps an
    ///   older state open past `patience` (the mark stays: the next writer finishes it).
    @discardableResult
    package static func finishPendingErasures(in log: EventLog, patience: Duration = .seconds(10)) async throws -> Bool {
        guard try await erasurePending(in: log) else { return false }
        try await log.checkpointAndTruncateWAL(patience: patience)
        try await log.writeTables { db in
            try db.execute(sql: "DELETE FROM discretion_settings WHERE name = 'erasure_pending'")
        }
        // The mark's own removal is the only frame in the WAL now; empty it too, if it can be.
        try? await log.checkpointAndTruncateWAL(patience: .zero)
        return true
    }

    /// The log's pseudonyms: keyed by a random key made on first use and kept wrapped with
    /// the master key beside the client keys, so that they stay the same when the master
    /// key is rotated.
    package func pseudonyms() async throws -> Pseudonyms {
        Pseudonyms(key: try await logKey(.pseudonyms))
    }

    /// The log's own keys: random, made on first use, kept in `discretion_settings` wrapped
    /// with the master key (and rewrapped when it is rotated), so what they seal outlives a
    /// rotation.
    package enum LogKey: String, CaseIterable, Sendable {
        /// Keys the pseudonyms.
        case pseudonyms = "pseudonym_key"
        /// Seals the users' second-factor secrets.
        case secondFactors = "second_factor_key"

        var context: String {
            switch self {
            case .pseudonyms: return "pseudonym key"
            case .secondFactors: return "second factor key"
            }
        }
    }

    /// The log key `which`, made on first use.
    package func logKey(_ which: LogKey) async throws -> SymmetricKey {
        let master = self.master
        if let stored = try await log.readTables({ db -> String? in
            guard try db.tableExists("discretion_settings") else { return nil }
            return try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = ?", arguments: [which.rawValue])
        }), let wrapped = Data(base64Encoded: stored) {
            return try Self.unwrapLogKey(Array(wrapped), which, master: master)
        }
        let key = try await log.writeTables { db -> [UInt8] in
            try Self.createTables(in: db)
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = ?", arguments: [which.rawValue]),
               let wrapped = Data(base64Encoded: stored) {
                return try Self.unwrapLogKey(Array(wrapped), which, master: master).withUnsafeBytes { Array($0) }
            }
            let fresh = SymmetricKey(size: .bits256)
            try db.execute(
                sql: "INSERT INTO discretion_settings (name, value) VALUES (?, ?)",
                arguments: [which.rawValue, Data(try Self.wrapLogKey(fresh, which, master: master)).base64EncodedString()])
            return fresh.withUnsafeBytes { Array($0) }
        }
        return SymmetricKey(data: key)
    }

    static func wrapLogKey(_ key: SymmetricKey, _ which: LogKey, master: MasterKey) throws -> [UInt8] {
        try Sealing.seal(key.withUnsafeBytes { Array($0) }, client: "", context: which.context, key: master.subkey("client key wrap"))
    }

    static func unwrapLogKey(_ wrapped: [UInt8], _ which: LogKey, master: MasterKey) throws -> SymmetricKey {
        SymmetricKey(data: try Sealing.open(wrapped, client: "", context: which.context, key: master.subkey("client key wrap")))
    }

    /// Wraps every client key again with `newMaster`, in one transaction; the caller then
    /// replaces the key file. Returns how many keys were rewrapped.
    ///
    /// - Throws: ``DiscretionError/wrongMasterKey(path:)`` when this store's master key is
    ///   not the log's; nothing is changed then.
    package func rotate(to newMaster: MasterKey) async throws -> Int {
        try await prepare()
        let master = self.master
        let count = try await log.writeTables { db -> Int in
            let rows = try Row.fetchAll(db, sql: "SELECT client, wrapped FROM client_keys WHERE wrapped IS NOT NULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            for row in rows {
                let client: String = row[0]
                let key = try Sealing.unwrap(Array(row[1] as Data), client: client, master: master)
                try db.execute(
                    sql: "UPDATE client_keys SET wrapped = ? WHERE client = ?",
                    arguments: [Data(try Sealing.wrap(key, client: client, master: newMaster)), client])
            }
            for which in LogKey.allCases {
                guard let stored = try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = ?", arguments: [which.rawValue]),
                      let wrapped = Data(base64Encoded: stored)
                else { continue }
                let key = try Self.unwrapLogKey(Array(wrapped), which, master: master)
                try db.execute(
                    sql: "UPDATE discretion_settings SET value = ? WHERE name = ?",
                    arguments: [Data(try Self.wrapLogKey(key, which, master: newMaster)).base64EncodedString(), which.rawValue])
            }
            try db.execute(sql: "UPDATE discretion_settings SET value = ? WHERE name = 'master_check'", arguments: [newMaster.check])
            // No copy of a key wrapped with the old master key stays in a page.
            try Self.rewriteTable(in: db)
            try db.execute(sql: "INSERT INTO discretion_settings (name, value) VALUES ('erasure_pending', '1') ON CONFLICT (name) DO UPDATE SET value = '1'")
            return rows.count
        }
        try await Self.finishPendingErasures(in: log)
        return count
    }
}
