import SwiftProtobuf
import Testing
@testable import Treatment

/// The audit stores findings as bits (``AuditRules/findings``) and words them with the
/// rules' own sentences (``AuditRules/describe``): both must name the same rules.
@Suite("Audit rules")
struct AuditRulesTests {
    static let day = Day("2026-03-05")!

    static func technician(level: Stipple_V1_CertificationLevel?, registered: Bool = true, training: Bool) -> TechnicianState {
        var state = TechnicianState()
        state.registered = registered
        if let level {
            state.certifications["C-1"] = .init(level: level, issuedOn: Day("2025-01-01")!, expiresOn: Day("2027-01-01")!)
        }
        if training { state.bloodbornePathogensTraining = [Day("2025-09-01")!] }
        return state
    }

    static func lot(_ kind: Stipple_V1_BatchKind, expiry: String = "2027-05-31", recalled: String? = nil) -> BatchState {
        var state = BatchState()
        var received = Stipple_V1_BatchReceived()
        received.kind = kind
        received.expiry = expiry
        state.received = received
        if let recalled {
            var recall = Stipple_V1_BatchRecalled()
            recall.recalledAt.seconds = Day(recalled)!.startSeconds
            state.recalled = recall
        }
        return state
    }

    static let technicians: [TechnicianState?] = [
        nil, technician(level: .certified, registered: false, training: true), technician(level: .certified, training: true),
        technician(level: .certified, training: false), technician(level: .trainee, training: true), technician(level: nil, training: true),
    ]
    static let lotSets: [[String: BatchState]] = [
        ["P": lot(.pigment), "N": lot(.cartridge)],
        ["N": lot(.cartridge)],
        ["P": lot(.cartridge), "N": lot(.cartridge)],
        ["P": lot(.pigment, expiry: "2026-01-01"), "N": lot(.cartridge)],
        ["P": lot(.pigment, recalled: "2026-03-01"), "N": lot(.cartridge, recalled: "2026-04-01")],
    ]

    @Test("findings and their sentences name the same rules, and are empty together", arguments: 0..<technicians.count)
    func parity(technicianIndex: Int) {
        let technician = Self.technicians[technicianIndex]
        var checked = 0
        for supervisor in [nil, Self.technician(level: .certified, training: true), Self.technician(level: .trainee, training: true)] {
            for lots in Self.lotSets {
                for consent in [true, false] {
                    let procedure = AuditedProcedure(
                        technicianID: "17", supervisorID: supervisor == nil ? "" : "21", day: Self.day,
                        pigmentLots: ["P"], cartridgeLots: ["N"], consentOnFile: consent)
                    let findings = AuditRules.findings(procedure, technician: technician, supervisor: supervisor, lots: { lots[$0] })
                    let sentences = AuditRules.describe(procedure, technician: technician, supervisor: supervisor, lots: lots)
                    #expect(findings.isEmpty == sentences.isEmpty, "\(findings) / \(sentences)")
                    #expect(Set(findings.rules) == Set(sentences.map(\.rule)), "\(findings.rules) / \(sentences)")
                    checked += 1
                }
            }
        }
        #expect(checked == 30)
    }
}
