import SwiftProtobuf

/// What an audit finds wrong with one session or touch-up, as bits (cheap to compute and
/// to store for every procedure); ``AuditRules/describe(_:_:technician:supervisor:lots:)``
/// turns them into the rules' own sentences.
public struct AuditFindings: OptionSet, Sendable, Hashable {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// No signed consent covering the procedure was on file before it.
    public static let noConsent = AuditFindings(rawValue: 1 << 0)
    /// The technician holds no certification in force on the day (or is not registered).
    public static let notCertified = AuditFindings(rawValue: 1 << 1)
    /// A trainee with no supervisor named.
    public static let traineeUnsupervised = AuditFindings(rawValue: 1 << 2)
    /// A trainee whose named supervisor was not certified (above trainee) on the day.
    public static let supervisorNotCertified = AuditFindings(rawValue: 1 << 3)
    /// No bloodborne-pathogens training within the 12 months before the day.
    public static let trainingLapsed = AuditFindings(rawValue: 1 << 4)
    /// A lot never received (or received as the other kind).
    public static let lotNotReceived = AuditFindings(rawValue: 1 << 5)
    /// A lot expired before the day, or with no readable expiry.
    public static let lotExpired = AuditFindings(rawValue: 1 << 6)
    /// A lot recalled or discarded on or before the day.
    public static let lotRecalled = AuditFindings(rawValue: 1 << 7)
    /// No hepatitis B status of the technician on file on the day (an audit finding only:
    /// it does not refuse a session).
    public static let hepatitisBMissing = AuditFindings(rawValue: 1 << 8)

    /// The rule each finding breaks, in the order they are reported.
    public var rules: [Rule] {
        var rules: [Rule] = []
        if contains(.notCertified) { rules.append(.technicianCertified) }
        if contains(.traineeUnsupervised) || contains(.supervisorNotCertified) { rules.append(.traineeSupervised) }
        if contains(.trainingLapsed) { rules.append(.bloodbornePathogensTraining) }
        if contains(.hepatitisBMissing) { rules.append(.hepatitisBStatus) }
        if contains(.noConsent) { rules.append(.consentSigned) }
        if contains(.lotNotReceived) { rules.append(.lotReceived) }
        if contains(.lotExpired) { rules.append(.lotNotExpired) }
        if contains(.lotRecalled) { rules.append(.lotNotRecalled) }
        return rules
    }
}

/// A session or touch-up as an audit sees it.
public struct AuditedProcedure: Sendable, Hashable {
    public var technicianID: String
    public var supervisorID: String
    public var day: Day
    public var pigmentLots: [String]
    public var cartridgeLots: [String]
    /// Whether a consent covering the procedure was on file before it.
    public var consentOnFile: Bool
    /// Its clinic's time: `day` is a local day there, and so are a recall's and a discard's.
    public var time: ClinicTime

    public init(
        technicianID: String, supervisorID: String, day: Day, pigmentLots: [String], cartridgeLots: [String], consentOnFile: Bool,
        time: ClinicTime = .chainDefault
    ) {
        self.technicianID = technicianID
        self.supervisorID = supervisorID
        self.time = time
        self.day = day
        self.pigmentLots = pigmentLots
        self.cartridgeLots = cartridgeLots
        self.consentOnFile = consentOnFile
    }
}

/// The certification audit (DOMAIN.md, "Technicians and certification"): each session
/// and touch-up checked, with everything known now, against the technician's
/// certification on that day, a trainee's certified supervisor, bloodborne-pathogens
/// training within 12 months, the consent on file, and its lots at the time. The same
/// rules that refuse a session; an audit also sees what was learned after it was
/// recorded (a back-dated suspension, a recall).
public enum AuditRules {
    /// Every finding for `procedure`, as bits.
    public static func findings(
        _ procedure: AuditedProcedure, technician: TechnicianState?, supervisor: TechnicianState?, lots: (String) -> BatchState?
    ) -> AuditFindings {
        var findings: AuditFindings = []
        let day = procedure.day
        if !procedure.consentOnFile { findings.insert(.noConsent) }
        let level = technician.flatMap { $0.registered ? $0.level(on: day) : nil }
        switch level {
        case nil: findings.insert(.notCertified)
        case .trainee?:
            if procedure.supervisorID.isEmpty {
                findings.insert(.traineeUnsupervised)
            } else if supervisor?.level(on: day).map({ $0 != .trainee }) != true {
                findings.insert(.supervisorNotCertified)
            }
        default: break
        }
        if technician?.bloodbornePathogensTrainingCurrent(on: day) != true { findings.insert(.trainingLapsed) }
        if technician?.hepatitisBStatus(on: day) == nil { findings.insert(.hepatitisBMissing) }
        for (lotsOfKind, kind) in [(procedure.pigmentLots, Stipple_V1_BatchKind.pigment), (procedure.cartridgeLots, .cartridge)] {
            for lot in lotsOfKind where !lot.isEmpty {
                guard let batch = lots(lot), let received = batch.received else {
                    findings.insert(.lotNotReceived)
                    continue
                }
                if received.kind != kind { findings.insert(.lotNotReceived) }
                if batch.expiry.map({ $0 < day }) ?? true { findings.insert(.lotExpired) }
                if batch.recalledOn(in: procedure.time).map({ $0 <= day }) == true || batch.discardedOn(in: procedure.time).map({ $0 <= day }) == true {
                    findings.insert(.lotRecalled)
                }
            }
        }
        return findings
    }

    /// The findings as the rules word them (the sentences a refused session gets).
    public static func describe(
        _ procedure: AuditedProcedure, technician: TechnicianState?, supervisor: TechnicianState?, lots: [String: BatchState]
    ) -> [RuleViolation] {
        var violations = describeCertification(
            technicianID: procedure.technicianID, supervisorID: procedure.supervisorID, day: procedure.day,
            technician: technician, supervisor: supervisor)
        if !procedure.consentOnFile { violations.append(noConsent) }
        for lot in procedure.pigmentLots { violations += describeLot(lot, kind: .pigment, day: procedure.day, time: procedure.time, state: lots[lot]) }
        for lot in procedure.cartridgeLots { violations += describeLot(lot, kind: .cartridge, day: procedure.day, time: procedure.time, state: lots[lot]) }
        return violations
    }

    /// The consent finding, worded.
    public static let noConsent = RuleViolation(.consentSigned, "no signed consent was on file before the procedure")

    /// The certification, supervision, training and hepatitis B findings of a procedure on `day`
    /// (the part of ``describe(_:technician:supervisor:lots:)`` that depends on the people).
    public static func describeCertification(
        technicianID: String, supervisorID: String, day: Day, technician: TechnicianState?, supervisor: TechnicianState?
    ) -> [RuleViolation] {
        let view = ProcedureView(technicianID: technicianID, supervisorID: supervisorID)
        let context = SessionContext(client: ClientState(), technician: technician ?? TechnicianState(), supervisor: supervisor, lots: [:])
        var violations = SessionRules.certificationViolations(view, day: day, context: context)
        // The audit's own finding: no session is refused for it.
        if technician?.hepatitisBStatus(on: day) == nil {
            violations.append(RuleViolation(
                .hepatitisBStatus, field: "technicianId", "technician \(technicianID) had no hepatitis B status on file on \(day) (recorded, declined or exempt)"))
        }
        return violations
    }

    /// The findings of one lot used on `day` (the part of
    /// ``describe(_:technician:supervisor:lots:)`` that depends on that lot).
    public static func describeLot(
        _ lot: String, kind: Stipple_V1_BatchKind, day: Day, time: ClinicTime = .chainDefault, state: BatchState?
    ) -> [RuleViolation] {
        guard !lot.isEmpty else { return [] }
        let context = SessionContext(client: ClientState(), technician: TechnicianState(), supervisor: nil, lots: state.map { [lot: $0] } ?? [:])
        return SessionRules.lotViolations(lots: [lot], kind: kind, day: day, time: time, context: context)
    }
}

extension ProcedureView {
    /// A view with only the people filled in: what the certification rules read.
    init(technicianID: String, supervisorID: String) {
        clinicID = ""
        self.technicianID = technicianID
        self.supervisorID = supervisorID
        startedAt = nil
        endedAt = nil
        areas = []
        pigments = []
        cartridges = []
        depthMm = 0
    }
}
