import Discretion
import EventLog
import Foundation
import Recording
import Reports
import SwiftProtobuf
import Treatment

/// What a client's page shows: who they are (to those who may see it), the course at a
/// glance, and the full timeline.
public struct ClientPage: Sendable {
    public var client: String
    public var clinic: String
    /// Name and contact as the user may see them (opened with the client's key), or erased.
    public var contact: ClientContact
    public var pseudonym: String
    public var confidential: Bool
    public var course: CourseGlance
    /// The timeline, oldest first (the history report).
    public var timeline: ClinicReports.Report
    /// The clinic's time: dates on the page are local there.
    public var time: ClinicTime
}

/// A client's course at a glance, folded from their events, sessions and touch-ups as
/// their typed amendments correct them (``Amendments``; the timeline shows both).
public struct CourseGlance: Sendable, Hashable {
    public struct Procedure: Sendable, Hashable {
        public var number: Int32
        public var touchUp: Bool
        public var day: Day
        public var clinic: String
        public var technician: String
        public var areas: [String]
        public var lots: [String]
    }

    public struct Booking: Sendable, Hashable {
        public var id: String
        public var startsAt: Int64
        public var clinic: String
        public var technician: String
        public var sessionNumber: Int32
        public var touchUp: Bool
    }

    public struct Consent: Sendable, Hashable {
        /// `smp-consent v4` (a consent from before forms were published: its version only).
        public var form: String
        /// The form's id and version, when the consent names a published form.
        public var formID = ""
        public var version = ""
        public var day: Day
        public var covers: [String]
    }

    /// Sessions the consultation estimated (0: no consultation yet).
    public var estimatedSessions: Int32 = 0
    /// Areas the consultation planned.
    public var plannedAreas: [String] = []
    public var procedures: [Procedure] = []
    /// Bookings not yet cancelled, missed or recorded, soonest first.
    public var bookings: [Booking] = []
    /// The first booking from now on.
    public var nextBooking: Booking?
    /// The consents on file, newest last.
    public var consents: [Consent] = []
    /// How many procedures worked each area (for the scalp map), by area name.
    public var areaCounts: [String: Int] = [:]
    /// The client's facts an amendment may correct (not the amendments, bookings' moves or
    /// access entries), oldest first.
    public var correctable: [Fact] = []

    /// One of the client's recorded facts, as an amendment names it.
    public struct Fact: Sendable, Hashable {
        public var id: UUID
        public var position: Int64
        public var type: String
        public var recordedAtMicros: Int64
    }

    /// The types an amendment corrects.
    static let correctableTypes: Set<String> = [
        "ClientRegistered", "ConsultationRecorded", "ConsentSigned", "SessionBooked", "SessionRecorded", "TouchUpRecorded", "AdverseReactionReported",
    ]

    public var sessionsDone: Int { procedures.filter { !$0.touchUp }.count }

    /// The days between each session and the one before it.
    public var spacing: [Int] {
        let days = procedures.filter { !$0.touchUp }.map(\.day)
        return zip(days.dropFirst(), days).map { $0.0.daysSinceEpoch - $0.1.daysSinceEpoch }
    }

    /// Folds a client's events (personal data not needed) in their clinic's time.
    static func fold(_ events: [RecordedEvent], times: ClinicTimes, home: String) throws -> CourseGlance {
        var glance = CourseGlance()
        var bookings: [String: Booking] = [:]
        func areaNames(_ areas: [Stipple_V1_ScalpArea]) -> [String] {
            areas.compactMap(TypedInput.areas.name(of:))
        }
        // Each message as corrected by the typed amendments after it.
        let messages = Amendments.folded(try events.map { (id: $0.id, message: try Recorder.decode($0)) })
        for (event, message) in zip(events, messages) {
            if correctableTypes.contains(event.type) {
                glance.correctable.append(Fact(id: event.id, position: event.position, type: event.type, recordedAtMicros: event.recordedAtMicros))
            }
            switch message {
            case let consultation as Stipple_V1_ConsultationRecorded:
                glance.estimatedSessions = consultation.estimatedSessions
                glance.plannedAreas = areaNames(consultation.areas)
            case let consent as Stipple_V1_ConsentSigned:
                let clinic = consent.clinicID.isEmpty ? home : consent.clinicID
                glance.consents.append(Consent(
                    form: consent.formLabel, formID: consent.formID, version: consent.formVersion, day: times[clinic].day(of: consent.signedAt),
                    covers: consent.scopes))
            case let booked as Stipple_V1_SessionBooked:
                bookings[booked.bookingID] = Booking(
                    id: booked.bookingID, startsAt: booked.startsAt.seconds, clinic: booked.clinicID, technician: booked.technicianID,
                    sessionNumber: booked.sessionNumber, touchUp: booked.touchUp)
            case let moved as Stipple_V1_SessionRescheduled:
                bookings[moved.bookingID]?.startsAt = moved.startsAt.seconds
            case let cancelled as Stipple_V1_SessionCancelled:
                bookings[cancelled.bookingID] = nil
            case let missed as Stipple_V1_SessionNoShow:
                bookings[missed.bookingID] = nil
            case let session as Stipple_V1_SessionRecordedV2:
                bookings[session.bookingID] = nil
                let areas = areaNames(session.areas)
                glance.procedures.append(Procedure(
                    number: session.sessionNumber, touchUp: false, day: times[session.clinicID].day(of: session.startedAt), clinic: session.clinicID,
                    technician: session.technicianID, areas: areas, lots: session.pigments.map(\.lotID) + session.cartridges.map(\.lotID)))
                for area in areas { glance.areaCounts[area, default: 0] += 1 }
            case let touchUp as Stipple_V1_TouchUpRecorded:
                bookings[touchUp.bookingID] = nil
                let areas = areaNames(touchUp.areas)
                glance.procedures.append(Procedure(
                    number: 0, touchUp: true, day: times[touchUp.clinicID].day(of: touchUp.startedAt), clinic: touchUp.clinicID,
                    technician: touchUp.technicianID, areas: areas, lots: touchUp.pigments.map(\.lotID) + touchUp.cartridges.map(\.lotID)))
                for area in areas { glance.areaCounts[area, default: 0] += 1 }
            default:
                break
            }
        }
        glance.bookings = bookings.values.sorted { ($0.startsAt, $0.id) < ($1.startsAt, $1.id) }
        return glance
    }
}

/// A lot a clinic can use today.
public struct LotOnHand: Sendable, Hashable {
    /// The lot's id (``LotIdentity``): what a form sends and a link names.
    public var id: String
    /// The lot number, as printed.
    public var lot: String
    /// pigment or cartridge.
    public var kind: String
    public var manufacturer: String
    /// The shade of a pigment, the configuration and diameter of a cartridge.
    public var description: String
    public var expiry: Day
    /// A cartridge's configuration (1RL, 3RL) and needle diameter; empty and 0 for a pigment.
    public var configuration: String
    public var diameterMm: Double

    /// The cartridge as typed input writes it (`LOT:3RL:0.25`), for ``TypedInput/cartridge(_:)``.
    /// It names the lot by its id, so that two manufacturers' lots of one number stay apart.
    public var cartridgeInput: String { "\(id):\(configuration):\(diameterMm)" }
}

extension Session {
    /// A client's page, through the one read path: the same checks as the history (the
    /// permission first, revealing nothing; the confidential client's care team and a
    /// purpose), and one access logged (`client page`) before anything is read.
    ///
    /// - Throws: as ``history(client:asOf:purpose:)``.
    public func clientPage(client: String, purpose: String? = nil) async throws(ServiceError) -> ClientPage {
        let id = Self.clientID(client)
        guard !id.isEmpty else { throw ServiceError.badInput("name the client") }
        let clinic = try await classified { try await EventAccess.registrationClinic(ofClient: id, log: log) }
        try requireWithoutRevealing(.readClinical, clinic: clinic)
        guard let clinic, try await classified({ try await clientExists(id) }) else { throw ServiceError(ReportsError.notFound(what: "client", id: id)) }
        try await disclose(id, purpose: purpose, use: .page)
        let contacts = try await contacts(purpose: purpose, use: .page)
        let keys = try await classified { try await service.clientKeysIfAvailable() }
        let reports = service.reports(contacts: contacts, opener: opener(keys: keys))
        try await catchUpForReading(reports)
        let timeline = try await classified { try await reports.history(client: id, asOf: nil) }
        return try await classified {
            let events = try await log.read(stream: Recorder.Streams.client(id), limit: Int.max)
            let times = try await service.clinicTimes(mentionedIn: events)
            let keys = try await service.clientKeysIfAvailable()
            var course = try CourseGlance.fold(events, times: times, home: clinic)
            course.nextBooking = course.bookings.first { $0.startsAt >= configuration.nowSeconds }
            return ClientPage(
                client: id, clinic: clinic, contact: try await contacts([id])[id] ?? ClientContact(),
                pseudonym: try await keys?.pseudonyms().pseudonym(for: id) ?? "C-?", confidential: AccessLog.isConfidential(events),
                course: course, timeline: timeline, time: times[clinic])
        }
    }

    /// The lots `clinic` can use today: received there, not recalled, not discarded, not
    /// past their expiry (the clinic's local day), by kind and lot.
    ///
    /// - Throws: ``ServiceError`` (`denied` for a user who does not record there).
    public func lotsOnHand(at clinic: String) async throws(ServiceError) -> [LotOnHand] {
        try await lots(at: clinic).filter { $0.state == .onHand }.map(\.lot)
    }

    /// The chain's clinics, by id.
    public func clinics() async throws(ServiceError) -> [String] {
        try await classified { try await log.streamNames(prefix: StreamCategory.clinic.prefix).compactMap { StreamCategory.clinic.id(in: $0) }.sorted() }
    }

    /// Every lot received at `clinic`, with what became of it, by kind and lot.
    ///
    /// - Throws: ``ServiceError`` (`denied` for a user who does not record there).
    public func lots(at clinic: String) async throws(ServiceError) -> [LotStatus] {
        try require(.recordClinical, clinic: clinic)
        return try await classified {
            let time = try await service.clinicTimes(mentionedIn: [], plus: [clinic])[clinic]
            let today = time.day(of: configuration.nowSeconds)
            var lots: [LotStatus] = []
            for (id, state) in try await service.lotDirectory.current(log: log) {
                guard let received = state.received, received.clinicID == clinic, let expiry = state.expiry else { continue }
                let cartridge = received.kind == .cartridge
                let configurationName = cartridge ? (received.configuration == .needleConfiguration1Rl ? "1RL" : "3RL") : ""
                let lot = LotOnHand(
                    id: id, lot: received.lot, kind: cartridge ? "cartridge" : "pigment", manufacturer: received.manufacturer,
                    description: cartridge ? "\(configurationName) \(received.diameterMm) mm" : received.shade, expiry: expiry,
                    configuration: configurationName, diameterMm: cartridge ? received.diameterMm : 0)
                let status: LotStatus.State
                if let recalled = state.recalledOn(in: time) {
                    status = .recalled(on: recalled, authority: state.recalled?.authority ?? "", notice: state.recalled?.noticeReference ?? "")
                } else if let discarded = state.discardedOn(in: time) {
                    status = .discarded(on: discarded)
                } else if expiry < today {
                    status = .expired
                } else {
                    status = .onHand
                }
                lots.append(LotStatus(lot: lot, state: status, received: time.day(of: received.receivedAt), opened: state.openedAt.map { time.day(of: $0) }))
            }
            return lots.sorted { ($0.lot.kind, $0.lot.lot, $0.lot.id) < ($1.lot.kind, $1.lot.lot, $1.lot.id) }
        }
    }
}

/// A lot received at a clinic, and what became of it.
public struct LotStatus: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case onHand
        case expired
        case recalled(on: Day, authority: String, notice: String)
        case discarded(on: Day)
    }

    public var lot: LotOnHand
    public var state: State
    public var received: Day
    /// The day it was first opened, if it was.
    public var opened: Day?
}

extension Service {
    /// The times of the clinics that `events` name (and `plus`), read from their streams.
    func clinicTimes(mentionedIn events: [RecordedEvent], plus: Set<String> = []) async throws -> ClinicTimes {
        var clinics = plus
        for event in events {
            if let message = try? Recorder.decode(event), let clinic = Names.clinic(of: message) { clinics.insert(clinic) }
        }
        return try await DecodedPages.clinicTimes(clinics, in: log)
    }
}
