import Foundation
import SwiftProtobuf
import Testing
@testable import Treatment

/// A valid session and its context, to break one rule at a time.
struct Fixture {
    var session = Stipple_V1_SessionRecordedV2()
    var client = ClientState()
    var technician = TechnicianState()
    var supervisor: TechnicianState?
    var lots: [String: BatchState] = [:]

    static func timestamp(_ text: String) -> Google_Protobuf_Timestamp {
        var parsed = Google_Protobuf_Timestamp()
        let day = Day(String(text.prefix(10)))!
        let hour = Int64(text.dropFirst(11).prefix(2))!
        parsed.seconds = Int64(day.daysSinceEpoch) * 86_400 + hour * 3_600
        return parsed
    }

    /// A procedure at the Toronto clinic at noon local time on `day`.
    static func procedure(_ number: Int32, _ day: String) -> ClientState.Procedure {
        ClientState.Procedure(number: number, clinicID: "toronto", startedAt: Day(day)!.startSeconds + 17 * 3_600)
    }

    init() {
        session.sessionNumber = 2
        session.clinicID = "toronto"
        session.technicianID = "17"
        session.startedAt = Self.timestamp("2026-03-14T10")
        session.endedAt = Self.timestamp("2026-03-14T13")
        session.areas = [.hairline, .crown]
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = "PB-1187"
        pigment.dilutionPercent = 30
        session.pigments = [pigment]
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = "NC-0412"
        cartridge.configuration = .needleConfiguration3Rl
        cartridge.diameterMm = 0.25
        session.cartridges = [cartridge]
        session.depthMm = 0.9

        client.registered = true
        client.consentSigned = true
        client.procedures = [Fixture.procedure(1, "2026-03-02")]

        technician.registered = true
        technician.certifications["C-1"] = TechnicianState.Certification(
            level: .certified, issuedOn: Day("2025-01-10")!, expiresOn: Day("2027-01-10")!)
        technician.bloodbornePathogensTraining = [Day("2025-09-01")!]

        for (lot, kind) in [("PB-1187", Stipple_V1_BatchKind.pigment), ("NC-0412", .cartridge)] {
            var received = Stipple_V1_BatchReceived()
            received.lot = lot
            received.kind = kind
            received.expiry = "2027-05-31"
            var batch = BatchState()
            batch.received = received
            lots[lot] = batch
        }
    }

    var context: SessionContext {
        SessionContext(client: client, technician: technician, supervisor: supervisor, lots: lots)
    }

    func decide() -> Result<SessionDecision, Refusal> { SessionRules.decide(session, context: context) }

    func refusal() throws -> Refusal {
        guard case .failure(let refusal) = decide() else {
            Issue.record("the session was accepted")
            throw Refusal([])
        }
        return refusal
    }
}

@Suite("Session rules")
struct SessionRulesTests {
    @Test("a valid session is accepted without flags")
    func valid() throws {
        let decision = try Fixture().decide().get()
        #expect(decision.flags.isEmpty)
    }

    @Test("no session without a registered client and a signed consent")
    func clientAndConsent() throws {
        var fixture = Fixture()
        fixture.client.registered = false
        fixture.client.consentSigned = false
        let refusal = try fixture.refusal()
        #expect(refusal.rules == [.clientRegistered, .consentSigned])
        #expect(refusal.violations[1].message == "no signed consent is on file: a session cannot be recorded without one")
    }

    @Test("the technician must hold a certification in force on the session day")
    func certification() throws {
        var fixture = Fixture()
        fixture.technician.certifications["C-1"]?.validity = [Day("2025-01-10")!...Day("2026-03-13")!]
        #expect(try fixture.refusal().violations == [RuleViolation(
            .technicianCertified, field: "technicianId", "technician 17 holds no certification in force on 2026-03-14")])
        fixture = Fixture()
        fixture.technician.certifications["C-1"]?.suspensions = [.init(from: Day("2026-03-01")!, until: nil)]
        #expect(try fixture.refusal().rules == [.technicianCertified])
        fixture = Fixture()
        fixture.technician.certifications["C-1"]?.revokedOn = Day("2026-03-14")!
        #expect(try fixture.refusal().rules == [.technicianCertified])
    }

    @Test("a trainee needs a certified supervisor present")
    func traineeSupervision() throws {
        var fixture = Fixture()
        fixture.technician.certifications["C-1"]?.level = .trainee
        #expect(try fixture.refusal().violations == [RuleViolation(
            .traineeSupervised, field: "supervisorId", "technician 17 is a trainee on 2026-03-14: name the certified supervisor present")])
        fixture.session.supervisorID = "3"
        fixture.supervisor = TechnicianState()
        #expect(try fixture.refusal().violations == [RuleViolation(
            .traineeSupervised, field: "supervisorId", "supervisor 3 is not certified on 2026-03-14")])
        fixture.supervisor?.certifications["C-9"] = TechnicianState.Certification(
            level: .senior, issuedOn: Day("2024-01-01")!, expiresOn: Day("2028-01-01")!)
        #expect(throws: Never.self) { try fixture.decide().get() }
    }

    @Test("a technician who was never registered cannot record a session")
    func unregisteredTechnician() throws {
        var fixture = Fixture()
        fixture.technician = TechnicianState()
        #expect(try fixture.refusal().violations.first == RuleViolation(
            .technicianCertified, field: "technicianId", "technician 17 is not registered"))
    }

    @Test("a certification without a real level (missing, or from a newer schema) does not certify")
    func unrealLevel() throws {
        for level in [Stipple_V1_CertificationLevel.unspecified, .UNRECOGNIZED(9)] {
            var fixture = Fixture()
            fixture.technician.certifications["C-1"]?.level = level
            #expect(try fixture.refusal().rules == [.technicianCertified])
        }
    }

    @Test("lots of the wrong kind, without a readable expiry, or thrown away are refused")
    func lotFacts() throws {
        var fixture = Fixture()
        fixture.lots["NC-0412"]?.received?.kind = .pigment
        #expect(try fixture.refusal().violations == [RuleViolation(.lotReceived, field: "cartridges[0].lot", "lot NC-0412 was not received as a needle-cartridge lot")])
        fixture = Fixture()
        fixture.lots["PB-1187"]?.received?.expiry = "2027-05"
        #expect(try fixture.refusal().violations == [RuleViolation(.lotNotExpired, field: "pigments[0].lot", #"lot PB-1187 has no readable expiry on file ("2027-05")"#)])
        fixture = Fixture()
        fixture.lots["PB-1187"]?.discardedAt = Day("2026-03-01")!.startSeconds + 12 * 3_600
        #expect(try fixture.refusal().violations == [RuleViolation(.lotNotRecalled, field: "pigments[0].lot", "lot PB-1187 was discarded on 2026-03-01")])
    }

    @Test("a touch-up follows the session's rules without the numbering, and says why")
    func touchUp() throws {
        let fixture = Fixture()
        var touchUp = Stipple_V1_TouchUpRecorded()
        touchUp.clinicID = "toronto"
        touchUp.technicianID = "17"
        touchUp.startedAt = Fixture.timestamp("2026-08-20T10")
        touchUp.endedAt = Fixture.timestamp("2026-08-20T11")
        touchUp.areas = [.crown]
        touchUp.pigments = fixture.session.pigments
        touchUp.cartridges = fixture.session.cartridges
        touchUp.depthMm = 0.8
        touchUp.reason = .fading
        #expect(throws: Never.self) { try SessionRules.decideTouchUp(touchUp, context: fixture.context).get() }
        touchUp.reason = .unspecified
        var context = fixture.context
        context.client.consentSigned = false
        guard case .failure(let refusal) = SessionRules.decideTouchUp(touchUp, context: context) else {
            Issue.record("accepted")
            return
        }
        #expect(refusal.rules == [.valueInRange, .consentSigned])
        #expect(refusal.violations[1].message == "no signed consent is on file: a touch-up cannot be recorded without one")
    }

    @Test("bloodborne-pathogens training must be within 12 months")
    func bloodbornePathogens() throws {
        var fixture = Fixture()
        fixture.technician.bloodbornePathogensTraining = [Day("2025-03-14")!]
        #expect(try fixture.refusal().violations == [RuleViolation(
            .bloodbornePathogensTraining, field: "technicianId",
            "technician 17 has no bloodborne-pathogens training within the 12 months before 2026-03-14")])
        fixture.technician.bloodbornePathogensTraining = [Day("2025-03-15")!]
        #expect(throws: Never.self) { try fixture.decide().get() }
    }

    @Test("every lot must be received, not expired and not recalled")
    func lots() throws {
        var fixture = Fixture()
        fixture.lots["NC-0412"] = nil
        #expect(try fixture.refusal().violations == [RuleViolation(.lotReceived, field: "cartridges[0].lot", "lot NC-0412 was never received")])
        fixture = Fixture()
        fixture.lots["PB-1187"]?.received?.expiry = "2026-03-13"
        #expect(try fixture.refusal().violations == [RuleViolation(.lotNotExpired, field: "pigments[0].lot", "lot PB-1187 expired on 2026-03-13, before 2026-03-14")])
        fixture = Fixture()
        var recall = Stipple_V1_BatchRecalled()
        recall.authority = "Health Canada"
        recall.noticeReference = "RA-2026-0042"
        recall.recalledAt = Fixture.timestamp("2026-03-10T09")
        fixture.lots["PB-1187"]?.recalled = recall
        #expect(try fixture.refusal().violations == [RuleViolation(
            .lotNotRecalled, field: "pigments[0].lot", "lot PB-1187 was recalled on 2026-03-10 (Health Canada RA-2026-0042)")])
    }

    @Test("session numbers are consecutive and a client has one procedure a day")
    func numbersAndDays() throws {
        var fixture = Fixture()
        fixture.session.sessionNumber = 3
        #expect(try fixture.refusal().violations == [RuleViolation(
            .sessionNumbersConsecutive, field: "sessionNumber", "the next session of this course is number 2, not 3")])
        fixture = Fixture()
        fixture.client.procedures.append(Fixture.procedure(0, "2026-03-14"))
        #expect(try fixture.refusal().rules == [.oneSessionPerDay])
        fixture = Fixture()
        fixture.client.procedures = [Fixture.procedure(1, "2026-03-20")]
        #expect(try fixture.refusal().violations == [RuleViolation(
            .sessionsInOrder, field: "startedAt", "the client's last procedure was on 2026-03-20; a session cannot be dated before it")])
    }

    enum OutOfRange: CaseIterable, Sendable {
        case depth, diameter, duration, areas, dilution, configuration, legacyNeedle

        func apply(to s: inout Stipple_V1_SessionRecordedV2) -> (field: String, message: String) {
            switch self {
            case .depth: s.depthMm = 2.5; return ("depthMm", "must be 0.3 to 2.0 mm, not 2.5")
            case .diameter: s.cartridges[0].diameterMm = 0.35; return ("cartridges[0].diameterMm", "must be 0.15 to 0.3 mm, not 0.35")
            case .duration: s.endedAt = Fixture.timestamp("2026-03-14T11"); return ("endedAt", "a session lasts 2 to 6 hours, this one 1.0")
            case .areas: s.areas = []; return ("areas", "must name at least one scalp area")
            case .dilution: s.pigments[0].dilutionPercent = 0; return ("pigments[0].dilutionPercent", "must be 1 to 100, not 0")
            case .configuration: s.cartridges[0].configuration = .unspecified; return ("cartridges[0].configuration", "must be 1RL or 3RL")
            case .legacyNeedle:
                s.legacyNeedleText = "3RL fine"
                return ("legacyNeedleText", "is kept by upcasting an old session only: give the needle as cartridges (configuration and diameter)")
            }
        }
    }

    @Test("values out of range are refused, naming each field", arguments: OutOfRange.allCases)
    func ranges(change: OutOfRange) throws {
        var fixture = Fixture()
        let (field, message) = change.apply(to: &fixture.session)
        #expect(try fixture.refusal().violations == [RuleViolation(.valueInRange, field: field, message)])
    }

    @Test("a refusal lists every reason, not only the first")
    func everyReason() throws {
        var fixture = Fixture()
        fixture.client.consentSigned = false
        fixture.session.depthMm = 0.1
        fixture.lots["PB-1187"] = nil
        fixture.technician.bloodbornePathogensTraining = []
        let refusal = try fixture.refusal()
        #expect(Set(refusal.rules) == [.valueInRange, .consentSigned, .lotReceived, .bloodbornePathogensTraining])
        #expect(refusal.description.hasPrefix("refused for 4 reasons:"))
    }

    @Test("spacing under 7 or over 60 days is allowed but flagged")
    func spacing() throws {
        var fixture = Fixture()
        fixture.client.procedures = [Fixture.procedure(1, "2026-03-10")]
        #expect(try fixture.decide().get().flags == ["spacing-under-7-days"])
        fixture.client.procedures = [Fixture.procedure(1, "2025-12-01")]
        #expect(try fixture.decide().get().flags == ["spacing-over-60-days"])
    }
}

@Suite("Value rules of the other events")
struct ValueRulesTests {
    @Test("consultations: Fitzpatrick 1–6, a Norwood or Ludwig stage, 1–7 sessions")
    func consultation() {
        var consultation = Stipple_V1_ConsultationRecorded()
        consultation.fitzpatrickType = 3
        consultation.norwoodStage = "5A"
        consultation.estimatedSessions = 3
        #expect(ValueRules.violations(consultation).isEmpty)
        consultation.fitzpatrickType = 0
        consultation.ludwigStage = "IV"
        consultation.estimatedSessions = 9
        #expect(ValueRules.violations(consultation).map(\.field) == ["fitzpatrickType", "ludwigStage", "estimatedSessions"])
    }

    @Test("lots, certifications and training need readable days and real values")
    func dates() {
        var batch = Stipple_V1_BatchReceived()
        batch.lot = "NC-1"
        batch.kind = .cartridge
        batch.expiry = "2027-05"
        batch.configuration = .needleConfiguration1Rl
        batch.diameterMm = 0.4
        #expect(ValueRules.violations(batch) == [
            RuleViolation(.valueInRange, field: "expiry", #"must be a day, YYYY-MM-DD, not "2027-05""#),
            RuleViolation(.valueInRange, field: "diameterMm", "must be 0.15 to 0.3 mm, not 0.4"),
        ])
        var granted = Stipple_V1_CertificationGranted()
        granted.certificationID = "C-1"
        granted.level = .certified
        granted.issuedOn = "2026-01-01"
        granted.expiresOn = "2025-01-01"
        #expect(ValueRules.violations(granted) == [RuleViolation(.valueInRange, field: "expiresOn", "must be after issuedOn")])
        var revoked = Stipple_V1_CertificationRevoked()
        revoked.certificationID = "C-1"
        #expect(ValueRules.violations(revoked) == [RuleViolation(.valueInRange, field: "revokedOn", "is missing (a day, YYYY-MM-DD)")])
        var hepatitisB = Stipple_V1_HepatitisBStatusRecorded()
        hepatitisB.onFileFrom = "2026-13-01"
        #expect(ValueRules.violations(hepatitisB) == [
            RuleViolation(.valueInRange, field: "status", "must be recorded, declined or exempt"),
            RuleViolation(.valueInRange, field: "onFileFrom", #"must be a day, YYYY-MM-DD, not "2026-13-01""#),
        ])
        hepatitisB.status = .exempt
        hepatitisB.onFileFrom = "2026-01-10"
        #expect(ValueRules.violations(hepatitisB).isEmpty)
    }
}

@Suite("Lot, certification and amendment rules")
struct RecordRulesTests {
    @Test("a recalled lot cannot be recalled again")
    func recallOnce() throws {
        var batch = Fixture().lots["PB-1187"]!
        var recall = Stipple_V1_BatchRecalled()
        recall.authority = "Health Canada"
        recall.noticeReference = "RA-1"
        recall.recalledAt = Fixture.timestamp("2026-03-10T09")
        #expect(throws: Never.self) { try RecordRules.decideRecall(recall, lot: "PB-1187", batch: batch).get() }
        batch.recalled = recall
        guard case .failure(let refusal) = RecordRules.decideRecall(recall, lot: "PB-1187", batch: batch) else {
            Issue.record("recalled twice")
            return
        }
        #expect(refusal.violations == [RuleViolation(.recallOnce, "lot PB-1187 was already recalled on 2026-03-10 (Health Canada RA-1)")])
    }

    @Test("a certification cannot be renewed after revocation")
    func renewal() throws {
        var technician = Fixture().technician
        var renewal = Stipple_V1_CertificationRenewed()
        renewal.certificationID = "C-1"
        renewal.renewedOn = "2026-12-01"
        renewal.expiresOn = "2028-01-10"
        #expect(throws: Never.self) { try RecordRules.decideRenewal(renewal, technician: technician).get() }
        technician.certifications["C-1"]?.revokedOn = Day("2026-06-01")!
        guard case .failure(let refusal) = RecordRules.decideRenewal(renewal, technician: technician) else {
            Issue.record("renewed after revocation")
            return
        }
        #expect(refusal.violations == [RuleViolation(
            .noRenewalAfterRevocation, field: "certificationId", "certification C-1 was revoked on 2026-06-01 and cannot be renewed")])
    }

    @Test("an amendment must point at an event of the same client")
    func amendment() throws {
        var client = ClientState()
        let own = UUID()
        client.eventIDs = [own]
        var amendment = Stipple_V1_RecordAmended()
        amendment.correctsEventID = own.uuidString
        amendment.fields = ["registeredAt"]
        amendment.reason = "registered on the 2nd, not the 3rd"
        let target: (type: String, message: any SwiftProtobuf.Message) = ("ClientRegistered", Stipple_V1_ClientRegistered())
        #expect(throws: Never.self) { try RecordRules.decideAmendment(amendment, client: client, target: target).get() }
        amendment.correctsEventID = UUID().uuidString
        guard case .failure(let refusal) = RecordRules.decideAmendment(amendment, client: client, target: nil) else {
            Issue.record("amended another client's event")
            return
        }
        #expect(refusal.rules == [.amendmentTargetsClientEvent])
    }

    /// An amendment of the fixture's session (its own event), refused or accepted.
    static func amending(_ configure: (inout Stipple_V1_RecordAmended) -> Void) -> Result<Stipple_V1_RecordAmended, Refusal> {
        var client = ClientState()
        let target = UUID()
        client.eventIDs = [target]
        var amendment = Stipple_V1_RecordAmended()
        amendment.correctsEventID = target.uuidString
        amendment.reason = "recorded under the wrong technician"
        configure(&amendment)
        return RecordRules.decideAmendment(amendment, client: client, target: ("SessionRecorded", Fixture().session))
    }

    static func refusal(_ configure: (inout Stipple_V1_RecordAmended) -> Void) -> [RuleViolation] {
        guard case .failure(let refusal) = amending(configure) else { return [] }
        return refusal.violations
    }

    @Test("a session's correction is typed: its own fields, their values as a partial session, the result in range")
    func typedAmendment() throws {
        // Values as JSON (pages, command line) become the typed partial session; a personal field stays in the JSON.
        let accepted = try Self.amending {
            $0.fields = ["technicianId", "endedAt", "personal.notes"]
            $0.personal.correctedValuesJson = #"{"technicianId":"21","endedAt":"2026-03-14T14:00:00Z","personal":{"notes":"crown redone"}}"#
        }.get()
        #expect(accepted.session.technicianID == "21")
        #expect(accepted.session.endedAt.seconds == Fixture.timestamp("2026-03-14T14").seconds)
        #expect(!accepted.session.hasPersonal)
        #expect(accepted.personal.correctedValuesJson == #"{"personal":{"notes":"crown redone"}}"#)
        let corrected = try #require(Amendments.corrected(Fixture().session, by: accepted) as? Stipple_V1_SessionRecordedV2)
        #expect(corrected.technicianID == "21")
        #expect(corrected.endedAt.seconds - corrected.startedAt.seconds == 4 * 3_600)
        #expect(corrected.pigments == Fixture().session.pigments)

        // A repeated field is replaced whole.
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = "PB-2001"
        pigment.dilutionPercent = 20
        let lots = try Self.amending {
            $0.fields = ["pigments"]
            $0.session.pigments = [pigment]
        }.get()
        #expect((Amendments.corrected(Fixture().session, by: lots) as? Stipple_V1_SessionRecordedV2)?.pigments == [pigment])

        // A disputed record stays as it was.
        var disputed = lots
        disputed.disputed = true
        #expect((Amendments.corrected(Fixture().session, by: disputed) as? Stipple_V1_SessionRecordedV2) == Fixture().session)
    }

    @Test("the rules for the next session see a session as corrected: its day and number")
    func correctedForTheRules() throws {
        var client = ClientState()
        let session = UUID()
        var recorded = Fixture().session
        recorded.sessionNumber = 1
        recorded.startedAt = Fixture.timestamp("2026-03-10T15")
        recorded.endedAt = Fixture.timestamp("2026-03-10T18")
        client.apply(type: "SessionRecorded", message: recorded, id: session)
        var amendment = Stipple_V1_RecordAmended()
        amendment.correctsEventID = session.uuidString
        amendment.fields = ["startedAt", "endedAt", "sessionNumber"]
        amendment.session.startedAt = Fixture.timestamp("2026-03-02T15")
        amendment.session.endedAt = Fixture.timestamp("2026-03-02T18")
        amendment.session.sessionNumber = 2
        client.apply(type: "RecordAmended", message: amendment, id: UUID())
        #expect(client.procedures.map(\.startedAt) == [Fixture.timestamp("2026-03-02T15").seconds])
        #expect(client.lastSessionNumber == 2)
        amendment.disputed = true
        amendment.session.sessionNumber = 5
        client.apply(type: "RecordAmended", message: amendment, id: UUID())
        #expect(client.lastSessionNumber == 2, "a disputed record stays as it was")
    }

    @Test("an amendment naming a field the session lacks, or a value outside its fields, is refused with the reason")
    func typedAmendmentRefusals() {
        #expect(Self.refusal { $0.fields = ["shoeSize"]; $0.session.technicianID = "21" } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "shoeSize is not a field of SessionRecorded")])
        #expect(Self.refusal { $0.fields = ["sealedPersonal"] } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "sealedPersonal is not a field of SessionRecorded")])
        #expect(Self.refusal { _ in } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "name the fields corrected, in the event's JSON names (e.g. technicianId)")])
        #expect(Self.refusal { $0.fields = ["technicianId"] } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "give the corrected value of technicianId: the reports fold a SessionRecorded's corrections")])
        #expect(Self.refusal { $0.fields = ["technicianId"]; $0.session.technicianID = "21"; $0.session.depthMm = 1.1 } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields",
            "the corrected values hold fields not named in fields (technicianId): name each field corrected")])
        #expect(Self.refusal { $0.fields = ["technicianId"]; $0.touchUp.technicianID = "21" } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "the corrected values must be of the corrected event's type, SessionRecorded")])
        #expect(Self.refusal { $0.fields = ["depthMm"]; $0.personal.correctedValuesJson = #"{"depthMm":1.0,"shoeSize":44}"# }.map(\.field) == ["correctedValuesJson"])
        // The corrected session is checked in the fields corrected: 9 hours is no session.
        #expect(Self.refusal { $0.fields = ["endedAt"]; $0.session.endedAt = Fixture.timestamp("2026-03-14T19") } == [RuleViolation(
            .valueInRange, field: "endedAt", "a session lasts 2 to 6 hours, this one 9.0")])
        // A start moved alone still makes the length checked; a part of a field is no correction.
        #expect(Self.refusal { $0.fields = ["startedAt"]; $0.session.startedAt = Fixture.timestamp("2026-03-14T03") } == [RuleViolation(
            .valueInRange, field: "endedAt", "a session lasts 2 to 6 hours, this one 10.0")])
        #expect(Self.refusal { $0.fields = ["endedAt.seconds"]; $0.session.endedAt = Fixture.timestamp("2026-03-14T23") } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "endedAt.seconds names a part of a field: correct endedAt whole")])
        #expect(Self.refusal { $0.fields = ["personal.notes"]; $0.session.personal.notes = "in clear" }.map(\.message) == [
            "personal values (personal.notes) are corrected in the amendment's own personal data (correctedValuesJson), which is sealed, not in its typed values"])
        #expect(Self.refusal { $0.disputed = true; $0.fields = ["technicianId"]; $0.session.technicianID = "21" } == [RuleViolation(
            .amendmentFieldsOfTarget, field: "fields", "a disputed record stays as it was: give no corrected values")])
        #expect(Self.refusal { $0.fields = ["depthMm"]; $0.reason = "  " } == [
            RuleViolation(.amendmentFieldsOfTarget, field: "fields", "give the corrected value of depthMm: the reports fold a SessionRecorded's corrections"),
            RuleViolation(.valueInRange, field: "reason", "say why the record is amended"),
        ])
    }
}

@Suite("Days, states and upcasting")
struct StateTests {
    @Test("days parse, print and count like a calendar")
    func days() {
        #expect(Day("2024-02-29")?.description == "2024-02-29")
        #expect(Day("2025-02-29") == nil)
        #expect(Day("2026-13-01") == nil)
        #expect(Day("1970-01-01")?.daysSinceEpoch == 0)
        #expect(Day("2025-03-31")!.adding(months: 11).description == "2026-02-28")
        #expect(Day(Fixture.timestamp("2026-03-14T23")).description == "2026-03-14")
    }

    @Test("certification events fold into what is in force on a day")
    func technicianFold() {
        var technician = TechnicianState()
        var granted = Stipple_V1_CertificationGranted()
        granted.certificationID = "C-1"
        granted.level = .trainee
        granted.issuedOn = "2025-01-01"
        granted.expiresOn = "2025-12-31"
        technician.apply(type: "CertificationGranted", message: granted, id: UUID())
        #expect(technician.level(on: Day("2025-06-01")!) == .trainee)
        var suspended = Stipple_V1_CertificationSuspended()
        suspended.certificationID = "C-1"
        suspended.suspendedOn = "2025-07-01"
        technician.apply(type: "CertificationSuspended", message: suspended, id: UUID())
        #expect(technician.level(on: Day("2025-07-02")!) == nil)
        var renewed = Stipple_V1_CertificationRenewed()
        renewed.certificationID = "C-1"
        renewed.expiresOn = "2026-12-31"
        technician.apply(type: "CertificationRenewed", message: renewed, id: UUID())
        #expect(technician.level(on: Day("2026-06-01")!) == .trainee)
        // The renewal (no renewal day given: in force again from the old expiry) does not
        // rewrite the past: the suspension still covers the days before it.
        #expect(technician.level(on: Day("2025-07-02")!) == nil)
        #expect(technician.level(on: Day("2025-12-30")!) == nil)
    }

    @Test("a renewal lifts a suspension from its day on, and not before")
    func renewalLiftsSuspension() {
        var certification = TechnicianState.Certification(level: .certified, issuedOn: Day("2025-01-01")!, expiresOn: Day("2026-01-01")!)
        certification.suspensions = [.init(from: Day("2025-05-01")!, until: nil)]
        var technician = TechnicianState()
        technician.certifications["C-1"] = certification
        var renewed = Stipple_V1_CertificationRenewed()
        renewed.certificationID = "C-1"
        renewed.renewedOn = "2025-07-01"
        renewed.expiresOn = "2027-01-01"
        technician.apply(type: "CertificationRenewed", message: renewed, id: UUID())
        #expect(technician.level(on: Day("2025-06-01")!) == nil)
        #expect(technician.level(on: Day("2025-07-01")!) == .certified)
        #expect(technician.level(on: Day("2026-06-01")!) == .certified)
    }

    @Test("only a consent that covers the procedure counts")
    func consentScope() {
        var client = ClientState()
        var photosOnly = Stipple_V1_ConsentSigned()
        photosOnly.coversPhotos = true
        client.apply(type: "ConsentSigned", message: photosOnly, id: UUID())
        #expect(!client.consentSigned)
        var procedure = photosOnly
        procedure.coversProcedure = true
        client.apply(type: "ConsentSigned", message: procedure, id: UUID())
        #expect(client.consentSigned)
    }

    @Test("SessionRecorded version 1 upcasts to version 2")
    func upcast() throws {
        var old = Stipple_V1_SessionRecorded()
        old.sessionNumber = 1
        old.technicianID = "17"
        old.pigmentShade = "SMP Dark Grey"
        old.needle = "3RL-0.25mm"
        old.depthMm = 0.8
        let new = try #require(try Upcasting.upcast(old, type: "SessionRecorded", version: 1) as? Stipple_V1_SessionRecordedV2)
        #expect(new.sessionNumber == 1)
        #expect(new.pigments.map(\.shade) == ["SMP Dark Grey"])
        #expect(new.cartridges.first?.configuration == .needleConfiguration3Rl)
        #expect(new.cartridges.first?.diameterMm == 0.25)
        #expect(new.legacyNeedleText.isEmpty, "read whole: nothing kept beside")
        #expect(new.depthMm == 0.8)
        let current = try Upcasting.upcast(new, type: "SessionRecorded", version: 2)
        #expect(current as? Stipple_V1_SessionRecordedV2 == new)
        // A message that is not the one version 1 names is refused, not passed through.
        #expect(throws: CatalogueError.self) { try Upcasting.upcast(new, type: "SessionRecorded", version: 1) }
    }

    @Test("upcasting keeps a version 1 needle text it cannot read, as written, beside what it could", arguments: [
        ("7-round magnum", Stipple_V1_NeedleConfiguration.unspecified, 0.0),
        ("3RL", .needleConfiguration3Rl, 0.0),
        ("1RL-fine", .needleConfiguration1Rl, 0.0),
        ("5RS-0.30mm", .unspecified, 0.30),
        ("3RL-infmm", .needleConfiguration3Rl, 0.0),
    ])
    func upcastKeepsWhatItCannotRead(needle: String, configuration: Stipple_V1_NeedleConfiguration, diameter: Double) throws {
        var old = Stipple_V1_SessionRecorded()
        old.sessionNumber = 1
        old.needle = needle
        let new = try #require(try Upcasting.upcast(old, type: "SessionRecorded", version: 1) as? Stipple_V1_SessionRecordedV2)
        #expect(new.legacyNeedleText == needle)
        #expect(new.cartridges.first?.configuration == configuration)
        #expect(new.cartridges.first?.diameterMm == diameter)
    }

    @Test("a stored version with no way to the newest is named")
    func unreadable() {
        let stored: [(type: String, version: Int32)] = [("SessionRecorded", 1), ("SessionRecorded", 3), ("Painted", 1), ("BatchOpened", 1)]
        #expect(Upcasting.unreadable(stored).map { "\($0.type)@\($0.version)" } == ["SessionRecorded@3", "Painted@1"])
    }
}

@Suite("Consent forms and the consents signed on them")
struct ConsentRulesTests {
    static func form(_ version: String, covers photos: Bool = false) -> Stipple_V1_ConsentFormPublished {
        var form = Stipple_V1_ConsentFormPublished()
        form.version = version
        form.text = "I consent (\(version))."
        form.textSha256 = "hash-of-\(version)"
        form.coversProcedure = true
        form.coversPhotos = photos
        return form
    }

    static var state: ConsentFormState {
        var state = ConsentFormState()
        state.apply(form("v4"))
        state.apply(form("v5", covers: true))
        return state
    }

    static func consent(_ version: String, sha256: String = "") -> Stipple_V1_ConsentSigned {
        var consent = Stipple_V1_ConsentSigned()
        consent.formID = "smp-consent"
        consent.formVersion = version
        consent.formSha256 = sha256
        consent.coversProcedure = true
        return consent
    }

    static func refusal(_ consent: Stipple_V1_ConsentSigned, _ state: ConsentFormState = Self.state) -> [RuleViolation] {
        guard case .failure(let refusal) = ConsentRules.decideConsent(consent, form: state) else { return [] }
        return refusal.violations
    }

    @Test("a consent pins the hash of the version signed; without a version, the one in force published last")
    func pinned() throws {
        #expect(try ConsentRules.decideConsent(Self.consent("v4"), form: Self.state).get().formSha256 == "hash-of-v4")
        let latest = try ConsentRules.decideConsent(Self.consent(""), form: Self.state).get()
        #expect(latest.formVersion == "v5" && latest.formSha256 == "hash-of-v5")
        var state = Self.state
        var withdrawn = Stipple_V1_ConsentFormWithdrawn()
        withdrawn.version = "v5"
        withdrawn.reason = "wrong aftercare wording"
        state.apply(withdrawn)
        #expect(try ConsentRules.decideConsent(Self.consent(""), form: state).get().formVersion == "v4")
        #expect(Self.refusal(Self.consent("v5"), state) == [RuleViolation(
            .consentForm, field: "formVersion", "version v5 of form smp-consent was withdrawn (wrong aftercare wording): sign the version in force (v4)")])
    }

    @Test("a consent naming no form, an unpublished version, another text's hash or more than its form covers is refused")
    func refusals() {
        var noForm = Self.consent("v4")
        noForm.formID = ""
        #expect(Self.refusal(noForm).map(\.field) == ["formId"])
        #expect(Self.refusal(Self.consent("v9")) == [RuleViolation(
            .consentForm, field: "formVersion", "form smp-consent has no published version v9 (in force: v4, v5)")])
        #expect(Self.refusal(Self.consent("v4"), ConsentFormState()) == [RuleViolation(
            .consentForm, field: "formVersion", "form smp-consent has no published version v4 (none is published: an admin publishes it first, form publish)")])
        #expect(Self.refusal(Self.consent("v4", sha256: "hash-of-v5")) == [RuleViolation(
            .consentForm, field: "formSha256", "hash-of-v5 is not the hash of version v4's text (hash-of-v4): the client saw another text")])
        var photos = Self.consent("v4")
        photos.coversPhotos = true
        #expect(Self.refusal(photos) == [RuleViolation(
            .consentForm, field: "covers", "version v4 of form smp-consent does not cover photos: a consent covers only what its text asks")])
        photos.formVersion = "v5"
        #expect(Self.refusal(photos).isEmpty)
    }

    @Test("a version is published once, with its text, what it covers and a hash that is its text's")
    func publication() throws {
        let accepted = try ConsentRules.decidePublication(Self.form("v6"), formID: "smp-consent", state: Self.state, textSHA256: "hash-of-v6").get()
        #expect(accepted.formID == "smp-consent" && accepted.textSha256 == "hash-of-v6")
        func refusal(_ form: Stipple_V1_ConsentFormPublished, sha: String = "x") -> [String?] {
            guard case .failure(let refusal) = ConsentRules.decidePublication(form, formID: "smp-consent", state: Self.state, textSHA256: sha) else { return [] }
            return refusal.violations.map(\.field)
        }
        var again = Self.form("v4")
        again.textSha256 = ""
        #expect(refusal(again) == ["version"])
        var blank = Self.form("v6")
        blank.text = " \n"
        blank.textSha256 = ""
        blank.coversProcedure = false
        #expect(refusal(blank) == ["text", "covers"])
        #expect(refusal(Self.form("v6"), sha: "other") == ["textSha256"])
        var otherStream = Self.form("v6")
        otherStream.formID = "photo-release"
        #expect(refusal(otherStream, sha: "hash-of-v6") == ["formId"])
        var withdrawal = Stipple_V1_ConsentFormWithdrawn()
        withdrawal.version = "v9"
        withdrawal.reason = "typo"
        #expect(throws: Refusal.self) { try ConsentRules.decideWithdrawal(withdrawal, formID: "smp-consent", state: Self.state).get() }
    }
}
