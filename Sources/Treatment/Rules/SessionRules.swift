import Foundation
import SwiftProtobuf

/// What a session's rules see: the client, the technician, the supervisor and every
/// lot the session names, each folded from its own stream inside the write transaction.
public struct SessionContext: Sendable {
    public var client: ClientState
    public var technician: TechnicianState
    public var supervisor: TechnicianState?
    /// By lot id (``LotIdentity``); a lot missing here was never received.
    public var lots: [String: BatchState]
    /// The zone of the procedure's clinic and of the clinics of the client's earlier
    /// procedures: "a day" is a local day.
    public var times: ClinicTimes

    public init(
        client: ClientState, technician: TechnicianState, supervisor: TechnicianState?, lots: [String: BatchState],
        times: ClinicTimes = ClinicTimes()
    ) {
        self.client = client
        self.technician = technician
        self.supervisor = supervisor
        self.lots = lots
        self.times = times
    }
}

/// A session the rules accepted, with the audit flags to put in its metadata.
public struct SessionDecision: Sendable, Hashable {
    public var session: Stipple_V1_SessionRecordedV2
    /// e.g. `spacing-under-7-days`: allowed, but the audit report lists it.
    public var flags: [String]
}

/// The rules of a session of the course (DOMAIN.md: "A client's course", "Technicians and
/// certification", "Pigment and cartridge lots").
public enum SessionRules {
    /// Sessions last 2–6 hours.
    public static let sessionHours = 2.0...6.0
    /// Needle depth, in millimetres.
    public static let depthMillimetres = 0.3...2.0
    /// Needle diameter, in millimetres.
    public static let diameterMillimetres = 0.15...0.30
    /// Number of a session in a course.
    public static let sessionNumbers: ClosedRange<Int32> = 1...7
    /// Days between two sessions beyond which the session is flagged (allowed).
    public static let usualSpacingDays = 7...60

    /// Touch-ups last 1–6 hours (shorter than a session; DOMAIN.md gives only the session's 2–6).
    public static let touchUpHours = 1.0...6.0

    /// Every value of the session that is out of range or missing.
    public static func validate(_ session: Stipple_V1_SessionRecordedV2) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        if !sessionNumbers.contains(session.sessionNumber) {
            violations.append(RuleViolation(
                .valueInRange, field: "sessionNumber",
                "must be \(sessionNumbers.lowerBound) to \(sessionNumbers.upperBound), not \(session.sessionNumber)"))
        }
        if !session.legacyNeedleText.isEmpty {
            violations.append(RuleViolation(
                .valueInRange, field: "legacyNeedleText", "is kept by upcasting an old session only: give the needle as cartridges (configuration and diameter)"))
        }
        return violations + validate(ProcedureView(session), hours: sessionHours, noun: "a session")
    }

    /// Every value of the touch-up that is out of range or missing.
    public static func validate(_ touchUp: Stipple_V1_TouchUpRecorded) -> [RuleViolation] {
        var violations = validate(ProcedureView(touchUp), hours: touchUpHours, noun: "a touch-up")
        if touchUp.reason == .unspecified {
            violations.append(RuleViolation(.valueInRange, field: "reason", "say why: fading, colour change, scar or guarantee"))
        }
        return violations
    }

    static func validate(_ procedure: ProcedureView, hours range: ClosedRange<Double>, noun: String) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        func check(_ condition: Bool, _ field: String, _ message: String) {
            if !condition { violations.append(RuleViolation(.valueInRange, field: field, message)) }
        }
        check(!procedure.clinicID.isEmpty, "clinicId", "is missing")
        check(!procedure.technicianID.isEmpty, "technicianId", "is missing")
        check(procedure.startedAt != nil, "startedAt", "is missing")
        check(procedure.endedAt != nil, "endedAt", "is missing")
        if let started = procedure.startedAt, let ended = procedure.endedAt {
            let hours = Double(ended.seconds - started.seconds) / 3_600
            check(range.contains(hours), "endedAt",
                  "\(noun) lasts \(Int(range.lowerBound)) to \(Int(range.upperBound)) hours, this one \(String(format: "%.1f", hours))")
        }
        check(!procedure.areas.isEmpty && !procedure.areas.contains(.unspecified), "areas", "must name at least one scalp area")
        check(depthMillimetres.contains(procedure.depthMm), "depthMm",
              "must be \(depthMillimetres.lowerBound) to \(depthMillimetres.upperBound) mm, not \(procedure.depthMm)")
        check(!procedure.pigments.isEmpty, "pigments", "must list the pigment lots used")
        for (index, pigment) in procedure.pigments.enumerated() {
            check(!pigment.lot.isEmpty, "pigments[\(index)].lot", "is missing")
            check((1...100).contains(pigment.dilutionPercent), "pigments[\(index)].dilutionPercent",
                  "must be 1 to 100, not \(pigment.dilutionPercent)")
        }
        check(!procedure.cartridges.isEmpty, "cartridges", "must list the needle cartridge lots used")
        for (index, cartridge) in procedure.cartridges.enumerated() {
            check(!cartridge.lot.isEmpty, "cartridges[\(index)].lot", "is missing")
            check(cartridge.configuration == .needleConfiguration1Rl || cartridge.configuration == .needleConfiguration3Rl,
                  "cartridges[\(index)].configuration", "must be 1RL or 3RL")
            check(diameterMillimetres.contains(cartridge.diameterMm), "cartridges[\(index)].diameterMm",
                  "must be \(diameterMillimetres.lowerBound) to \(diameterMillimetres.upperBound) mm, not \(cartridge.diameterMm)")
        }
        return violations
    }

    /// Decides a session against its context: every reason to refuse, or the session
    /// with its audit flags.
    public static func decide(_ session: Stipple_V1_SessionRecordedV2, context: SessionContext) -> Result<SessionDecision, Refusal> {
        var violations = validate(session)
        violations += contextViolations(ProcedureView(session), context: context, noun: "a session")
        let expected = context.client.lastSessionNumber + 1
        if session.sessionNumber != expected, sessionNumbers.contains(session.sessionNumber) {
            violations.append(RuleViolation(
                .sessionNumbersConsecutive, field: "sessionNumber",
                "the next session of this course is number \(expected), not \(session.sessionNumber)"))
        }
        guard violations.isEmpty else { return .failure(Refusal(violations)) }
        var flags: [String] = []
        let day = context.times[session.clinicID].day(of: session.startedAt)
        if let last = context.client.procedures.filter({ $0.number > 0 }).map({ $0.day(in: context.times) }).max() {
            let spacing = day.daysSinceEpoch - last.daysSinceEpoch
            if spacing < usualSpacingDays.lowerBound { flags.append("spacing-under-7-days") }
            if spacing > usualSpacingDays.upperBound { flags.append("spacing-over-60-days") }
        }
        var recorded = session
        (recorded.pigments, recorded.cartridges) = completed(session.pigments, session.cartridges, context: context)
        return .success(SessionDecision(session: recorded, flags: flags))
    }

    /// The lots as the record keeps them: what the caller left empty (expiry, brand,
    /// shade, manufacturer) filled from the lot's receipt, so that the personal-service-
    /// settings record has every lot's expiry however the procedure was typed.
    static func completed(
        _ pigments: [Stipple_V1_PigmentUse], _ cartridges: [Stipple_V1_CartridgeUse], context: SessionContext
    ) -> ([Stipple_V1_PigmentUse], [Stipple_V1_CartridgeUse]) {
        let pigments = pigments.map { use -> Stipple_V1_PigmentUse in
            guard let received = context.lots[use.lotID]?.received else { return use }
            var use = use
            if use.expiry.isEmpty { use.expiry = received.expiry }
            if use.brand.isEmpty { use.brand = received.manufacturer }
            if use.product.isEmpty { use.product = received.product }
            if use.shade.isEmpty { use.shade = received.shade }
            return use
        }
        let cartridges = cartridges.map { use -> Stipple_V1_CartridgeUse in
            guard let received = context.lots[use.lotID]?.received else { return use }
            var use = use
            if use.expiry.isEmpty { use.expiry = received.expiry }
            if use.manufacturer.isEmpty { use.manufacturer = received.manufacturer }
            return use
        }
        return (pigments, cartridges)
    }

    /// Decides a touch-up: the session's rules but the course numbering.
    public static func decideTouchUp(_ touchUp: Stipple_V1_TouchUpRecorded, context: SessionContext) -> Result<Stipple_V1_TouchUpRecorded, Refusal> {
        let violations = validate(touchUp) + contextViolations(ProcedureView(touchUp), context: context, noun: "a touch-up")
        guard violations.isEmpty else { return .failure(Refusal(violations)) }
        var recorded = touchUp
        (recorded.pigments, recorded.cartridges) = completed(touchUp.pigments, touchUp.cartridges, context: context)
        return .success(recorded)
    }

    /// The rules that need other streams, shared by sessions and touch-ups.
    static func contextViolations(_ procedure: ProcedureView, context: SessionContext, noun: String) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        let client = context.client
        if !client.registered {
            violations.append(RuleViolation(.clientRegistered, "the client is not registered"))
        }
        if !client.consentSigned {
            violations.append(RuleViolation(.consentSigned, "no signed consent is on file: \(noun) cannot be recorded without one"))
        }
        guard let started = procedure.startedAt else { return violations }
        let time = context.times[procedure.clinicID]
        let day = time.day(of: started)
        violations += certificationViolations(procedure, day: day, context: context)
        violations += lotViolations(lots: procedure.pigments.map(\.lotID), kind: .pigment, day: day, time: time, context: context, field: "pigments")
        violations += lotViolations(lots: procedure.cartridges.map(\.lotID), kind: .cartridge, day: day, time: time, context: context, field: "cartridges")
        let days = client.procedures.map { $0.day(in: context.times) }
        if days.contains(day) {
            violations.append(RuleViolation(.oneSessionPerDay, field: "startedAt", "the client already had a procedure on \(day)"))
        } else if let latest = days.max(), day < latest {
            violations.append(RuleViolation(
                .sessionsInOrder, field: "startedAt", "the client's last procedure was on \(latest); \(noun) cannot be dated before it"))
        }
        return violations
    }

    /// The technician certified on the day, or a trainee with a certified supervisor;
    /// bloodborne-pathogens training within 12 months.
    static func certificationViolations(_ session: ProcedureView, day: Day, context: SessionContext) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        let technician = session.technicianID
        if !context.technician.registered {
            violations.append(RuleViolation(.technicianCertified, field: "technicianId", "technician \(technician) is not registered"))
        }
        switch context.technician.level(on: day) {
        case nil:
            violations.append(RuleViolation(
                .technicianCertified, field: "technicianId", "technician \(technician) holds no certification in force on \(day)"))
        case .trainee?:
            if session.supervisorID.isEmpty {
                violations.append(RuleViolation(
                    .traineeSupervised, field: "supervisorId", "technician \(technician) is a trainee on \(day): name the certified supervisor present"))
            } else if let level = context.supervisor?.level(on: day), level != .trainee {
                break
            } else {
                violations.append(RuleViolation(
                    .traineeSupervised, field: "supervisorId", "supervisor \(session.supervisorID) is not certified on \(day)"))
            }
        default:
            break
        }
        if !context.technician.bloodbornePathogensTrainingCurrent(on: day) {
            violations.append(RuleViolation(
                .bloodbornePathogensTraining, field: "technicianId",
                "technician \(technician) has no bloodborne-pathogens training within the 12 months before \(day)"))
        }
        return violations
    }

    /// Every lot received as the right kind, with a readable expiry not before the day,
    /// not recalled by then, not thrown away.
    ///
    /// - Parameter field: the command's list the lots come from (`pigments`): each violation
    ///   names the first entry of its lot (`pigments[0].lot`), so a form shows it there.
    static func lotViolations(
        lots: [String], kind: Stipple_V1_BatchKind, day: Day, time: ClinicTime, context: SessionContext, field list: String? = nil
    ) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        let kindName = kind == .pigment ? "pigment" : "needle-cartridge"
        for lot in Set(lots).sorted() where !lot.isEmpty {
            let field = list.flatMap { list in lots.firstIndex(of: lot).map { "\(list)[\($0)].lot" } }
            guard let batch = context.lots[lot], let received = batch.received else {
                violations.append(RuleViolation(.lotReceived, field: field, "lot \(LotIdentity.label(lot)) was never received"))
                continue
            }
            let lot = LotIdentity.label(lot, received: received)
            if received.kind != kind {
                violations.append(RuleViolation(.lotReceived, field: field, "lot \(lot) was not received as a \(kindName) lot"))
            }
            if let expiry = batch.expiry {
                if expiry < day { violations.append(RuleViolation(.lotNotExpired, field: field, "lot \(lot) expired on \(expiry), before \(day)")) }
            } else {
                violations.append(RuleViolation(.lotNotExpired, field: field, "lot \(lot) has no readable expiry on file (\"\(received.expiry)\")"))
            }
            if let recalled = batch.recalledOn(in: time), recalled <= day {
                let notice = batch.recalled.map { " (\($0.authority) \($0.noticeReference))" } ?? ""
                violations.append(RuleViolation(.lotNotRecalled, field: field, "lot \(lot) was recalled on \(recalled)\(notice)"))
            }
            if let discarded = batch.discardedOn(in: time), discarded <= day {
                violations.append(RuleViolation(.lotNotRecalled, field: field, "lot \(lot) was discarded on \(discarded)"))
            }
        }
        return violations
    }
}

/// Rules of lots, certifications and amendments.
public enum RecordRules {
    /// A lot can be recalled once, and only once received.
    public static func decideRecall(_ recall: Stipple_V1_BatchRecalled, lot: String, batch: BatchState) -> Result<Stipple_V1_BatchRecalled, Refusal> {
        var violations: [RuleViolation] = []
        let lot = LotIdentity.label(lot, received: batch.received)
        if batch.received == nil { violations.append(RuleViolation(.lotReceived, "lot \(lot) was never received")) }
        if let earlier = batch.recalled {
            violations.append(RuleViolation(
                .recallOnce, "lot \(lot) was already recalled on \(Day(earlier.recalledAt)) (\(earlier.authority) \(earlier.noticeReference))"))
        }
        if recall.authority.isEmpty { violations.append(RuleViolation(.valueInRange, field: "authority", "is missing")) }
        if recall.noticeReference.isEmpty { violations.append(RuleViolation(.valueInRange, field: "noticeReference", "is missing")) }
        return violations.isEmpty ? .success(recall) : .failure(Refusal(violations))
    }

    /// A certification is renewed only if it exists and was not revoked.
    public static func decideRenewal(_ renewal: Stipple_V1_CertificationRenewed, technician: TechnicianState) -> Result<Stipple_V1_CertificationRenewed, Refusal> {
        var violations: [RuleViolation] = []
        let id = renewal.certificationID
        if let certification = technician.certifications[id] {
            if let revoked = certification.revokedOn {
                violations.append(RuleViolation(
                    .noRenewalAfterRevocation, field: "certificationId", "certification \(id) was revoked on \(revoked) and cannot be renewed"))
            }
            if let expires = Day(renewal.expiresOn), let current = certification.expiresOn, expires <= current {
                violations.append(RuleViolation(
                    .valueInRange, field: "expiresOn", "must be after the current expiry, \(current)"))
            }
        } else {
            violations.append(RuleViolation(.technicianCertified, field: "certificationId", "the technician holds no certification \(id)"))
        }
        if Day(renewal.expiresOn) == nil {
            violations.append(RuleViolation(.valueInRange, field: "expiresOn", "must be a day, YYYY-MM-DD"))
        }
        if Day(renewal.renewedOn) == nil {
            violations.append(RuleViolation(.valueInRange, field: "renewedOn", "must be a day, YYYY-MM-DD"))
        }
        return violations.isEmpty ? .success(renewal) : .failure(Refusal(violations))
    }

    /// An amendment points at an event of the same client and names fields of its type,
    /// with a session's or touch-up's corrected values typed (``Amendments``).
    ///
    /// - Parameter target: the corrected event's type and message (newest schema, earlier
    ///   typed corrections folded in), when it is one of the client's.
    /// - Returns: the amendment to record (values given as JSON moved into typed values).
    public static func decideAmendment(
        _ amendment: Stipple_V1_RecordAmended, client: ClientState, target: (type: String, message: any SwiftProtobuf.Message)?
    ) -> Result<Stipple_V1_RecordAmended, Refusal> {
        var violations: [RuleViolation] = []
        var accepted = amendment
        if let id = UUID(uuidString: amendment.correctsEventID) {
            if !client.eventIDs.contains(id) {
                violations.append(RuleViolation(
                    .amendmentTargetsClientEvent, field: "correctsEventId", "event \(amendment.correctsEventID) is not an event of this client"))
            } else if let target {
                let checked = Amendments.check(amendment, targetType: target.type, target: target.message)
                accepted = checked.0
                violations += checked.1
            }
        } else {
            violations.append(RuleViolation(.valueInRange, field: "correctsEventId", "must be an event id (a UUID)"))
        }
        if ValueRules.isBlank(amendment.reason) { violations.append(RuleViolation(.valueInRange, field: "reason", "say why the record is amended")) }
        return violations.isEmpty ? .success(accepted) : .failure(Refusal(violations))
    }
}

/// The fields that sessions and touch-ups share, for the rules they share.
struct ProcedureView {
    var clinicID: String
    var technicianID: String
    var supervisorID: String
    var startedAt: Google_Protobuf_Timestamp?
    var endedAt: Google_Protobuf_Timestamp?
    var areas: [Stipple_V1_ScalpArea]
    var pigments: [Stipple_V1_PigmentUse]
    var cartridges: [Stipple_V1_CartridgeUse]
    var depthMm: Double

    init(_ session: Stipple_V1_SessionRecordedV2) {
        clinicID = session.clinicID
        technicianID = session.technicianID
        supervisorID = session.supervisorID
        startedAt = session.hasStartedAt ? session.startedAt : nil
        endedAt = session.hasEndedAt ? session.endedAt : nil
        areas = session.areas
        pigments = session.pigments
        cartridges = session.cartridges
        depthMm = session.depthMm
    }

    init(_ touchUp: Stipple_V1_TouchUpRecorded) {
        clinicID = touchUp.clinicID
        technicianID = touchUp.technicianID
        supervisorID = touchUp.supervisorID
        startedAt = touchUp.hasStartedAt ? touchUp.startedAt : nil
        endedAt = touchUp.hasEndedAt ? touchUp.endedAt : nil
        areas = touchUp.areas
        pigments = touchUp.pigments
        cartridges = touchUp.cartridges
        depthMm = touchUp.depthMm
    }
}
