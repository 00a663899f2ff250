import Foundation
import StippleService
import StippleTesting
import Testing

/// Issue 12, part 9: free text that can carry health data (a booking's reason, a
/// correction's reason, a reaction's actions) is sealed with the client's key: never in
/// clear in the files, shown to those who read the record, gone once the client is erased.
@Suite("Free-text reasons are sealed with the client's key")
struct SealedReasonTests {
    @Test("a reschedule's and a cancellation's reason, an amendment's reason and a reaction's actions are sealed, shown in the history, gone after erasure")
    func sealed() async throws {
        let chain = try await TestChain.make()
        let words = ["psoriasis-flare-\(UUID().uuidString.prefix(8))", "antibiotics-for-infection-\(UUID().uuidString.prefix(8))",
                     "chemo-\(UUID().uuidString.prefix(8))", "hospital-\(UUID().uuidString.prefix(8))"]
        _ = try await chain.record("""
            {"command":"record","stream":"client-42","type":"SessionBooked","data":{"bookingId":"B1","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-02T15:00:00Z","expectedMinutes":180,"sessionNumber":1}}
            {"command":"record","stream":"client-42","type":"SessionRescheduled","data":{"bookingId":"B1","startsAt":"2026-03-09T15:00:00Z","reason":"\(words[0])"}}
            {"command":"record","stream":"client-42","type":"SessionCancelled","data":{"bookingId":"B1","cancelledBy":"CANCELLED_BY_CLIENT","reason":"\(words[1])"}}
            {"command":"record","stream":"client-42","type":"AdverseReactionReported","data":{"reportedAt":"2026-03-10T15:00:00Z","severity":"mild","actionsTaken":"\(words[2])"}}
            {"command":"amend","client":"42","data":{"correctsEventId":"\(TestChain.registrationOf42.uuidString.lowercased())","fields":["referral"],"reason":"\(words[3])"}}
            """, as: .clinician)
        let files = ErasureTests.fileBytes(chain.databasePath)
        for word in words { #expect(ErasureTests.count(Data(word.utf8), in: files) == 0, "\(word) is sealed") }
        let history = try await chain.session(.clinician).history(client: "42").sections[0].column("details").map(\.description).joined(separator: "\n")
        #expect(history.contains("booking B1 moved to 2026-03-09 11:00 (\(words[0]))"), "\(history)")
        #expect(history.contains("booking B1 cancelled by the client (\(words[1]))"))
        #expect(history.contains("actions: \(words[2])"))
        #expect(history.contains("record amended (referral): \(words[3])"))

        _ = try await chain.session(.admin).erase(client: "42", reason: "erasure request")
        let erased = try await chain.session(.admin).history(client: "42").sections[0].column("details").map(\.description).joined(separator: "\n")
        for word in words { #expect(!erased.contains(word)) }
        #expect(erased.contains("record amended (referral) (reason sealed)"))
        for word in words { #expect(ErasureTests.count(Data(word.utf8), in: ErasureTests.fileBytes(chain.databasePath)) == 0) }
    }
}

@Suite("Corrections: who may move a procedure")
struct AmendmentAccessTests {
    @Test("moving a session to another clinic needs the right to record there: a Toronto clinician may not, an admin may")
    func anotherClinic() async throws {
        let chain = try await TestChain.make()
        let recorded = try await chain.record(#"{"command":"session","client":"42","data":\#(PolicyCases.session)}"#, as: .clinician)
        let session = recorded.events[0].id.uuidString.lowercased()
        let move = #"{"command":"amend","client":"42","data":{"correctsEventId":"\#(session)","fields":["clinicId"],"reason":"recorded at the wrong clinic","session":{"clinicId":"brampton"}}}"#
        let head = try await chain.head()
        #expect(await serviceError({ _ = try await chain.record(move, as: .clinician) })?.kind == .denied)
        #expect(try await chain.head() == head)
        #expect(try await chain.record(move, as: .admin).events.count == 1)
        // The client's page draws the course as corrected.
        let page = try await chain.session(.admin).clientPage(client: "42")
        #expect(page.course.procedures.map(\.clinic) == ["brampton"])
    }
}
