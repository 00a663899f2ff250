import Discretion
import EventLog
import Foundation
import Recording
import Treatment

/// A technician's file: who they are, where they work, their certifications and training,
/// as their stream says today.
public struct TechnicianFile: Sendable, Hashable {
    public struct Assignment: Sendable, Hashable {
        public var clinic: String
        public var from: String
    }

    public struct Certification: Sendable, Hashable {
        public var id: String
        public var level: String
        public var issuedOn: Day
        public var expiresOn: Day?
        /// In force today (granted, not expired, suspended or revoked).
        public var holds: Bool
        /// "in force", "expired", "suspended since …", "revoked on …".
        public var state: String
        /// Each renewal's period, oldest first.
        public var periods: [String]
    }

    /// One recorded fact of the technician, oldest first.
    public struct Entry: Sendable, Hashable {
        public var position: Int64
        public var day: String
        public var what: String
        public var by: String
        /// Health information (a hepatitis B status): shown to those who may read it only.
        var isHealth = false
    }

    public var id: String
    public var name: String
    public var clinics: [Assignment]
    public var certifications: [Certification]
    /// Days bloodborne-pathogens training was completed, newest first.
    public var trainings: [Day]
    /// When the latest training lapses (12 months after it).
    public var trainingLapses: Day?
    public var trainingCurrent: Bool
    /// The hepatitis B status on file today ("recorded", "declined", "exempt"), and from
    /// when; "on file" only for those who may not read staff health records.
    public var hepatitisB: String?
    /// The highest level in force today.
    public var level: String?
    public var history: [Entry]
    public var today: Day

    /// Whether a certification or the training lapses within 30 days of today (or has).
    public var lapsingSoon: Bool {
        let soon = today.adding(days: 30)
        return !trainingCurrent || (trainingLapses.map { $0 <= soon } ?? true)
            || certifications.contains { $0.holds && ($0.expiresOn.map { $0 <= soon } ?? false) }
    }

    /// The file without its health information (the hepatitis B status, and its entries),
    /// for those who may not read it: they learn only that a status is on file.
    func withoutHealth() -> TechnicianFile {
        var file = self
        if file.hepatitisB != nil { file.hepatitisB = "on file" }
        for index in file.history.indices where file.history[index].isHealth {
            file.history[index].what = "hepatitis B status put on file"
        }
        return file
    }

    static func fold(id: String, events: [RecordedEvent], today: Day) throws -> TechnicianFile {
        var state = TechnicianState()
        var file = TechnicianFile(
            id: id, name: "", clinics: [], certifications: [], trainings: [], trainingLapses: nil, trainingCurrent: false, hepatitisB: nil, level: nil,
            history: [], today: today)
        for event in events {
            let message = try Recorder.decode(event)
            state.apply(type: event.type, message: message, id: event.id)
            let what: String
            switch message {
            case let registered as Stipple_V1_TechnicianRegistered:
                file.name = registered.personal.name
                what = "registered"
            case let assigned as Stipple_V1_TechnicianAssignedToClinic:
                file.clinics.append(Assignment(clinic: assigned.clinicID, from: assigned.fromDay))
                what = "assigned to \(assigned.clinicID) from \(assigned.fromDay)"
            case let granted as Stipple_V1_CertificationGranted:
                what = "certification \(granted.certificationID) granted (\(TypedInput.certificationLevels.name(of: granted.level) ?? "unknown level")), \(granted.issuedOn) to \(granted.expiresOn), by \(granted.issuer)"
            case let renewed as Stipple_V1_CertificationRenewed:
                what = "certification \(renewed.certificationID) renewed on \(renewed.renewedOn) to \(renewed.expiresOn)"
            case let suspended as Stipple_V1_CertificationSuspended:
                what = "certification \(suspended.certificationID) suspended from \(suspended.suspendedOn)" + (suspended.reason.isEmpty ? "" : ": \(suspended.reason)")
            case let revoked as Stipple_V1_CertificationRevoked:
                what = "certification \(revoked.certificationID) revoked on \(revoked.revokedOn)" + (revoked.reason.isEmpty ? "" : ": \(revoked.reason)")
            case let training as Stipple_V1_BloodbornePathogensTrainingRecorded:
                what = "bloodborne-pathogens training on \(training.completedOn)" + (training.provider.isEmpty ? "" : " with \(training.provider)")
            case let hepatitisB as Stipple_V1_HepatitisBStatusRecorded:
                what = "hepatitis B status put on file from \(hepatitisB.onFileFrom): \(TypedInput.hepatitisBStatuses.name(of: hepatitisB.status) ?? "unknown")"
            default:
                what = event.type
            }
            let by = (try? event.metadata())?.actor ?? ""
            // The day recorded, in the chain's zone (an evening's entry is not the next day's).
            let day = ClinicTime.chainDefault.day(of: event.recordedAtMicros / 1_000_000).description
            file.history.append(Entry(position: event.position, day: day, what: what, by: by, isHealth: event.type == "HepatitisBStatusRecorded"))
        }
        file.certifications = state.certifications.sorted { $0.key < $1.key }.map { id, certification in
            let holds = certification.holds(on: today)
            var words: String
            if let revoked = certification.revokedOn, revoked <= today {
                words = "revoked on \(revoked)"
            } else if let suspension = certification.suspensions.last(where: { $0.from <= today && ($0.until.map { today < $0 } ?? true) }) {
                words = "suspended since \(suspension.from)"
            } else if holds {
                words = "in force"
            } else {
                words = (certification.expiresOn.map { $0 < today } ?? false) ? "expired" : "not in force"
            }
            return Certification(
                id: id, level: TypedInput.certificationLevels.name(of: certification.level) ?? "unknown", issuedOn: certification.validity.first?.lowerBound ?? today,
                expiresOn: certification.expiresOn, holds: holds, state: words,
                periods: certification.validity.map { "\($0.lowerBound) to \($0.upperBound)" })
        }
        file.trainings = state.bloodbornePathogensTraining.sorted(by: >)
        file.trainingLapses = file.trainings.first.map { $0.adding(months: 12) }
        file.trainingCurrent = state.bloodbornePathogensTrainingCurrent(on: today)
        file.level = state.level(on: today).flatMap { TypedInput.certificationLevels.name(of: $0) }
        if let onFile = state.hepatitisBOnFile(on: today) {
            file.hepatitisB = "\(TypedInput.hepatitisBStatuses.name(of: onFile.status) ?? "unknown") (on file from \(onFile.from))"
        }
        return file
    }
}

extension Session {
    /// The chain's technicians as their files say today: for admins and auditors all of
    /// them, for a clinic's staff those assigned to one of their clinics.
    ///
    /// - Throws: ``ServiceError`` (`denied` for a role that reads neither reports nor bookings).
    public func technicians() async throws(ServiceError) -> [TechnicianFile] {
        let chainWide = may(.readReports)
        guard chainWide || mayAnywhere(.recordBookings) else { try require(.readReports); return [] }
        let files = try await technicianFiles(on: ClinicTime.chainDefault.day(of: configuration.nowSeconds))
        let health = may(.readStaffHealth)
        return files.filter { file in chainWide || file.clinics.contains { may(.recordBookings, clinic: $0.clinic) } }
            .map { health ? $0 : $0.withoutHealth() }
            .sorted { $0.id.localizedStandardCompare($1.id) == .orderedAscending }
    }

    /// Every technician's file as of `today`, unfiltered (callers check who may see which).
    func technicianFiles(on today: Day) async throws(ServiceError) -> [TechnicianFile] {
        try await classified {
            var files: [TechnicianFile] = []
            for stream in try await log.streamNames(prefix: StreamCategory.technician.prefix) {
                guard let id = StreamCategory.technician.id(in: stream) else { continue }
                files.append(try TechnicianFile.fold(id: id, events: try await log.read(stream: stream, limit: Int.max), today: today))
            }
            return files
        }
    }

    /// One technician's file, with the same permission as ``technicians()``; a technician
    /// of another clinic gets the words an unknown one gets.
    ///
    /// - Throws: ``ServiceError`` (`notFound`).
    public func technician(_ id: String) async throws(ServiceError) -> TechnicianFile {
        let stream = Recorder.Streams.technician(id)
        let events = try await classified { try await log.read(stream: stream, limit: Int.max) }
        let unknown = ServiceError.notFound("there is no technician \(id) that you may see")
        guard !events.isEmpty else { throw unknown }
        let file = try await classified { try TechnicianFile.fold(id: id, events: events, today: ClinicTime.chainDefault.day(of: configuration.nowSeconds)) }
        guard may(.readReports) || file.clinics.contains(where: { may(.recordBookings, clinic: $0.clinic) }) else { throw unknown }
        return may(.readStaffHealth) ? file : file.withoutHealth()
    }
}
