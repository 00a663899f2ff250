import Discretion
import Foundation
import StippleService
import StippleTesting
import Treatment
import Testing

/// A client's page: one logged access, the same refusals as the history, the course at a
/// glance; and the lots a clinic can use today.
@Suite struct ClientPageTests {
    static let session2 = """
        {"command":"record","stream":"client-42","type":"SessionBooked","data":{"bookingId":"B-1","clinicId":"toronto","technicianId":"17","startsAt":"2026-02-24T15:00:00Z","expectedMinutes":180,"sessionNumber":1}}
        {"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-02-24T15:00:00Z","endedAt":"2026-02-24T18:00:00Z","areas":["SCALP_AREA_HAIRLINE","SCALP_AREA_CROWN"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9,"bookingId":"B-1"}}
        {"command":"record","stream":"client-42","type":"SessionBooked","data":{"bookingId":"B-2","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-10T15:00:00Z","expectedMinutes":180,"sessionNumber":2}}
        """

    @Test func thePageShowsTheClientTheCourseAndTheTimelineAndLogsOneAccess() async throws {
        let chain = try await TestChain.make()
        try await chain.record(Self.session2, as: .clinician)
        let before = try await chain.session(.admin).readStream("access-42").events.count
        let page = try await chain.session(.clinician).clientPage(client: "42")
        #expect(page.contact.name == "A. Client" && page.contact.phone == "+1-416-555-0142")
        #expect(page.clinic == "toronto" && !page.confidential)
        #expect(page.course.sessionsDone == 1)
        #expect(page.course.procedures.first?.day == Day("2026-02-24"))
        #expect(page.course.procedures.first?.lots == ["PB-1187~perma-blend", "NC-0412~kwadron"])
        #expect(page.course.areaCounts == ["hairline": 1, "crown": 1])
        #expect(page.course.bookings.map(\.id) == ["B-2"], "B-1 was recorded")
        #expect(page.course.consents.map(\.form) == ["smp-consent v4"])
        #expect(page.timeline.sections.first?.rows.count == 5)
        let entries = try await chain.session(.admin).readStream("access-42").events
        #expect(entries.count == before + 1)
        #expect(entries.last?.json.canonicalString.contains("client page") == true)
    }

    @Test func theRefusalsAreTheHistorysAndNameNothing() async throws {
        let chain = try await TestChain.make()
        let other = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).clientPage(client: "42") }
        let unknown = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).clientPage(client: "4242") }
        #expect(other?.kind == .denied && other?.message == unknown?.message, "another clinic's client and an unknown one get the same words")
        let reception = await #expect(throws: ServiceError.self) { try await chain.session(.reception).clientPage(client: "42") }
        #expect(reception?.kind == .denied)
        let confidential = await #expect(throws: ServiceError.self) { try await chain.session(.clinician).clientPage(client: "44") }
        #expect(confidential?.detail == .purposeRequired(.client("44")))
        let notTeam = await #expect(throws: ServiceError.self) { try await chain.session(.otherClinician).clientPage(client: "44") }
        let unknownToKim = await #expect(throws: ServiceError.self) { try await chain.session(.otherClinician).clientPage(client: "4242") }
        #expect(notTeam?.message == unknownToKim?.message)
        let opened = try await chain.session(.clinician).clientPage(client: "44", purpose: "session today")
        #expect(opened.contact.name == "C. Client" && opened.confidential)
    }

    @Test func lotsOnHandAreTheClinicsUsableOnes() async throws {
        let chain = try await TestChain.make()
        #expect(try await chain.session(.clinician).lotsOnHand(at: "toronto").map(\.lot) == ["NC-0412", "PB-1187"])
        try await chain.record("""
            {"command":"recall","lot":"PB-1187","data":{"authority":"Health Canada","noticeReference":"RA-1","reason":"contamination","recalledAt":"2026-02-27T09:00:00Z"}}
            """)
        let lots = try await chain.session(.clinician).lotsOnHand(at: "toronto")
        #expect(lots.map(\.lot) == ["NC-0412"])
        #expect(lots.first?.description == "3RL 0.25 mm" && lots.first?.kind == "cartridge")
        #expect(try await chain.session(.bramptonClinician).lotsOnHand(at: "brampton").map(\.lot) == ["PB-2000"])
        // The lots are held in the server's memory, caught up before each use: a discard
        // recorded by another process (the command line on the same files) is seen at once.
        let other = try await Service.open(chain.configuration)
        let admin = try await other.authenticate(chain.tokens[.admin])
        _ = try await admin.record([try Command.record(
            { var discarded = Stipple_V1_BatchDiscarded(); discarded.discardedAt.seconds = Int64(TestChain.now.timeIntervalSince1970) - 3_600; discarded.reason = "box damaged"; return discarded }(),
            type: "BatchDiscarded", stream: "batch-NC-0412~kwadron")])
        try other.close()
        #expect(try await chain.session(.clinician).lotsOnHand(at: "toronto").isEmpty)
        #expect(try await chain.session(.clinician).lots(at: "toronto").map(\.state) == [.discarded(on: Day("2026-03-01")!), .recalled(on: Day("2026-02-27")!, authority: "Health Canada", notice: "RA-1")])
        let denied = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).lotsOnHand(at: "toronto") }
        #expect(denied?.kind == .denied)
    }
}

/// A lot's report is its receiving clinic's too; other clinics learn nothing of it.
@Suite struct LotReportAccessTests {
    @Test func aClinicianOfTheLotsClinicReadsItsReportByPseudonymAndOthersGetTheUnknownLotsWords() async throws {
        let chain = try await TestChain.make()
        try await chain.record(ClientPageTests.session2, as: .clinician)
        try await chain.record("""
            {"command":"recall","lot":"PB-1187","data":{"authority":"Health Canada","noticeReference":"RA-1","reason":"contamination","recalledAt":"2026-02-27T09:00:00Z"}}
            """)
        let report = try await chain.session(.clinician).report(.lot("PB-1187"))
        let contacts = try #require(report.sections.last)
        #expect(contacts.title.hasPrefix("RECALLED"))
        #expect(contacts.rows.count == 1)
        #expect(contacts.rows.first?.first?.description.hasPrefix("C-") == true, "a pseudonym, not the client's id or name")
        #expect(contacts.rows.first?[1].description == "")
        let other = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).report(.lot("PB-1187")) }
        let unknown = await #expect(throws: ServiceError.self) { try await chain.session(.bramptonClinician).report(.lot("NO-SUCH-LOT")) }
        #expect(other?.kind == .denied && other?.message == unknown?.message)
        let reception = await #expect(throws: ServiceError.self) { try await chain.session(.reception).report(.lot("PB-1187")) }
        #expect(reception?.kind == .denied)
    }
}
