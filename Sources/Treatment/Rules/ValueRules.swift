import SwiftProtobuf

/// Value ranges of the events that no rule across streams guards (DOMAIN.md), checked
/// before they are recorded. Sessions and touch-ups have theirs in ``SessionRules``.
public enum ValueRules {
    /// Norwood stages I–VII and the common variants (men).
    public static let norwoodStages: Set<String> = ["I", "II", "IIa", "III", "IIIa", "3V", "IV", "IVa", "V", "Va", "5A", "VI", "VII"]
    /// Ludwig stages I–III (women).
    public static let ludwigStages: Set<String> = ["I", "II", "III"]

    /// Every value of `message` that is out of range; empty when it is fine or when the
    /// type has no value rules.
    public static func violations(_ message: any SwiftProtobuf.Message) -> [RuleViolation] {
        var violations: [RuleViolation] = []
        func check(_ condition: Bool, _ field: String, _ text: String) {
            if !condition { violations.append(RuleViolation(.valueInRange, field: field, text)) }
        }
        func day(_ value: String, _ field: String, required: Bool = true) {
            if value.isEmpty { check(!required, field, "is missing (a day, YYYY-MM-DD)") } else {
                check(Day(value) != nil, field, "must be a day, YYYY-MM-DD, not \"\(value)\"")
            }
        }
        switch message {
        case let consultation as Stipple_V1_ConsultationRecorded:
            check((1...6).contains(consultation.fitzpatrickType), "fitzpatrickType",
                  "must be a Fitzpatrick skin type 1 to 6, not \(consultation.fitzpatrickType)")
            switch consultation.stage {
            case .norwoodStage(let stage)?:
                check(norwoodStages.contains(stage), "norwoodStage", "must be a Norwood stage (\(norwoodStages.sorted().joined(separator: ", "))), not \"\(stage)\"")
            case .ludwigStage(let stage)?:
                check(ludwigStages.contains(stage), "ludwigStage", "must be a Ludwig stage (I, II, III), not \"\(stage)\"")
            case nil:
                break
            }
            check((1...7).contains(consultation.estimatedSessions), "estimatedSessions",
                  "must be 1 to 7, not \(consultation.estimatedSessions)")
            check(consultation.quotedPriceCents >= 0, "quotedPriceCents", "must not be negative")
        case let batch as Stipple_V1_BatchReceived:
            check(!batch.lot.isEmpty, "lot", "is missing")
            check(!batch.lot.contains(LotIdentity.separator), "lot", "must not hold \"\(LotIdentity.separator)\" (it parts a lot's number from its manufacturer in the lot's id)")
            check(batch.kind != .unspecified, "kind", "must be BATCH_KIND_PIGMENT or BATCH_KIND_CARTRIDGE")
            day(batch.expiry, "expiry")
            if batch.kind == .cartridge {
                check(batch.configuration == .needleConfiguration1Rl || batch.configuration == .needleConfiguration3Rl,
                      "configuration", "must be 1RL or 3RL")
                check(SessionRules.diameterMillimetres.contains(batch.diameterMm), "diameterMm",
                      "must be 0.15 to 0.3 mm, not \(batch.diameterMm)")
            }
        case let granted as Stipple_V1_CertificationGranted:
            check(!granted.certificationID.isEmpty, "certificationId", "is missing")
            check(TechnicianState.Certification.isRealLevel(granted.level), "level", "must be trainee, certified, senior or trainer")
            day(granted.issuedOn, "issuedOn")
            day(granted.expiresOn, "expiresOn")
            if let issued = Day(granted.issuedOn), let expires = Day(granted.expiresOn) {
                check(issued < expires, "expiresOn", "must be after issuedOn")
            }
        case let suspended as Stipple_V1_CertificationSuspended:
            day(suspended.suspendedOn, "suspendedOn")
        case let revoked as Stipple_V1_CertificationRevoked:
            day(revoked.revokedOn, "revokedOn")
        case let training as Stipple_V1_BloodbornePathogensTrainingRecorded:
            day(training.completedOn, "completedOn")
        case let hepatitisB as Stipple_V1_HepatitisBStatusRecorded:
            check(hepatitisB.status != .unspecified && Stipple_V1_HepatitisBStatus.allCases.contains(hepatitisB.status), "status",
                  "must be recorded, declined or exempt")
            day(hepatitisB.onFileFrom, "onFileFrom")
        case let booked as Stipple_V1_SessionBooked:
            check((60...480).contains(booked.expectedMinutes), "expectedMinutes", "must be 60 to 480 minutes, not \(booked.expectedMinutes)")
        case let marked as Stipple_V1_ClientMarkedConfidential:
            check(!isBlank(marked.reason), "reason", "must say why the record is confidential")
        case let lifted as Stipple_V1_ClientConfidentialityLifted:
            check(!isBlank(lifted.reason), "reason", "must say why the mark is lifted")
        case let opened as Stipple_V1_ClinicOpened:
            // Without one, the clinic counts in the chain's default zone (ClinicTime.chainDefault).
            if !opened.timeZone.isEmpty {
                check(ClinicTime(identifier: opened.timeZone) != nil, "timeZone",
                      "must be an IANA time zone such as America/Toronto or America/Vancouver, not \"\(opened.timeZone)\"")
            }
        case let assigned as Stipple_V1_TechnicianAssignedToClinic:
            check(!assigned.clinicID.isEmpty, "clinicId", "is missing")
            day(assigned.fromDay, "fromDay")
        default:
            break
        }
        return violations
    }

    /// Whether a text says nothing: empty, or only spaces, newlines and control characters.
    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}
