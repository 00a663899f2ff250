import Crypto
import EventLog
import Foundation
import GRDB
import Recording

/// A write that a retry must not record twice (a request sent again after a dropped
/// connection): the caller's key for it, and a fingerprint of the request (the SHA-256 of
/// its body, say), so that the key given again with another request is refused.
///
/// The key is stored with the ids of the events it recorded in the write's own
/// transaction, so a retry finds either nothing (the first attempt wrote nothing) or all
/// of it; keys are kept 7 days.
public struct Idempotency: Sendable, Hashable {
    public var key: String
    public var fingerprint: [UInt8]

    public init(key: String, fingerprint: [UInt8]) {
        self.key = key
        self.fingerprint = fingerprint
    }

    /// The fingerprint of a request body.
    public static func fingerprint(of body: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: body)) }

    /// How long a key is remembered.
    static let lifetime: TimeInterval = 7 * 86_400

    /// A retry of a request already recorded: the ids of its events.
    struct Replay: Error {
        var ids: [UUID]
    }

    /// Refuses a key that is empty, too long or not printable ASCII.
    func validate() throws(ServiceError) {
        guard (1...200).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw ServiceError.badInput("an idempotency key is 1 to 200 printable ASCII characters without spaces (a UUID, say)")
        }
    }

    /// The decision that goes first in the write's transaction: a replay throws
    /// ``Replay`` (nothing is written), another request with the key is refused, a new key
    /// is stored with the ids the write will record.
    func decision(user: String, ids: [UUID], at now: Date) -> Recorder.Decision {
        let key = self.key, fingerprint = Data(self.fingerprint)
        return { reader in
            try reader.withDatabase { db -> [NewEvent] in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS idempotency_keys (
                        key TEXT PRIMARY KEY, user TEXT NOT NULL, fingerprint BLOB NOT NULL, ids TEXT NOT NULL, created_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys(created_at);
                    """)
                if let row = try Row.fetchOne(db, sql: "SELECT user, fingerprint, ids FROM idempotency_keys WHERE key = ?", arguments: [key]) {
                    guard row[0] as String == user, row[1] as Data == fingerprint else {
                        throw ServiceError(
                            .badInput, "the idempotency key \(key) was given before with another request: use a new key for a new request",
                            detail: .idempotencyKeyReused)
                    }
                    let stored: String = row[2]
                    throw Replay(ids: stored.split(separator: ",").compactMap { UUID(uuidString: String($0)) })
                }
                try db.execute(sql: "DELETE FROM idempotency_keys WHERE created_at < ?", arguments: [now.timeIntervalSince1970 - Self.lifetime])
                try db.execute(
                    sql: "INSERT INTO idempotency_keys (key, user, fingerprint, ids, created_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [key, user, fingerprint, ids.map(\.uuidString).joined(separator: ","), now.timeIntervalSince1970])
                return []
            }
        }
    }
}
