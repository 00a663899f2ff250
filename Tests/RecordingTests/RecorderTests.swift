import EventLog
import Foundation
import SwiftProtobuf
import StippleTesting
import Testing
import Treatment
@testable import Recording

/// A chain with one clinic, one certified technician, one client with consent, one
/// pigment lot and one cartridge lot, on a real log in a temporary folder.
struct Chain {
    let folder: TemporaryFolder
    let log: EventLog
    let recorder: Recorder
    let staff = EventMetadata(actor: "admin-1", clinic: "toronto")

    static func at(_ text: String) -> Google_Protobuf_Timestamp {
        let day = Day(String(text.prefix(10)))!
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = Int64(day.daysSinceEpoch) * 86_400 + Int64(text.dropFirst(11).prefix(2))! * 3_600
        return timestamp
    }

    init() async throws {
        folder = try TemporaryFolder("stipple-recording")
        log = try EventLog.create(at: folder.file("log.sqlite"))
        recorder = Recorder(log: log)
        var registered = Stipple_V1_ClientRegistered()
        registered.clientID = "42"
        registered.clinicID = "toronto"
        registered.personal.name = "Client Forty-Two"
        try await recorder.record(registered, type: "ClientRegistered", stream: "client-42", expected: .noStream, metadata: staff)
        var form = Stipple_V1_ConsentFormPublished()
        form.version = "v4"
        form.text = "I consent to scalp micropigmentation."
        form.coversProcedure = true
        try await recorder.record(form, type: "ConsentFormPublished", stream: "form-smp-consent", metadata: staff)
        var consent = Stipple_V1_ConsentSigned()
        consent.formID = "smp-consent"
        consent.formVersion = "v4"
        consent.coversProcedure = true
        try await recorder.record(consent, type: "ConsentSigned", stream: "client-42", metadata: staff)
        var technician = Stipple_V1_TechnicianRegistered()
        technician.personal.name = "Technician 17"
        try await recorder.record(technician, type: "TechnicianRegistered", stream: "technician-17", metadata: staff)
        var granted = Stipple_V1_CertificationGranted()
        granted.certificationID = "C-1"
        granted.level = .certified
        granted.issuedOn = "2025-01-10"
        granted.expiresOn = "2027-01-10"
        try await recorder.record(granted, type: "CertificationGranted", stream: "technician-17", metadata: staff)
        var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
        training.completedOn = "2025-09-01"
        try await recorder.record(training, type: "BloodbornePathogensTrainingRecorded", stream: "technician-17", metadata: staff)
        for (lot, kind) in [("PB-1187", Stipple_V1_BatchKind.pigment), ("NC-0412", .cartridge)] {
            var received = Stipple_V1_BatchReceived()
            received.lot = lot
            received.kind = kind
            received.expiry = "2027-05-31"
            received.clinicID = "toronto"
            if kind == .cartridge {
                received.configuration = .needleConfiguration3Rl
                received.diameterMm = 0.25
            }
            try await recorder.record(received, type: "BatchReceived", stream: "batch-" + lot, expected: .noStream, metadata: staff)
        }
    }

    func session(_ number: Int32, on day: String) -> Stipple_V1_SessionRecordedV2 {
        var session = Stipple_V1_SessionRecordedV2()
        session.sessionNumber = number
        session.clinicID = "toronto"
        session.technicianID = "17"
        session.startedAt = Self.at(day + "T10")
        session.endedAt = Self.at(day + "T13")
        session.areas = [.hairline]
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = "PB-1187"
        pigment.dilutionPercent = 30
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = "NC-0412"
        cartridge.configuration = .needleConfiguration3Rl
        cartridge.diameterMm = 0.25
        session.pigments = [pigment]
        session.cartridges = [cartridge]
        session.depthMm = 0.9
        return session
    }

}

@Suite("Recording commands against the log")
struct RecorderTests {
    @Test("a session is checked against client, technician and lots in the transaction, and stored as protobuf")
    func sessionAccepted() async throws {
        let chain = try await Chain()
        let first = try await chain.recorder.recordSession(client: "42", chain.session(1, on: "2026-03-02"), metadata: chain.staff)
        #expect(first.streamVersion == 3)
        let second = try await chain.recorder.recordSession(client: "42", chain.session(2, on: "2026-03-05"), metadata: chain.staff)
        let stored = try #require(try await chain.log.read(stream: "client-42").last)
        #expect(stored.position == second.position)
        #expect(stored.type == "SessionRecorded")
        #expect(stored.schemaVersion == 2)
        let message = try #require(try Recorder.decode(stored) as? Stipple_V1_SessionRecordedV2)
        #expect(message.sessionNumber == 2)
        #expect(try stored.metadata().extra["flags"] == .array([.string("spacing-under-7-days")]))
        #expect(try await chain.log.verify().isIntact)
    }

    @Test("a recall lands between two sessions: the second is refused and nothing is written")
    func recalledLot() async throws {
        let chain = try await Chain()
        try await chain.recorder.recordSession(client: "42", chain.session(1, on: "2026-03-02"), metadata: chain.staff)
        var recall = Stipple_V1_BatchRecalled()
        recall.authority = "Health Canada"
        recall.noticeReference = "RA-2026-0042"
        recall.reason = "microbial contamination"
        recall.recalledAt = Chain.at("2026-03-10T09")
        try await chain.recorder.recallBatch(lot: "PB-1187", recall, metadata: chain.staff)
        let head = try await chain.log.head()
        await #expect(throws: Refusal([RuleViolation(.recallOnce, "lot PB-1187 was already recalled on 2026-03-10 (Health Canada RA-2026-0042)")])) {
            try await chain.recorder.recallBatch(lot: "PB-1187", recall, metadata: chain.staff)
        }
        #expect(try await chain.log.head() == head)
        var session = chain.session(3, on: "2026-03-20")
        session.depthMm = 2.4
        do {
            try await chain.recorder.recordSession(client: "42", session, metadata: chain.staff)
            Issue.record("the session was recorded")
        } catch let refusal as Refusal {
            #expect(refusal.rules == [.valueInRange, .lotNotRecalled, .sessionNumbersConsecutive])
        }
        #expect(try await chain.log.head() == head)
    }

    @Test("touch-ups, renewals and amendments are decided against their streams too")
    func otherCommands() async throws {
        let chain = try await Chain()
        let session = try await chain.recorder.recordSession(client: "42", chain.session(1, on: "2026-03-02"), metadata: chain.staff)
        var touchUp = Stipple_V1_TouchUpRecorded()
        let base = chain.session(1, on: "2026-08-20")
        touchUp.clinicID = base.clinicID
        touchUp.technicianID = base.technicianID
        touchUp.startedAt = base.startedAt
        touchUp.endedAt = base.endedAt
        touchUp.areas = base.areas
        touchUp.pigments = base.pigments
        touchUp.cartridges = base.cartridges
        touchUp.depthMm = 0.8
        touchUp.reason = .fading
        try await chain.recorder.recordTouchUp(client: "42", touchUp, metadata: chain.staff)
        var amendment = Stipple_V1_RecordAmended()
        amendment.correctsEventID = session.id.uuidString
        amendment.fields = ["depthMm"]
        amendment.session.depthMm = 0.8
        amendment.reason = "depth was 0.8 mm"
        try await chain.recorder.amend(client: "42", amendment, metadata: chain.staff)
        amendment.correctsEventID = UUID().uuidString
        await #expect(throws: Refusal.self) { try await chain.recorder.amend(client: "42", amendment, metadata: chain.staff) }
        var revoked = Stipple_V1_CertificationRevoked()
        revoked.certificationID = "C-1"
        revoked.revokedOn = "2026-10-01"
        try await chain.recorder.record(revoked, type: "CertificationRevoked", stream: "technician-17", metadata: chain.staff)
        var renewal = Stipple_V1_CertificationRenewed()
        renewal.certificationID = "C-1"
        renewal.renewedOn = "2026-12-01"
        renewal.expiresOn = "2028-01-10"
        let head = try await chain.log.head()
        do {
            try await chain.recorder.renewCertification(technician: "17", renewal, metadata: chain.staff)
            Issue.record("renewed after revocation")
        } catch let refusal as Refusal {
            #expect(refusal.rules == [.noRenewalAfterRevocation])
        }
        #expect(try await chain.log.head() == head)
    }

    @Test("old SessionRecorded events are read through the upcaster")
    func upcastOnRead() async throws {
        let chain = try await Chain()
        var old = Stipple_V1_SessionRecorded()
        old.sessionNumber = 1
        old.technicianID = "17"
        old.startedAt = Chain.at("2025-11-02T10")
        old.needle = "1RL-0.20mm"
        let payload: [UInt8] = try old.serializedBytes()
        try await chain.log.append(NewEvent(stream: "client-42", type: "SessionRecorded", schemaVersion: 1, payload: payload))
        // Session 2 follows the version-1 session 1.
        try await chain.recorder.recordSession(client: "42", chain.session(2, on: "2026-03-02"), metadata: chain.staff)
        let first = try #require(try await chain.log.read(stream: "client-42", from: 3, limit: 1).first)
        let upcast = try #require(try Recorder.decode(first) as? Stipple_V1_SessionRecordedV2)
        #expect(upcast.cartridges.first?.diameterMm == 0.2)
    }
}
