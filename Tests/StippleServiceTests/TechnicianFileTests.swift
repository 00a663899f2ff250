import Discretion
import Foundation
import StippleService
import StippleTesting
import Testing
import Treatment

/// Technicians' files as the pages show them: who sees which, and what a file says today.
@Suite struct TechnicianFileTests {
    static let facts = """
        {"command":"record","stream":"technician-17","type":"TechnicianAssignedToClinic","data":{"clinicId":"toronto","fromDay":"2025-01-02"}}
        {"command":"record","stream":"technician-18","type":"TechnicianAssignedToClinic","data":{"clinicId":"brampton","fromDay":"2025-06-02"}}
        {"command":"record","stream":"technician-18","type":"CertificationGranted","data":{"certificationId":"C-8","level":"CERTIFICATION_LEVEL_SENIOR","issuedOn":"2025-06-10","expiresOn":"2026-06-10","issuer":"Stipple Academy"}}
        {"command":"record","stream":"technician-18","type":"CertificationSuspended","data":{"certificationId":"C-8","suspendedOn":"2026-02-01","reason":"complaint"}}
        """

    @Test func aClinicsStaffSeeItsTechniciansAndAdminsAndAuditorsSeeEveryOne() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.record(Self.facts)
        #expect(try await chain.session(.clinician).technicians().map(\.id) == ["17"])
        #expect(try await chain.session(.reception).technicians().map(\.id) == ["17"])
        #expect(try await chain.session(.bramptonClinician).technicians().map(\.id) == ["18"])
        #expect(try await chain.session(.auditor).technicians().map(\.id) == ["17", "18"])
        #expect(try await chain.session(.admin).technicians().map(\.id) == ["17", "18"])
    }

    @Test("a technician's hepatitis B status is health information: admins and auditors read it, their colleagues only that one is on file")
    func hepatitisBIsReadByAdminsAndAuditorsOnly() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.record(Self.facts)
        for user in [TestUser.admin, .auditor] {
            let file = try await chain.session(user).technician("17")
            #expect(file.hepatitisB == "recorded (on file from 2025-01-02)", "\(user)")
            #expect(file.history.contains { $0.what == "hepatitis B status put on file from 2025-01-02: recorded" }, "\(user)")
        }
        for user in [TestUser.clinician, .reception] {
            let file = try await chain.session(user).technician("17")
            #expect(file.hepatitisB == "on file", "\(user)")
            #expect(!file.history.contains { $0.what.contains("recorded") && $0.what.contains("hepatitis") }, "\(user)")
            #expect(try await chain.session(user).technicians().first { $0.id == "17" }?.hepatitisB == "on file", "\(user)")
        }
    }

    @Test func anotherClinicsTechnicianGetsTheWordsOfAnUnknownOne() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.record(Self.facts)
        let other = await #expect(throws: ServiceError.self) { try await chain.session(.clinician).technician("18") }
        let unknown = await #expect(throws: ServiceError.self) { try await chain.session(.clinician).technician("99") }
        #expect(other?.kind == .notFound)
        #expect(other?.message.replacingOccurrences(of: "18", with: "99") == unknown?.message)
    }

    @Test func aFileSaysWhatHoldsToday() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.record(Self.facts)
        let seventeen = try await chain.session(.admin).technician("17")
        #expect(seventeen.name == "T. Seventeen")
        #expect(seventeen.level == "certified")
        #expect(seventeen.certifications.map(\.state) == ["in force"])
        #expect(seventeen.trainingCurrent && seventeen.trainingLapses == Day("2026-09-01"))
        #expect(seventeen.clinics.map(\.clinic) == ["toronto"])
        #expect(seventeen.history.map(\.what).first == "registered")
        let eighteen = try await chain.session(.admin).technician("18")
        #expect(eighteen.level == nil, "suspended since 2026-02-01; today is 2026-03-01")
        #expect(eighteen.certifications.first?.state == "suspended since 2026-02-01")
        #expect(eighteen.lapsingSoon, "no training on file")
        #expect(eighteen.history.last?.what == "certification C-8 suspended from 2026-02-01: complaint")
    }
}
