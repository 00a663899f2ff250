import Crypto
import EventLog
import Foundation
import GRDB
import Recording
import SwiftProtobuf
import Treatment

/// Clients' photos: sealed with the client's key and stored beside the log in
/// `attachments` (see ``ClientKeys``), the `PhotoAttached` event naming them by the SHA-256
/// of the sealed bytes, both written in one transaction. Erasure deletes the rows and
/// destroys the key (``ClientKeys/destroy(_:in:at:)``).
public enum Photos {
    /// The SHA-256 of sealed bytes, lower-case hex: a photo's key.
    static func hex(_ sealed: some DataProtocol) -> String { SHA256.hash(data: sealed).map { String(format: "%02x", $0) }.joined() }

    /// The authenticated context of a photo's sealing (another event's sealed value never opens as a photo).
    static let context = "PhotoAttached"

    /// Why a photo cannot be shown.
    public enum Unavailable: Error, Sendable, Equatable {
        /// The client was erased: the photo is gone.
        case erased
    }

    /// The decision that records `photo` of `client`, attached to their event `target`:
    /// the rules (``PhotoRules``) against the client's stream, then the photo sealed with
    /// the client's key (made now if they have none) and stored, and its event returned.
    ///
    /// - Throws (from the decision): ``Refusal``; ``DiscretionError/clientErased(_:)``.
    package static func attaching(
        _ photo: PhotoFile, client: String, to target: String, moment: Stipple_V1_PhotoMoment, takenAt: Int64,
        master: MasterKey, metadata: EventMetadata, id: UUID
    ) -> Recorder.Decision {
        { reader in
            let stream = Recorder.Streams.client(client)
            var state = ClientState()
            var targetType: String?
            let targetID = UUID(uuidString: target)
            for event in try reader.read(stream: stream) {
                state.apply(type: event.type, message: try Recorder.decode(event), id: event.id)
                if event.id == targetID { targetType = event.type }
            }
            var attached = Stipple_V1_PhotoAttached()
            attached.attachedToEventID = target
            attached.moment = moment
            attached.mediaType = photo.format.rawValue
            attached.byteCount = Int64(photo.bytes.count)
            attached.takenAt.seconds = takenAt
            attached = try PhotoRules.decide(attached, client: state, targetType: targetType).get()
            try reader.withDatabase { db in
                let key = try ClientKeys.keyCreatingIfNeeded(client, in: db, master: master)
                let sealed = try Sealing.seal(photo.bytes, client: client, context: context, key: key)
                let digest = hex(sealed)
                try ClientKeys.createTables(in: db)
                try db.execute(sql: "INSERT OR IGNORE INTO attachments (sha256, client, sealed) VALUES (?, ?, ?)",
                               arguments: [digest, client, Data(sealed)])
                attached.sealedSha256 = digest
            }
            return [try Recorder.newEvent(
                attached, type: "PhotoAttached", stream: stream, expected: .exactly(try reader.version(of: stream)), metadata: metadata, id: id)]
        }
    }

    /// Each stored photo whose sealed bytes are not the ones its key (the SHA-256 its event
    /// names) says, one sentence each: bytes altered or swapped outside Stipple.
    package static func mismatches(in log: EventLog) async throws -> [String] {
        try await log.readTables { db in
            guard try db.tableExists("attachments") else { return [] }
            var found: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT sha256, client, sealed FROM attachments ORDER BY rowid") {
                let key: String = row[0], client: String = row[1], sealed: Data = row[2]
                if hex(sealed) != key {
                    found.append("the photo \(key) of client \(client) is not the one its event names: its stored bytes were altered")
                }
            }
            return found
        }
    }

    /// The photo of `client` that `photo` (its event, from the client's stream) names,
    /// opened with the client's key. Callers check and log the access first.
    ///
    /// - Throws: ``Unavailable/erased``; ``DiscretionError/unsealable(client:reason:)`` for
    ///   bytes that do not open (altered, or another client's).
    package static func open(_ photo: Stipple_V1_PhotoAttached, client: String, keys: ClientKeys) async throws -> [UInt8] {
        let wanted = photo.sealedSha256
        guard case .key(let key) = try await keys.lookup(client) else { throw Unavailable.erased }
        let sealed = try await keys.log.readTables { db -> [UInt8]? in
            guard try db.tableExists("attachments") else { return nil }
            return try Data.fetchOne(db, sql: "SELECT sealed FROM attachments WHERE sha256 = ? AND client = ?", arguments: [wanted, client]).map { Array($0) }
        }
        guard let sealed else { throw Unavailable.erased }
        if hex(sealed) != wanted {
            throw DiscretionError.unsealable(client: client, reason: "the stored photo is not the one its event names (altered)")
        }
        do {
            return try Sealing.open(sealed, client: client, context: context, key: key)
        } catch {
            throw DiscretionError.unsealable(client: client, reason: "the photo does not open with the client's key")
        }
    }
}
