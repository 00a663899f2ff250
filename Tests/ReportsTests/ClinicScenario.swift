import EventLog
import Foundation
import Recording
import SwiftProtobuf
import StippleTesting
import Synchronization
import Treatment
@testable import Reports

/// A clock the test moves: events are recorded "on" the days the scenario says.
final class ScenarioClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 0))
    func set(_ day: String, hour: Int = 18) {
        let seconds = Double(Day(day)!.daysSinceEpoch) * 86_400 + Double(hour) * 3_600
        now.withLock { $0 = Date(timeIntervalSince1970: seconds) }
    }
    func read() -> Date { now.withLock { $0 } }
}

/// A small chain whose every report row can be worked out by hand (see each test):
///
/// - clinic toronto; technician 17 certified (C-1, 2025-01-10 to 2027-01-10), technician
///   21 a trainee (T-1), both with bloodborne-pathogens training on 2025-09-01;
/// - lots PB-1187 (pigment) and NC-0412 (cartridge), expiring 2027-05-31;
/// - client 42 (Ada Example, +1-416-555-0142): consultation 2026-02-20 planning 3
///   sessions, consent, session 1 on 2026-03-02 by 17 (booking B1), session 2 on
///   2026-03-05 by trainee 21 supervised by 17 (booking B2), booking B3 (2026-03-20)
///   cancelled, booking B4 (2026-03-23) a no-show, booking B5 (2026-04-06) open, and an
///   amendment of session 1 recorded on 2026-03-12;
/// - client 43: consultation 2026-02-25, no session;
/// - recorded later (2026-03-15): lot PB-1187 recalled as of 2026-03-03, and C-1
///   suspended from 2026-03-04 — both reach session 2, not session 1.
struct ClinicScenario {
    let folder: TemporaryFolder
    let log: EventLog
    let clock = ScenarioClock()
    let staff = EventMetadata(actor: "admin-1", clinic: "toronto")
    private(set) var positions: [String: Int64] = [:]

    static func at(_ day: String, _ hour: Int, _ minute: Int = 0) -> Google_Protobuf_Timestamp {
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = Int64(Day(day)!.daysSinceEpoch) * 86_400 + Int64(hour * 3_600 + minute * 60)
        return timestamp
    }

    init() async throws {
        folder = try TemporaryFolder("stipple-scenario")
        var configuration = EventLog.Configuration()
        let clock = self.clock
        configuration.clock = { clock.read() }
        log = try EventLog.create(at: folder.file("log.sqlite"), configuration: configuration)
        try await build()
    }


    var recorder: Recorder { Recorder(log: log) }

    @discardableResult
    func record(_ message: any SwiftProtobuf.Message, _ type: String, _ stream: String) async throws -> Int64 {
        try await recorder.record(message, type: type, stream: stream, metadata: staff).position
    }

    mutating func build() async throws {
        clock.set("2025-12-01")
        var opened = Stipple_V1_ClinicOpened()
        opened.name = "Stipple Toronto"
        opened.openedOn = "2024-01-01"
        try await record(opened, "ClinicOpened", "clinic-toronto")
        for (id, level, certification) in [("17", Stipple_V1_CertificationLevel.certified, "C-1"), ("21", .trainee, "T-1")] {
            var registered = Stipple_V1_TechnicianRegistered()
            registered.personal.name = "Technician \(id)"
            try await record(registered, "TechnicianRegistered", "technician-\(id)")
            var granted = Stipple_V1_CertificationGranted()
            granted.certificationID = certification
            granted.level = level
            granted.issuedOn = "2025-01-10"
            granted.expiresOn = "2027-01-10"
            try await record(granted, "CertificationGranted", "technician-\(id)")
            var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
            training.completedOn = "2025-09-01"
            try await record(training, "BloodbornePathogensTrainingRecorded", "technician-\(id)")
            var hepatitisB = Stipple_V1_HepatitisBStatusRecorded()
            hepatitisB.status = .recorded
            hepatitisB.onFileFrom = "2025-01-10"
            try await record(hepatitisB, "HepatitisBStatusRecorded", "technician-\(id)")
        }
        for (lot, kind) in [("PB-1187", Stipple_V1_BatchKind.pigment), ("NC-0412", .cartridge)] {
            var received = Stipple_V1_BatchReceived()
            received.lot = lot
            received.kind = kind
            received.manufacturer = kind == .pigment ? "Perma Blend" : "Kwadron"
            received.product = kind == .pigment ? "SMP Pigment" : ""
            received.shade = kind == .pigment ? "SMP Dark Grey" : ""
            received.expiry = "2027-05-31"
            received.clinicID = "toronto"
            received.receivedAt = Self.at("2025-12-01", 9)
            if kind == .cartridge {
                received.configuration = .needleConfiguration3Rl
                received.diameterMm = 0.25
            }
            try await record(received, "BatchReceived", Recorder.Streams.batch(lot: lot, manufacturer: received.manufacturer))
        }
        for (client, name, day) in [("42", "Ada Example", "2026-02-20"), ("43", "Bo Example", "2026-02-25")] {
            clock.set(day)
            var registered = Stipple_V1_ClientRegistered()
            registered.clientID = client
            registered.clinicID = "toronto"
            registered.registeredAt = Self.at(day, 10)
            registered.personal.name = name
            registered.personal.phone = "+1-416-555-01\(client)"
            try await record(registered, "ClientRegistered", "client-\(client)")
            var consultation = Stipple_V1_ConsultationRecorded()
            consultation.clinicID = "toronto"
            consultation.consultantID = "17"
            consultation.consultedAt = Self.at(day, 11)
            consultation.hairLossType = .androgenetic
            consultation.stage = .norwoodStage("IV")
            consultation.fitzpatrickType = 3
            consultation.areas = [.hairline, .crown]
            consultation.estimatedSessions = 3
            try await record(consultation, "ConsultationRecorded", "client-\(client)")
        }
        clock.set("2026-02-27")
        var form = Stipple_V1_ConsentFormPublished()
        form.version = "v4"
        form.text = "I consent to scalp micropigmentation."
        form.coversProcedure = true
        try await record(form, "ConsentFormPublished", "form-smp-consent")
        var consent = Stipple_V1_ConsentSigned()
        consent.formID = "smp-consent"
        consent.formVersion = "v4"
        consent.coversProcedure = true
        consent.signedAt = Self.at("2026-02-27", 9)
        try await record(consent, "ConsentSigned", "client-42")
        for (booking, day, technician) in [("B1", "2026-03-02", "17"), ("B2", "2026-03-05", "21"), ("B3", "2026-03-20", "17"), ("B4", "2026-03-23", "17"), ("B5", "2026-04-06", "17")] {
            var booked = Stipple_V1_SessionBooked()
            booked.bookingID = booking
            booked.clinicID = "toronto"
            booked.technicianID = technician
            booked.startsAt = Self.at(day, 10)
            booked.expectedMinutes = 180
            try await record(booked, "SessionBooked", "client-42")
        }
        clock.set("2026-03-02", hour: 14)
        positions["session1"] = try await recorder.recordSession(client: "42", session(1, on: "2026-03-02", by: "17", booking: "B1"), metadata: staff).position
        clock.set("2026-03-05", hour: 14)
        var second = session(2, on: "2026-03-05", by: "21", booking: "B2")
        second.supervisorID = "17"
        positions["session2"] = try await recorder.recordSession(client: "42", second, metadata: staff).position
        clock.set("2026-03-06")
        var cancelled = Stipple_V1_SessionCancelled()
        cancelled.bookingID = "B3"
        cancelled.cancelledBy = .client
        try await record(cancelled, "SessionCancelled", "client-42")
        clock.set("2026-03-12")
        let session1 = try await log.readAll(from: positions["session1"]!, limit: 1)[0]
        var amendment = Stipple_V1_RecordAmended()
        amendment.correctsEventID = session1.id.uuidString
        amendment.fields = ["depthMm"]
        amendment.session.depthMm = 1.0
        amendment.reason = "depth was 1.0 mm, not 0.9"
        positions["amendment"] = try await recorder.amend(client: "42", amendment, metadata: staff).position
        clock.set("2026-03-15")
        var recall = Stipple_V1_BatchRecalled()
        recall.authority = "Health Canada"
        recall.noticeReference = "RA-2026-0042"
        recall.reason = "microbial contamination"
        recall.recalledAt = Self.at("2026-03-03", 9)
        try await recorder.recallBatch(lot: "PB-1187~perma-blend", recall, metadata: staff)
        var suspended = Stipple_V1_CertificationSuspended()
        suspended.certificationID = "C-1"
        suspended.suspendedOn = "2026-03-04"
        suspended.reason = "complaint under review"
        try await record(suspended, "CertificationSuspended", "technician-17")
        clock.set("2026-03-23", hour: 20)
        var noShow = Stipple_V1_SessionNoShow()
        noShow.bookingID = "B4"
        try await record(noShow, "SessionNoShow", "client-42")
    }

    func session(_ number: Int32, on day: String, by technician: String, booking: String) -> Stipple_V1_SessionRecordedV2 {
        var session = Stipple_V1_SessionRecordedV2()
        session.sessionNumber = number
        session.clinicID = "toronto"
        session.technicianID = technician
        session.startedAt = Self.at(day, 10)
        session.endedAt = Self.at(day, 13)
        session.areas = [.hairline]
        session.bookingID = booking
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = "PB-1187"
        pigment.brand = "Perma Blend"
        pigment.shade = "SMP Dark Grey"
        pigment.expiry = "2027-05-31"
        pigment.dilutionPercent = 30
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = "NC-0412"
        cartridge.configuration = .needleConfiguration3Rl
        cartridge.diameterMm = 0.25
        cartridge.expiry = "2027-05-31"
        session.pigments = [pigment]
        session.cartridges = [cartridge]
        session.depthMm = 0.9
        return session
    }
}
