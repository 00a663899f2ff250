import Discretion
import EventLog
import Foundation
import Recording
import Treatment

/// Events read, as the reader may see them.
public struct EventsRead: Sendable {
    public var events: [ShownEvent]
    /// No master key file was there: personal data is shown sealed.
    public var personalSealed: Bool
    /// The position to read the log on from, when there may be more (log reads only).
    public var next: Int64?
}

extension Session {
    /// Events of one stream, forward from version `from` (default the first) or backward
    /// from it (default the newest). A client's record is disclosed through the read path:
    /// checked, its purpose asked for when confidential, logged before it is returned.
    ///
    /// - Throws: ``ServiceError`` (`denied`, `failure`).
    public func readStream(
        _ stream: String, from version: Int64? = nil, backward: Bool = false, limit: Int = Int.max, purpose: String? = nil
    ) async throws(ServiceError) -> EventsRead {
        try require(.readClinical)
        if StreamCategory(stream: stream) == .client, try await classified({ try await log.streamVersion(stream) }) > 0 {
            try await disclose(Self.clientID(stream), purpose: purpose, use: .read)
        }
        if StreamCategory(stream: stream) == .incident {
            // An incident whose exposed person is a client shows their sealed data: it is a
            // read of their record.
            let events = try await classified { try await log.read(stream: stream, limit: Int.max) }
            for client in Set(events.compactMap(Self.exposedClient)).sorted() {
                try await disclose(client, purpose: purpose, use: .read)
            }
        }
        return try await classified {
            let keys = try await service.clientKeysIfAvailable()
            var shown: [ShownEvent] = []
            var remaining = limit
            var version = version
            let pageSize = 1_000
            while remaining > 0 {
                let page = try await log.read(stream: stream, from: version, direction: backward ? .backward : .forward, limit: min(pageSize, remaining))
                for event in page { shown.append(try await self.shown(event, keys: keys)) }
                remaining -= page.count
                guard let last = page.last, page.count == min(pageSize, remaining + page.count) else { break }
                version = backward ? last.streamVersion - 1 : last.streamVersion + 1
                if version! < 1 { break }
            }
            return EventsRead(events: shown, personalSealed: keys == nil, next: nil)
        }
    }

    /// One page of the whole log in position order, from `position`. Every client shown is
    /// logged; once the log holds confidential clients, reading it all needs a purpose.
    ///
    /// - Parameter limit: at most this many events (1 to 10,000).
    /// - Throws: ``ServiceError`` (`denied`, with ``ServiceError/PurposeRequired/wholeLog``
    ///   when the purpose is missing).
    public func readLog(from position: Int64 = 1, limit: Int = 1_000, purpose: String? = nil) async throws(ServiceError) -> EventsRead {
        try require(.readClinical)
        guard position >= 1 else { throw ServiceError.badInput("the first position is 1, not \(position)") }
        guard (1...10_000).contains(limit) else { throw ServiceError.badInput("a page holds 1 to 10000 events, not \(limit)") }
        if Self.isBlank(purpose), try await classified({ try await log.storedTypeVersions() }).contains(where: { $0.type == "ClientMarkedConfidential" }) {
            throw ServiceError(
                .denied, "refused: the log holds confidential clients: say why you read it all (the purpose is kept in the access log)",
                detail: .purposeRequired(.wholeLog))
        }
        let page = try await classified { try await log.readAll(from: position, limit: limit) }
        let clients = Set(page.compactMap { event in
            StreamCategory(stream: event.stream) == .client ? Self.clientID(event.stream) : Self.exposedClient(event)
        })
        try await logAccess(to: Array(clients), purpose: purpose, use: .readAll)
        return try await classified {
            let keys = try await service.clientKeysIfAvailable()
            var shown: [ShownEvent] = []
            for event in page { shown.append(try await self.shown(event, keys: keys)) }
            return EventsRead(events: shown, personalSealed: keys == nil, next: page.count == limit ? page.last.map { $0.position + 1 } : nil)
        }
    }

    /// A client's whole record with personal data opened, and the access log of it, as
    /// one JSON document (subject access; admins). The export itself is logged.
    ///
    /// - Throws: ``ServiceError`` (`notFound`, `denied`).
    public func export(client: String, purpose: String? = nil) async throws(ServiceError) -> JSONValue {
        try require(.exportRecords)
        let id = Self.clientID(client)
        guard try await classified({ try await clientExists(id) }) else { throw ServiceError.notFound("there is no client \(id) in this log") }
        let keys = try await classified { try await service.clientKeysIfAvailable() }
        try await disclose(id, purpose: purpose, use: .export)
        return try await classified {
            var events: [JSONValue] = []
            var photos: [JSONValue] = []
            for event in try await log.read(stream: Recorder.Streams.client(id), limit: Int.max) {
                events.append(try await shown(event, keys: keys).json)
                // The photos themselves are part of the person's record (subject access).
                guard let keys, event.type == "PhotoAttached", let photo = try Recorder.decode(event) as? Stipple_V1_PhotoAttached else { continue }
                var entry: [String: JSONValue] = ["eventId": .string(event.id.uuidString.lowercased()), "sha256": .string(photo.sealedSha256), "mediaType": .string(photo.mediaType)]
                if let opened = try? await Photos.open(photo, client: id, keys: keys) {
                    entry["base64"] = .string(Data(opened).base64EncodedString())
                } else {
                    entry["unavailable"] = .string("erased or unreadable")
                }
                photos.append(.object(entry))
            }
            let accesses = try await log.read(stream: Recorder.Streams.access(id), limit: Int.max).map { EventJSON.object($0) }
            return JSONValue.object([
                "client": .string(id),
                "exportedAt": .string(Timestamp.iso8601(seconds: configuration.nowSeconds)),
                "exportedBy": .string(principal.user),
                "events": .array(events),
                "photos": .array(photos),
                "accessLog": .array(accesses),
            ])
        }
    }

    /// The exposed person's client id of an exposure incident, when they are a client.
    static func exposedClient(_ event: RecordedEvent) -> String? {
        guard StreamCategory(stream: event.stream) == .incident,
              let incident = try? Recorder.decode(event) as? Stipple_V1_ExposureIncidentRecorded,
              !incident.exposedClientID.isEmpty
        else { return nil }
        return incident.exposedClientID
    }

    /// Whether a purpose says nothing (see ``AccessLog/isBlank(_:)``).
    static func isBlank(_ purpose: String?) -> Bool { AccessLog.isBlank(purpose) }
}

// MARK: - Clinic time

extension Session {
    /// A clinic's time: the zone of its `ClinicOpened` (the chain's default, America/Toronto,
    /// for a clinic without one). What a named command reads a local time in. A clinic's
    /// zone is no record: every user may ask.
    public func clinicTime(_ clinic: String) async throws(ServiceError) -> ClinicTime {
        let events = try await classified { try await log.read(stream: Recorder.Streams.clinic(clinic), limit: Int.max) }
        var times = ClinicTimes()
        for event in events { if let message = try? Recorder.decode(event) { times.apply(clinic: clinic, message) } }
        return times[clinic]
    }

    /// The time of the clinic where `client` was registered, for a command about the client
    /// that names no clinic (a consent, a reaction, a reschedule).
    ///
    /// Only a user the access policy lets see the client learns that clinic's zone; anyone
    /// else gets the chain's default, and their write is then refused with the words a
    /// client that does not exist gets: the answer tells nothing about the client.
    public func clinicTime(ofClient client: String) async throws(ServiceError) -> ClinicTime {
        let events = try await classified { try await log.read(stream: Recorder.Streams.client(client), limit: Int.max) }
        // Allowed with or without a purpose: the zone is no part of the record, and nothing is logged.
        guard AccessLog.verdict(for: principal, clientEvents: events, purpose: nil) != .refused,
              let first = events.first, let message = try? Recorder.decode(first),
              let clinic = EventAccess.clinic(of: message), !clinic.isEmpty
        else { return .chainDefault }
        return try await clinicTime(clinic)
    }
}

extension Session {
    /// The lots the user may see, by their receipts: a clinic's staff see their clinics'
    /// lots only (another clinic's lot is, to them, a lot never received).
    var lotVisible: Recorder.LotVisibility {
        let principal = self.principal
        return { received in !principal.role.isClinicScoped || received.map { principal.clinics.contains($0.clinicID) } ?? false }
    }

    /// The id of the lot a user names (see ``LotIdentity``): a lot's id as it is, or a lot
    /// number, with its manufacturer where two manufacturers' lots share the number. A lot
    /// found nowhere gets the id the values make (what it is called if it is received).
    ///
    /// - Throws: ``ServiceError`` `badInput` when the number is ambiguous, or is not the
    ///   named manufacturer's, among the lots the user may see.
    public func lotID(_ lot: String, manufacturer: String = "") async throws(ServiceError) -> String {
        let lot = lot.trimmingCharacters(in: .whitespaces), manufacturer = manufacturer.trimmingCharacters(in: .whitespaces)
        let number = LotIdentity.number(of: lot)
        let visible = lotVisible
        let candidates = try await classified {
            try await service.lotDirectory.current(log: log).compactMap { id, state -> (id: String, received: Stipple_V1_BatchReceived?)? in
                LotIdentity.number(of: id) == number && visible(state.received) ? (id, state.received) : nil
            }
        }
        let resolution = LotIdentity.resolve(lot: lot, manufacturer: manufacturer, among: candidates)
        if let problem = resolution.problem(lot: lot, manufacturer: manufacturer) { throw ServiceError.badInput(problem) }
        return resolution.id(lot: lot, manufacturer: manufacturer)
    }

    /// The time of the clinic that received `lot`, for a command about the lot that names
    /// no clinic (a discard). Users of other clinics get the chain's default (as for
    /// ``clinicTime(ofClient:)``: the answer tells nothing of another clinic's lots).
    public func clinicTime(ofLot lot: String) async throws(ServiceError) -> ClinicTime {
        guard let clinic = try await clinic(ofLot: lot) else { return .chainDefault }
        return try await clinicTime(clinic)
    }

    /// The clinic that received `lot`, for a command about the lot done there (opening
    /// it); `nil` for a lot never received, or another clinic's to a clinic's staff.
    public func clinic(ofLot lot: String) async throws(ServiceError) -> String? {
        let events = try await classified { try await log.read(stream: Recorder.Streams.batch(lot), limit: 1) }
        guard let first = events.first, let message = try? Recorder.decode(first),
              let clinic = EventAccess.clinic(of: message), !clinic.isEmpty,
              principal.role == .admin || principal.role == .auditor || principal.clinics.contains(clinic)
        else { return nil }
        return clinic
    }
}
