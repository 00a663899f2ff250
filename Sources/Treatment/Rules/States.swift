import Foundation
import SwiftProtobuf

/// What the rules need to know of a client's stream, folded from its events.
public struct ClientState: Sendable, Hashable {
    /// One session or touch-up done.
    public struct Procedure: Sendable, Hashable {
        /// Number in the course; 0 for a touch-up.
        public var number: Int32
        public var clinicID: String
        /// When it started (seconds since 1970, UTC); its day is the clinic's local day.
        public var startedAt: Int64

        public func day(in times: ClinicTimes) -> Day { times[clinicID].day(of: startedAt) }
    }

    public var registered = false
    public var consentSigned = false
    /// A consent covering photos is on file (photos may be taken).
    public var photoConsent = false
    public var confidential = false
    public var procedures: [Procedure] = []
    /// Ids of every event of the stream (amendments must point at one of them).
    public var eventIDs: Set<UUID> = []
    /// Where each session's or touch-up's event id stands in ``procedures`` (its typed
    /// corrections fold into it).
    var procedureIndex: [UUID: Int] = [:]

    public init() {}

    /// The highest session number recorded so far (0 before the first).
    public var lastSessionNumber: Int32 { procedures.map(\.number).max() ?? 0 }

    /// Folds one event (already upcast to its newest schema) into the state.
    public mutating func apply(type: String, message: any SwiftProtobuf.Message, id: UUID) {
        eventIDs.insert(id)
        switch message {
        case is Stipple_V1_ClientRegistered: registered = true
        case let consent as Stipple_V1_ConsentSigned:
            // Only a consent that covers the procedure allows sessions.
            if consent.coversProcedure { consentSigned = true }
            if consent.coversPhotos { photoConsent = true }
        case let session as Stipple_V1_SessionRecordedV2:
            procedureIndex[id] = procedures.count
            procedures.append(Procedure(number: session.sessionNumber, clinicID: session.clinicID, startedAt: session.startedAt.seconds))
        case let touchUp as Stipple_V1_TouchUpRecorded:
            procedureIndex[id] = procedures.count
            procedures.append(Procedure(number: 0, clinicID: touchUp.clinicID, startedAt: touchUp.startedAt.seconds))
        case let amended as Stipple_V1_RecordAmended:
            // A typed correction of a session or touch-up: the rules see it as corrected
            // (its number, clinic and start), as the reports do.
            guard let target = UUID(uuidString: amended.correctsEventID), let index = procedureIndex[target] else { break }
            // The three fields kept, as the event's own type (a touch-up is number 0).
            let procedure = procedures[index]
            if procedure.number > 0 {
                var session = Stipple_V1_SessionRecordedV2()
                session.sessionNumber = procedure.number
                session.clinicID = procedure.clinicID
                session.startedAt.seconds = procedure.startedAt
                guard let corrected = Amendments.corrected(session, by: amended) as? Stipple_V1_SessionRecordedV2 else { break }
                procedures[index] = Procedure(number: corrected.sessionNumber, clinicID: corrected.clinicID, startedAt: corrected.startedAt.seconds)
            } else {
                var touchUp = Stipple_V1_TouchUpRecorded()
                touchUp.clinicID = procedure.clinicID
                touchUp.startedAt.seconds = procedure.startedAt
                guard let corrected = Amendments.corrected(touchUp, by: amended) as? Stipple_V1_TouchUpRecorded else { break }
                procedures[index] = Procedure(number: 0, clinicID: corrected.clinicID, startedAt: corrected.startedAt.seconds)
            }
        case is Stipple_V1_ClientMarkedConfidential: confidential = true
        case is Stipple_V1_ClientConfidentialityLifted: confidential = false
        default: break
        }
    }
}

/// What the rules need to know of a technician's stream.
public struct TechnicianState: Sendable, Hashable {
    /// One certification and what happened to it, kept as periods so that a renewal or a
    /// lifted suspension never changes what held on an earlier day (audits ask about the past).
    public struct Certification: Sendable, Hashable {
        /// A suspension from a day until the renewal that lifted it (that day excluded), or open.
        public struct Suspension: Sendable, Hashable {
            public var from: Day
            public var until: Day?
        }

        public var level: Stipple_V1_CertificationLevel
        /// Periods in force: from the grant (or a renewal) to its expiry, both included.
        public var validity: [ClosedRange<Day>]
        public var suspensions: [Suspension] = []
        public var revokedOn: Day?

        public init(level: Stipple_V1_CertificationLevel, issuedOn: Day, expiresOn: Day) {
            self.level = level
            validity = issuedOn <= expiresOn ? [issuedOn...expiresOn] : []
        }

        /// The last day in force as granted or renewed (suspensions and revocation aside).
        public var expiresOn: Day? { validity.map(\.upperBound).max() }

        /// Whether it is in force on `day`, at a real level.
        public func holds(on day: Day) -> Bool {
            guard Certification.isRealLevel(level), validity.contains(where: { $0.contains(day) }) else { return false }
            if let revokedOn, revokedOn <= day { return false }
            return !suspensions.contains { $0.from <= day && ($0.until.map { day < $0 } ?? true) }
        }

        /// Trainee to trainer; not the proto default nor a level this build does not know.
        static func isRealLevel(_ level: Stipple_V1_CertificationLevel) -> Bool {
            switch level {
            case .trainee, .certified, .senior, .trainer: return true
            default: return false
            }
        }
    }

    public var registered = false
    public var certifications: [String: Certification] = [:]
    /// Days on which bloodborne-pathogens training was completed.
    public var bloodbornePathogensTraining: [Day] = []
    /// The hepatitis B statuses put on file, by the day each counts from.
    public var hepatitisB: [Day: Stipple_V1_HepatitisBStatus] = [:]

    public init() {}

    /// The highest certification level in force on `day`, if any (always a real level).
    public func level(on day: Day) -> Stipple_V1_CertificationLevel? {
        certifications.values.filter { $0.holds(on: day) }.map(\.level).max { $0.rawValue < $1.rawValue }
    }

    /// The hepatitis B status on file on `day` (the newest put on file by then), if any.
    public func hepatitisBStatus(on day: Day) -> Stipple_V1_HepatitisBStatus? { hepatitisBOnFile(on: day)?.status }

    /// That status with the day it counts from.
    public func hepatitisBOnFile(on day: Day) -> (from: Day, status: Stipple_V1_HepatitisBStatus)? {
        hepatitisB.filter { $0.key <= day }.max { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Whether bloodborne-pathogens training was completed within the 12 months up to `day`.
    public func bloodbornePathogensTrainingCurrent(on day: Day) -> Bool {
        bloodbornePathogensTraining.contains { $0 <= day && day < $0.adding(months: 12) }
    }

    public mutating func apply(type: String, message: any SwiftProtobuf.Message, id: UUID) {
        switch message {
        case is Stipple_V1_TechnicianRegistered: registered = true
        case let granted as Stipple_V1_CertificationGranted:
            guard let issued = Day(granted.issuedOn), let expires = Day(granted.expiresOn) else { return }
            certifications[granted.certificationID] = Certification(level: granted.level, issuedOn: issued, expiresOn: expires)
        case let renewed as Stipple_V1_CertificationRenewed:
            guard var certification = certifications[renewed.certificationID], let expires = Day(renewed.expiresOn) else { return }
            // In force again from the renewal day (or, without one, from the old expiry);
            // the renewal lifts a suspension from that day on, not before.
            let from = Day(renewed.renewedOn) ?? certification.expiresOn ?? expires
            if from <= expires { certification.validity.append(from...expires) }
            for index in certification.suspensions.indices where certification.suspensions[index].until == nil {
                certification.suspensions[index].until = max(from, certification.suspensions[index].from)
            }
            certifications[renewed.certificationID] = certification
        case let suspended as Stipple_V1_CertificationSuspended:
            // Without a readable day, suspended from the start: the safe reading.
            let from = Day(suspended.suspendedOn) ?? certifications[suspended.certificationID]?.validity.first?.lowerBound
            if let from { certifications[suspended.certificationID]?.suspensions.append(.init(from: from, until: nil)) }
        case let revoked as Stipple_V1_CertificationRevoked:
            let fallback = certifications[revoked.certificationID]?.validity.first?.lowerBound
            certifications[revoked.certificationID]?.revokedOn = Day(revoked.revokedOn) ?? fallback
        case let training as Stipple_V1_BloodbornePathogensTrainingRecorded:
            if let day = Day(training.completedOn) { bloodbornePathogensTraining.append(day) }
        case let hepatitisB as Stipple_V1_HepatitisBStatusRecorded:
            if let day = Day(hepatitisB.onFileFrom), hepatitisB.status != .unspecified { self.hepatitisB[day] = hepatitisB.status }
        default: break
        }
    }
}

/// What the rules need to know of a pigment or cartridge lot.
public struct BatchState: Sendable, Hashable {
    public var received: Stipple_V1_BatchReceived?
    public var recalled: Stipple_V1_BatchRecalled?
    /// When the lot was thrown away, if it was (seconds since 1970, UTC).
    public var discardedAt: Int64?
    /// When the lot was first opened, if it was.
    public var openedAt: Int64?

    public init() {}

    /// The expiry printed on the lot, when received with a valid one.
    public var expiry: Day? { received.flatMap { Day($0.expiry) } }

    /// The local day of the recall at a clinic, if recalled (a recall reaches every clinic at once).
    public func recalledOn(in time: ClinicTime) -> Day? { recalled.map { time.day(of: $0.recalledAt) } }

    /// The local day the lot was thrown away, if it was.
    public func discardedOn(in time: ClinicTime) -> Day? { discardedAt.map { time.day(of: $0) } }

    public mutating func apply(type: String, message: any SwiftProtobuf.Message, id: UUID) {
        switch message {
        case let received as Stipple_V1_BatchReceived: self.received = received
        case let recalled as Stipple_V1_BatchRecalled: self.recalled = recalled
        case let discarded as Stipple_V1_BatchDiscarded: discardedAt = discarded.discardedAt.seconds
        case let opened as Stipple_V1_BatchOpened: openedAt = openedAt ?? opened.openedAt.seconds
        default: break
        }
    }
}
