import Discretion
import EventLog
import Foundation
import Recording
import Treatment

// Clients' photos: attached through the write path (the target's access, the rules, the
// photo sealed and stored in the event's own transaction), shown through the read path
// (need-to-know, the purpose, the access logged before the photo is returned).
extension Session {
    /// A photo shown: its event and its image as taken (metadata stripped).
    public struct ShownPhoto: Sendable {
        public var photo: Stipple_V1_PhotoAttached
        public var bytes: [UInt8]
    }

    /// Attaches a photo (JPEG or PNG, at most ``PhotoFile/maximumBytes``) to one of the
    /// client's consultations, sessions, touch-ups or reactions: its metadata stripped,
    /// sealed with the client's key, stored beside the log and named by a `PhotoAttached`
    /// event, all in one transaction.
    ///
    /// - Throws: ``ServiceError``: `badInput` for bytes that are not a photo kept (naming
    ///   why), `refused` (no photo consent, not the client's record, erased), `denied`.
    public func addPhoto(
        client: String, to event: String, moment: Stipple_V1_PhotoMoment, bytes: [UInt8], takenAt: Int64? = nil
    ) async throws(ServiceError) -> Recorded {
        let id = Self.clientID(client)
        guard !id.isEmpty else { throw ServiceError.badInput("name the client") }
        let photo: PhotoFile
        do {
            photo = try PhotoFile(bytes)
        } catch {
            throw ServiceError.badInput(error.description + ". Nothing was recorded.")
        }
        let master = try await classified { try await service.masterKey() }
        let decision = Photos.attaching(
            photo, client: id, to: event, moment: moment, takenAt: takenAt ?? configuration.nowSeconds,
            master: master, metadata: EventMetadata(), id: configuration.newID())
        return try await write([authorized(decision, target: (Recorder.Streams.client(id), .recordClinical, false), line: nil)])
    }

    /// One of the client's photos, by the hash its event names, for those who may read the
    /// client's record; the access is logged (`client photo`) before it is returned.
    ///
    /// - Throws: ``ServiceError``: `denied` (as for a record one may not read), `notFound`
    ///   (no such photo of this client), `refused` once the client is erased.
    public func photo(client: String, sha256: String, purpose: String? = nil) async throws(ServiceError) -> ShownPhoto {
        let id = Self.clientID(client)
        guard !id.isEmpty else { throw ServiceError.badInput("name the client") }
        let clinic = try await classified { try await EventAccess.registrationClinic(ofClient: id, log: log) }
        try requireWithoutRevealing(.readClinical, clinic: clinic)
        guard try await classified({ try await clientExists(id) }) else { throw ServiceError.notFound("there is no client \(id) in this log") }
        guard let keys = try await classified({ try await service.clientKeysIfAvailable() }) else {
            throw ServiceError.failure("the master key file is not there: no photo can be opened without it")
        }
        // What can be told without the photo comes first: a mistyped hash or an erased
        // client logs no access for a photo nobody receives.
        let events = try await classified { try await log.read(stream: Recorder.Streams.client(id), limit: Int.max) }
        let wanted = sha256.lowercased()
        let named = events.lazy.filter { $0.type == "PhotoAttached" }
            .compactMap { try? Recorder.decode($0) as? Stipple_V1_PhotoAttached }.first { $0.sealedSha256 == wanted }
        guard let photo = named else { throw ServiceError.notFound("client \(id) has no photo \(sha256)") }
        if try await classified({ try await ClientKeys.isErased(id, in: log) }) {
            throw ServiceError(.refused, "client \(id)'s personal data was erased: their photos are gone")
        }
        try await disclose(id, purpose: purpose, use: .photo)
        do {
            return ShownPhoto(photo: photo, bytes: try await Photos.open(photo, client: id, keys: keys))
        } catch Photos.Unavailable.erased {
            throw ServiceError(.refused, "client \(id)'s personal data was erased: their photos are gone")
        } catch {
            throw ServiceError(error)
        }
    }
}
