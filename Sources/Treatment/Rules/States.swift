import Foundation
import SwiftProtobuf

/// What the rules need to know of a client's stream, folded from its events.
public struct ClientState: Sendable, Hashable {
    /// One session or touch-up done.
    public struct Procedure: Sendable, Hashable {
        /// Number in the course; 0 for a touch-up.
        public var number: Int32
        public var day: Day
    }

    public var registered = false
    public var consentSigned = false
    public var confidential = false
    public var procedures: [Procedure] = []
    /// Ids of every event of the stream (amendments must point at one of them).
    public var eventIDs: Set<UUID> = []

    public init() {}

    /// The highest session number recorded so far (0 before the first).
    public var lastSessionNumber: Int32 { procedures.map(\.number).max() ?? 0 }

    /// Folds one event (already upcast to its newest schema) into the state.
    public mutating func apply(type: String, message: any SwiftProtobuf.Message, id: UUID) {
        eventIDs.insert(id)
        switch message {
        case is Stipple_V1_ClientRegistered: registered = true
        case is Stipple_V1_ConsentSigned: consentSigned = true
        case let session as Stipple_V1_SessionRecordedV2:
            procedures.append(Procedure(number: session.sessionNumber, day: Day(session.startedAt)))
        case let touchUp as Stipple_V1_TouchUpRecorded:
            procedures.append(Procedure(number: 0, day: Day(touchUp.startedAt)))
        case is Stipple_V1_ClientMarkedConfidential: confidential = true
        case is Stipple_V1_ClientConfidentialityLifted: confidential = false
        default: break
        }
    }
}

/// What the rules need to know of a technician's stream.
public struct TechnicianState: Sendable, Hashable {
    /// One certification and what happened to it.
    public struct Certification: Sendable, Hashable {
        public var level: Stipple_V1_CertificationLevel
        public var issuedOn: Day
        public var expiresOn: Day
        public var suspendedOn: Day?
        public var revokedOn: Day?

        /// Whether it is in force on `day`.
        public func holds(on day: Day) -> Bool {
            guard issuedOn <= day, day <= expiresOn else { return false }
            if let revokedOn, revokedOn <= day { return false }
            if let suspendedOn, suspendedOn <= day { return false }
            return true
        }
    }

    public var registered = false
    public var certifications: [String: Certification] = [:]
    /// Days on which bloodborne-pathogens training was completed.
    public var bloodbornePathogensTraining: [Day] = []

    public init() {}

    /// The highest certification level in force on `day`, if any.
    public func level(on day: Day) -> Stipple_V1_CertificationLevel? {
        certifications.values.filter { $0.holds(on: day) }.map(\.level).max { $0.rawValue < $1.rawValue }
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
            guard let expires = Day(renewed.expiresOn) else { return }
            certifications[renewed.certificationID]?.expiresOn = expires
            // A renewal lifts a suspension.
            certifications[renewed.certificationID]?.suspendedOn = nil
        case let suspended as Stipple_V1_CertificationSuspended:
            certifications[suspended.certificationID]?.suspendedOn = Day(suspended.suspendedOn)
        case let revoked as Stipple_V1_CertificationRevoked:
            certifications[revoked.certificationID]?.revokedOn = Day(revoked.revokedOn)
        case let training as Stipple_V1_BloodbornePathogensTrainingRecorded:
            if let day = Day(training.completedOn) { bloodbornePathogensTraining.append(day) }
        default: break
        }
    }
}

/// What the rules need to know of a pigment or cartridge lot.
public struct BatchState: Sendable, Hashable {
    public var received: Stipple_V1_BatchReceived?
    public var recalled: Stipple_V1_BatchRecalled?
    public var discarded = false

    public init() {}

    /// The expiry printed on the lot, when received with a valid one.
    public var expiry: Day? { received.flatMap { Day($0.expiry) } }

    /// The day of the recall, if recalled.
    public var recalledOn: Day? { recalled.map { Day($0.recalledAt) } }

    public mutating func apply(type: String, message: any SwiftProtobuf.Message, id: UUID) {
        switch message {
        case let received as Stipple_V1_BatchReceived: self.received = received
        case let recalled as Stipple_V1_BatchRecalled: self.recalled = recalled
        case is Stipple_V1_BatchDiscarded: discarded = true
        default: break
        }
    }
}
