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

/// Issue 12, part 9: an exposure incident's personal data (who was exposed, the details,
/// the actions taken) is sealed with the exposed client's key, or the clinic's.
@Suite("Exposure incidents are sealed with the exposed client's key or the clinic's")
struct SealedIncidentTests {
    static func incident(_ stream: String, clinic: String = "toronto", exposedClient: String = "", words: [String]) -> String {
        let exposed = exposedClient.isEmpty ? "" : #","exposedClientId":"\#(exposedClient)""#
        let clinicField = clinic.isEmpty ? "" : #""clinicId":"\#(clinic)","#
        return #"{"command":"record","stream":"\#(stream)","type":"ExposureIncidentRecorded","data":{"occurredAt":"2026-02-25T11:00:00Z",\#(clinicField)"service":"session","bodyPart":"left index finger","providerId":"17","actionsTaken":"\#(words[0])","personal":{"exposedPerson":"\#(words[1])","details":"\#(words[2])"}\#(exposed)}}"#
    }

    static func words(_ tag: String) -> [String] {
        ["\(tag)-prophylaxis-\(UUID().uuidString.prefix(8))", "\(tag)-person-\(UUID().uuidString.prefix(8))", "\(tag)-hepatitis-\(UUID().uuidString.prefix(8))"]
    }

    static func shown(_ chain: TestChain, _ stream: String, as user: TestUser) async throws -> String {
        try await chain.session(user).readStream(stream).events.map(\.json.canonicalString).joined(separator: "\n")
    }

    @Test("a staff member's exposure is sealed with the clinic's key: never in clear in the files, shown to admins and auditors (who read raw streams), facts in clear")
    func clinicKey() async throws {
        let chain = try await TestChain.make()
        let words = Self.words("staff")
        _ = try await chain.record(Self.incident("incident-1", words: words), as: .clinician)
        let files = ErasureTests.fileBytes(chain.databasePath)
        for word in words { #expect(ErasureTests.count(Data(word.utf8), in: files) == 0, "\(word) is sealed") }
        for user in [TestUser.auditor, .admin] {
            let shown = try await Self.shown(chain, "incident-1", as: user)
            for word in words { #expect(shown.contains(word), "\(user) sees \(word): \(shown)") }
            #expect(shown.contains("left index finger"))
        }
        // A clinic's clinicians record its incidents; reading raw streams is across the chain.
        #expect(await serviceError({ _ = try await Self.shown(chain, "incident-1", as: .clinician) })?.kind == .denied)
        // The clinic's key is in the key table, under a name no client id can take.
        let raw = ErasureTests.fileBytes(chain.databasePath)
        #expect(ErasureTests.count(Data("clinic:toronto".utf8), in: raw) > 0)
    }

    @Test("a client's exposure is sealed with their key: reading it is logged as a read of their record, and their erasure makes it unreadable")
    func clientKey() async throws {
        let chain = try await TestChain.make()
        let words = Self.words("client")
        _ = try await chain.record(Self.incident("incident-2", exposedClient: "42", words: words), as: .clinician)
        for word in words { #expect(ErasureTests.count(Data(word.utf8), in: ErasureTests.fileBytes(chain.databasePath)) == 0) }
        let before = try await chain.session(.admin).readStream("access-42").events.count
        let shown = try await Self.shown(chain, "incident-2", as: .auditor)
        for word in words { #expect(shown.contains(word)) }
        #expect(try await chain.session(.admin).readStream("access-42").events.count == before + 1, "the read of the incident is in 42's access log")

        _ = try await chain.session(.admin).erase(client: "42", reason: "erasure request")
        let erased = try await Self.shown(chain, "incident-2", as: .admin)
        for word in words { #expect(!erased.contains(word)) }
        #expect(erased.contains(#""personalErased":true"#), "\(erased)")
        #expect(erased.contains("left index finger"), "the incident itself is kept")
        let refusal = await serviceError({ _ = try await chain.record(Self.incident("incident-3", exposedClient: "42", words: Self.words("again")), as: .clinician) })
        #expect(refusal?.message.contains("erased") == true, "\(String(describing: refusal))")
    }

    @Test("an incident that cannot be sealed is refused with the reason and writes nothing: no clinic, an exposed client not in the log, sealed bytes from the caller")
    func refusals() async throws {
        let chain = try await TestChain.make()
        let head = try await chain.head()
        let noClinic = await serviceError({ _ = try await chain.record(Self.incident("incident-4", clinic: "", words: Self.words("a")), as: .admin) })
        #expect(noClinic?.kind == .badInput)
        #expect(noClinic?.message == "exposure incident incident-4 refused: name the clinic where it happened (clinicId): the incident's personal data is sealed with that clinic's key; nothing was recorded")
        let stranger = await serviceError({ _ = try await chain.record(Self.incident("incident-5", exposedClient: "999", words: Self.words("b")), as: .clinician) })
        #expect(stranger?.message == "exposure incident incident-5 refused: the exposed client 999 is not in this log (their key seals the incident's personal data); nothing was recorded")
        let forged = #"{"command":"record","stream":"incident-6","type":"ExposureIncidentRecorded","data":{"occurredAt":"2026-02-25T11:00:00Z","clinicId":"toronto","service":"session","sealedPersonal":"AAAA"}}"#
        let forgedError = await serviceError({ _ = try await chain.record(forged, as: .clinician) })
        #expect(forgedError?.message == "exposure incident incident-6 refused: sealedPersonal is set by Stipple, not by the caller; nothing was recorded")
        #expect(try await chain.head() == head)
    }
}
