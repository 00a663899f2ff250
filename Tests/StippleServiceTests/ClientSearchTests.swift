import Discretion
import Foundation
import StippleService
import StippleTesting
import Testing

/// Finding a client by part of the name, phone or email: only among the clients the user
/// books for, confidential ones only for their care team (by pseudonym), erased ones
/// never, every name shown logged.
@Suite struct ClientSearchTests {
    static func found(_ chain: TestChain, _ user: TestUser, _ query: String) async throws -> [String] {
        try await chain.session(user).findClients(query).clients.map(\.client)
    }

    @Test func eachUserFindsOnlyTheClientsTheyBookFor() async throws {
        let chain = try await TestChain.make()
        #expect(try await Self.found(chain, .reception, "client") == ["42"], "not Brampton's 43, not the confidential 44")
        #expect(try await Self.found(chain, .otherClinician, "client") == ["42"])
        #expect(try await Self.found(chain, .bramptonClinician, "client") == ["43"])
        #expect(try await Self.found(chain, .clinician, "client") == ["42", "44"], "dr-lee is 44's care team")
        #expect(try await Self.found(chain, .admin, "client") == ["42", "43", "44"])
        let denied = await #expect(throws: ServiceError.self) { try await chain.session(.auditor).findClients("client") }
        #expect(denied?.kind == .denied)
    }

    @Test func aConfidentialClientIsShownByPseudonymUntilTheRecordIsOpenedWithAPurpose() async throws {
        let chain = try await TestChain.make()
        let search = try await chain.session(.clinician).findClients("c. client")
        let found = try #require(search.clients.first)
        #expect(search.clients.count == 1)
        #expect(found.client == "44" && found.confidential)
        #expect(found.name == nil && found.phone == nil)
        #expect(found.pseudonym.hasPrefix("C-"))
        let admin = try await chain.session(.admin).findClients("C. Client").clients
        #expect(admin.first?.name == nil, "an admin too says why before the name of a confidential client is shown")
    }

    @Test(arguments: [("a. cli", ["42"]), ("CLIENT A.", ["42"]), ("555-0142", ["42"]), ("416 555", ["42"]), ("zz", []), ("0143", [])])
    func namesMatchEveryWordTypedAndPhonesTheirDigits(query: String, expected: [String]) async throws {
        let chain = try await TestChain.make()
        #expect(try await Self.found(chain, .reception, query) == expected)
    }

    @Test func accentsAndCaseDoNotMatterAndEmailsAreFound() async throws {
        let chain = try await TestChain.make()
        try await chain.record("""
            {"command":"record","stream":"client-50","type":"ClientRegistered","data":{"clientId":"50","clinicId":"toronto","registeredAt":"2026-02-25T10:00:00Z","personal":{"name":"Zoë Lévesque","email":"zoe.l@example.com"}}}
            """)
        #expect(try await Self.found(chain, .reception, "zoe lev") == ["50"], "registered a moment ago, found at once")
        #expect(try await Self.found(chain, .reception, "ZOË") == ["50"])
        #expect(try await Self.found(chain, .reception, "zoe.l@exa") == ["50"])
        let client = try #require(try await chain.session(.reception).findClients("levesque").clients.first)
        #expect(client.name == "Zoë Lévesque" && client.email == "zoe.l@example.com")
    }

    @Test func tooShortOrTooLongSearchesAreRefused() async throws {
        let chain = try await TestChain.make()
        for query in ["", " a ", String(repeating: "x", count: 201)] {
            let error = await #expect(throws: ServiceError.self) { try await chain.session(.reception).findClients(query) }
            #expect(error?.kind == .badInput)
        }
    }

    @Test func everyClientShownIsLoggedAsAnAccess() async throws {
        let chain = try await TestChain.make()
        let before = try await chain.session(.admin).readStream("access-42").events.count
        _ = try await chain.session(.reception).findClients("a. client")
        let entries = try await chain.session(.admin).readStream("access-42").events
        #expect(entries.count == before + 1)
        let entry = try #require(entries.last)
        #expect(try entry.event.metadata().actor == "desk-1")
        #expect(entry.json.canonicalString.contains("client search"))
        // Shown by pseudonym, and logged all the same: the hit on the name tells who it is.
        let confidentialBefore = try await chain.session(.admin).readStream("access-44").events.count
        _ = try await chain.session(.clinician).findClients("c. client")
        #expect(try await chain.session(.admin).readStream("access-44").events.count == confidentialBefore + 1)
    }

    @Test func anErasedClientDisappearsFromSearchAtOnce() async throws {
        let chain = try await TestChain.make()
        #expect(try await Self.found(chain, .reception, "a. client") == ["42"])
        _ = try await chain.session(.admin).erase(client: "42", reason: "request R-7 under PHIPA")
        #expect(try await Self.found(chain, .reception, "a. client") == [])
        #expect(try await Self.found(chain, .admin, "client") == ["43", "44"])
    }
}
