import Crypto
import EventLog
import Foundation
import GRDB

/// Each client's own key, in a table beside the log and outside its hash chain (so that
/// erasure can destroy it), wrapped with the master key.
///
/// Tables: `client_keys(client, wrapped, created_at)` and `discretion_settings(name, value)`
/// holding the master key's check value: a wrong key file is recognised before any key is
/// made with it.
public struct ClientKeys: Sendable {
    public let log: EventLog
    let master: MasterKey
    let masterPath: String

    public init(log: EventLog, master: MasterKey, masterPath: String) {
        self.log = log
        self.master = master
        self.masterPath = masterPath
    }

    /// Creates the tables if needed and checks the master key against the one the client
    /// keys were made with (the first key used becomes that one).
    ///
    /// - Throws: ``DiscretionError/wrongMasterKey(path:)``.
    public func prepare() async throws {
        let check = master.check
        let matches = try await log.writeTables { db -> Bool in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS client_keys (client TEXT PRIMARY KEY, wrapped BLOB NOT NULL, created_at REAL NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS discretion_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                """)
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM discretion_settings WHERE name = 'master_check'") {
                return stored == check
            }
            try db.execute(sql: "INSERT INTO discretion_settings (name, value) VALUES ('master_check', ?)", arguments: [check])
            return true
        }
        if !matches { throw DiscretionError.wrongMasterKey(path: masterPath) }
    }

    /// The key of `client`, or `nil` when it has none (never made, or destroyed by erasure).
    public func key(for client: String) async throws -> SymmetricKey? {
        let wrapped = try await log.readTables { db in
            try Data.fetchOne(db, sql: "SELECT wrapped FROM client_keys WHERE client = ?", arguments: [client]).map { Array($0) }
        }
        return try wrapped.map { try Sealing.unwrap($0, client: client, master: master) }
    }

    /// The key of `client`, made and stored first if the client has none yet.
    public func keyCreatingIfNeeded(for client: String) async throws -> SymmetricKey {
        if let key = try await key(for: client) { return key }
        let fresh = Sealing.newClientKey()
        let wrapped = try Sealing.wrap(fresh, client: client, master: master)
        // Another process may have made one meanwhile: the first stored wins.
        try await log.writeTables { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO client_keys (client, wrapped, created_at) VALUES (?, ?, ?)",
                arguments: [client, Data(wrapped), Date().timeIntervalSince1970])
        }
        guard let stored = try await key(for: client) else { throw DiscretionError.unsealable(client: client, reason: "its key was not stored") }
        return stored
    }

    /// Destroys `client`'s key (`secure_delete`, then the WAL is checkpointed and emptied so
    /// no copy of the wrapped key stays in the files). Returns whether there was one.
    @discardableResult
    public func destroy(client: String) async throws -> Bool {
        let deleted = try await log.writeTables { db -> Bool in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "DELETE FROM client_keys WHERE client = ?", arguments: [client])
            return db.changesCount > 0
        }
        try await log.checkpointAndTruncateWAL()
        return deleted
    }

    /// Wraps every client key again with `newMaster`, in one transaction; the caller then
    /// replaces the key file. Returns how many keys were rewrapped.
    ///
    /// - Throws: ``DiscretionError/wrongMasterKey(path:)`` when this store's master key is
    ///   not the log's; nothing is changed then.
    public func rotate(to newMaster: MasterKey) async throws -> Int {
        try await prepare()
        let master = self.master
        let count = try await log.writeTables { db -> Int in
            let rows = try Row.fetchAll(db, sql: "SELECT client, wrapped FROM client_keys")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            for row in rows {
                let client: String = row[0]
                let key = try Sealing.unwrap(Array(row[1] as Data), client: client, master: master)
                try db.execute(
                    sql: "UPDATE client_keys SET wrapped = ? WHERE client = ?",
                    arguments: [Data(try Sealing.wrap(key, client: client, master: newMaster)), client])
            }
            try db.execute(sql: "UPDATE discretion_settings SET value = ? WHERE name = 'master_check'", arguments: [newMaster.check])
            return rows.count
        }
        try await log.checkpointAndTruncateWAL()
        return count
    }
}
