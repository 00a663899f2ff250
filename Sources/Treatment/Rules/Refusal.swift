/// A rule of the domain, named as audits and messages name it.
public enum Rule: String, Sendable, Hashable, CaseIterable {
    case valueInRange = "value-in-range"
    case clientRegistered = "client-registered"
    case consentSigned = "consent-signed"
    case technicianCertified = "technician-certified"
    case traineeSupervised = "trainee-supervised"
    case bloodbornePathogensTraining = "bloodborne-pathogens-training"
    /// An audit finding: no hepatitis B status on file (DOMAIN.md); no session is refused for it.
    case hepatitisBStatus = "hepatitis-b-status"
    case lotReceived = "lot-received"
    case lotNotExpired = "lot-not-expired"
    case lotNotRecalled = "lot-not-recalled"
    case sessionNumbersConsecutive = "session-numbers-consecutive"
    case oneSessionPerDay = "one-session-per-day"
    case sessionsInOrder = "sessions-in-order"
    case amendmentTargetsClientEvent = "amendment-targets-client-event"
    /// An amendment names fields of the corrected event's type, with their values typed.
    case amendmentFieldsOfTarget = "amendment-fields-of-target"
    /// A photo is taken only with a consent that covers photos on file.
    case photoConsent = "photo-consent"
    /// A consent names a published consent form in force, and covers only what it covers.
    case consentForm = "consent-form"
    /// A photo belongs to one of the client's consultations, sessions, touch-ups or reactions.
    case photoOfClientRecord = "photo-of-client-record"
    case recallOnce = "recall-once"
    case noRenewalAfterRevocation = "no-renewal-after-revocation"
}

/// One reason a command is refused: the rule, the field concerned, and a sentence.
public struct RuleViolation: Sendable, Hashable, CustomStringConvertible {
    public var rule: Rule
    /// The field of the command, in its JSON name (e.g. `cartridges[0].diameterMm`).
    public var field: String?
    public var message: String

    public init(_ rule: Rule, field: String? = nil, _ message: String) {
        self.rule = rule
        self.field = field
        self.message = message
    }

    public var description: String {
        "[\(rule.rawValue)] " + (field.map { "\($0): " } ?? "") + message
    }
}

/// A command refused, with every reason (not only the first).
public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    public var violations: [RuleViolation]

    public init(_ violations: [RuleViolation]) { self.violations = violations }

    /// The rules broken, in the order found.
    public var rules: [Rule] { violations.map(\.rule) }

    public var description: String {
        "refused for \(violations.count) reason\(violations.count == 1 ? "" : "s"):\n"
            + violations.map { "  - \($0)" }.joined(separator: "\n")
    }
}
