import Foundation
import SwiftProtobuf
import Testing
@testable import Treatment

/// The audit stores findings as bits (``AuditRules/findings``) and words them with the
/// rules' own sentences (``AuditRules/describe``): both must name the same rules.
@Suite("Audit rules")
struct AuditRulesTests {
    static let day = Day("2026-03-05")!

    static func technician(level: Stipple_V1_CertificationLevel?, registered: Bool = true, training: Bool, hepatitisB: Bool = true) -> TechnicianState {
        var state = TechnicianState()
        state.registered = registered
        if hepatitisB { state.hepatitisB[Day("2025-01-01")!] = .recorded }
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
        technician(level: .certified, training: true, hepatitisB: false),
    ]
    static let lotSets: [[String: BatchState]] = [
        ["P": lot(.pigment), "N": lot(.cartridge)],
        ["N": lot(.cartridge)],
        ["P": lot(.cartridge), "N": lot(.cartridge)],
        ["P": lot(.pigment, expiry: "2026-01-01"), "N": lot(.cartridge)],
        ["P": lot(.pigment, recalled: "2026-03-01"), "N": lot(.cartridge, recalled: "2026-04-01")],
    ]

    @Test("a technician with no hepatitis B status on file on the day is a finding; one put on file after the day does not count for it")
    func hepatitisB() {
        let procedure = AuditedProcedure(technicianID: "17", supervisorID: "", day: Self.day, pigmentLots: [], cartridgeLots: [], consentOnFile: true)
        func findings(_ onFile: [String: Stipple_V1_HepatitisBStatus]) -> AuditFindings {
            var technician = Self.technician(level: .certified, training: true, hepatitisB: false)
            for (day, status) in onFile { technician.hepatitisB[Day(day)!] = status }
            return AuditRules.findings(procedure, technician: technician, supervisor: nil, lots: { _ in nil })
        }
        #expect(findings([:]) == .hepatitisBMissing)
        #expect(findings(["2026-03-06": .recorded]) == .hepatitisBMissing, "put on file the day after")
        for status in [Stipple_V1_HepatitisBStatus.recorded, .declined, .exempt] {
            #expect(findings(["2026-03-05": status]).isEmpty, "\(status) on file that day")
        }
        var technician = Self.technician(level: .certified, training: true, hepatitisB: false)
        technician.apply(type: "HepatitisBStatusRecorded", message: { var m = Stipple_V1_HepatitisBStatusRecorded(); m.status = .declined; m.onFileFrom = "2026-01-02"; return m }(), id: UUID())
        #expect(technician.hepatitisBStatus(on: Self.day) == .declined)
        #expect(technician.hepatitisBStatus(on: Day("2026-01-01")!) == nil)
        let sentences = AuditRules.describe(procedure, technician: Self.technician(level: .certified, training: true, hepatitisB: false), supervisor: nil, lots: [:])
        #expect(sentences == [RuleViolation(.hepatitisBStatus, field: "technicianId",
                                             "technician 17 had no hepatitis B status on file on 2026-03-05 (recorded, declined or exempt)")])
    }

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
