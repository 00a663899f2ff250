import Discretion
import Foundation
import StippleService
import StippleTesting
import Testing
import Treatment

/// Today at a clinic: the day's bookings in the clinic's zone, names for those who book
/// there (logged), lots and lapses for those who record there.
@Suite struct ClinicDayTests {
    static let facts = """
        {"command":"record","stream":"client-42","type":"SessionBooked","data":{"bookingId":"B-1","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-01T15:00:00Z","expectedMinutes":180,"sessionNumber":1}}
        {"command":"record","stream":"client-42","type":"SessionBooked","data":{"bookingId":"B-2","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-02T15:00:00Z","expectedMinutes":180,"sessionNumber":2}}
        {"command":"record","stream":"client-44","type":"SessionBooked","data":{"bookingId":"B-9","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-01T04:30:00Z","expectedMinutes":120,"sessionNumber":1}}
        {"command":"record","stream":"client-44","type":"SessionBooked","data":{"bookingId":"B-8","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-01T18:00:00Z","expectedMinutes":120,"sessionNumber":1}}
        {"command":"record","stream":"client-43","type":"SessionBooked","data":{"bookingId":"B-3","clinicId":"brampton","technicianId":"17","startsAt":"2026-03-01T15:00:00Z","expectedMinutes":180,"sessionNumber":1}}
        {"command":"record","stream":"batch-PB-3000~perma-blend","type":"BatchReceived","data":{"lot":"PB-3000","kind":"BATCH_KIND_PIGMENT","manufacturer":"Perma Blend","shade":"SMP Black","expiry":"2026-03-20","clinicId":"toronto","quantity":1,"receivedAt":"2026-01-05T09:00:00Z"}}
        {"command":"record","stream":"technician-19","type":"TechnicianRegistered","data":{"registeredAt":"2025-01-02T09:00:00Z","personal":{"name":"T. Nineteen"}}}
        {"command":"record","stream":"technician-19","type":"TechnicianAssignedToClinic","data":{"clinicId":"toronto","fromDay":"2025-01-02"}}
        {"command":"record","stream":"technician-19","type":"CertificationGranted","data":{"certificationId":"C-19","level":"CERTIFICATION_LEVEL_CERTIFIED","issuedOn":"2025-03-15","expiresOn":"2026-03-15","issuer":"Stipple Academy"}}
        {"command":"record","stream":"technician-19","type":"BloodbornePathogensTrainingRecorded","data":{"completedOn":"2025-03-10"}}
        """

    @Test func theDaysBookingsAreTheClinicsInItsZoneWithNamesLoggedAndConfidentialOnesByPseudonym() async throws {
        let chain = try await TestChain.make()
        try await chain.record(Self.facts)
        let before = try await chain.session(.admin).readStream("access-42").events.count
        let day = try await chain.session(.reception).clinicDay("toronto")
        #expect(day.day == Day("2026-03-01"), "09:00 UTC is still the 1st in Toronto")
        #expect(day.bookings.map(\.booking.bookingID) == ["B-1", "B-8"], "B-9 starts at 23:30 on the 28th, local; B-2 is tomorrow; B-3 is Brampton's")
        #expect(day.bookings.first?.contact.name == "A. Client")
        #expect(day.bookings.last?.contact.pseudonym?.hasPrefix("C-") == true, "the confidential 44, by pseudonym")
        #expect(day.bookings.last?.contact.name != "C. Client")
        #expect(try await chain.session(.admin).readStream("access-42").events.count == before + 1, "the name shown is logged")
        #expect(day.lotsExpiring.isEmpty && day.lapses.isEmpty, "reception records no lots")
    }

    @Test func lotsAndLapsesWithin30DaysAreShownToThoseWhoRecordThere() async throws {
        let chain = try await TestChain.make()
        try await chain.record(Self.facts)
        let day = try await chain.session(.clinician).clinicDay("toronto")
        #expect(day.lotsExpiring.map(\.lot) == ["PB-3000"])
        #expect(day.lapses.map { "\($0.technician) \($0.what) \($0.on)" } == [
            "19 bloodborne-pathogens training 2026-03-10", "19 certification C-19 2026-03-15",
        ])
    }

    @Test func anotherClinicsDayIsRefused() async throws {
        let chain = try await TestChain.make()
        let error = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).clinicDay("toronto") }
        #expect(error?.kind == .denied)
        let auditor = await #expect(throws: ServiceError.self) { try await chain.session(.auditor).clinicDay("toronto") }
        #expect(auditor?.kind == .denied)
    }

    static let touchUp = """
        {"command":"touch-up","client":"42","data":{"clinicId":"toronto","technicianId":"17","startedAt":"2026-02-28T15:00:00Z","endedAt":"2026-02-28T16:00:00Z","areas":["SCALP_AREA_CROWN"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.8,"reason":"TOUCH_UP_REASON_FADING"}}
        """

    @Test func theDueListOfOneClinicIsItsCliniciansAndNoOneElses() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.record(Self.touchUp, as: .clinician)
        let on = Day("2026-03-01")!
        let toronto = try await chain.session(.clinician).report(.due(on: on, touchUpMonths: 1, clinic: "toronto"))
        let shown = toronto.sections[0].column("client").map(\.description)
        #expect(shown.count == 1 && shown.first?.hasPrefix("C-") == true, "42's touch-up falls due on 2026-03-28 (by pseudonym to a clinician): \(shown)")
        let brampton = try await chain.session(.admin).report(.due(on: on, touchUpMonths: 1, clinic: "brampton"))
        #expect(brampton.sections.allSatisfy { $0.rows.isEmpty }, "Toronto's client is not on Brampton's list")
        let other = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).report(.due(on: on, touchUpMonths: 1, clinic: "toronto")) }
        #expect(other?.kind == .denied)
        #expect(other?.message.contains("toronto") == false, "the refusal names no clinic")
        let chainWide = await #expect(throws: ServiceError.self) { try await chain.session(.clinician).report(.due(on: on, touchUpMonths: 1)) }
        #expect(chainWide?.kind == .denied, "the chain's list is not a clinician's")
        let unknown = await #expect(throws: ServiceError.self) { try await chain.session(.admin).report(.due(on: on, touchUpMonths: 1, clinic: "nowhere")) }
        #expect(unknown?.kind == .notFound)
    }

    @Test func theDayCarriesTheDueListForThoseWhoReadTheClinicsReports() async throws {
        let chain = try await TestChain.make()
        _ = try await chain.record(Self.touchUp, as: .clinician)
        let day = try await chain.session(.clinician).clinicDay("toronto")
        #expect(day.due?.sections.count == 3, "touch-ups, guarantees, overdue courses")
        #expect(try await chain.session(.reception).clinicDay("toronto").due == nil, "reception reads no reports")
    }

    @Test func whatAUserMayDoIsAskedOfTheSession() async throws {
        let chain = try await TestChain.make()
        let clinician = try await chain.session(.clinician)
        #expect(clinician.may(.recordClinical, clinic: "toronto"))
        #expect(!clinician.may(.recordClinical, clinic: "brampton"))
        #expect(!clinician.may(.readReports), "not across the chain")
        #expect(clinician.mayAnywhere(.readReports))
        #expect(!clinician.mayAnywhere(.readAccessLog))
        #expect(try await chain.session(.admin).may(.manageUsers))
        #expect(try await chain.session(.auditor).mayAnywhere(.readAccessLog))
        #expect(!(try await chain.session(.reception).mayAnywhere(.readReports)))
    }
}
