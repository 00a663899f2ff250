import EventLog
import Foundation
import StippleService
import StippleTesting
import Testing

/// A retried write records nothing twice.
@Suite("Idempotent writes")
struct IdempotencyTests {
    static let consent = #"{"command":"record","stream":"client-42","type":"ConsentSigned","data":{"formId":"smp-consent","formVersion":"v5","coversProcedure":true}}"#

    @Test("the same key and request records once and answers the same; another request with the key is refused")
    func replay() async throws {
        let chain = try await TestChain.make()
        let clinician = try await chain.session(.clinician)
        let body = Array(Self.consent.utf8)
        let key = Idempotency(key: "4f2a6a8e-retry-1", fingerprint: Idempotency.fingerprint(of: body))
        // Parsed twice, as a server parses a retried request: new event ids each time.
        let first = try await clinician.record(try CommandLines.parse(body), idempotency: key)
        let head = try await chain.head()
        let again = try await clinician.record(try CommandLines.parse(body), idempotency: key)
        #expect(try await chain.head() == head, "nothing recorded twice")
        #expect(again.events.map(\.position) == first.events.map(\.position))
        #expect(again.events.allSatisfy { $0.wasAlreadyStored })
        let other = Array(Self.consent.replacingOccurrences(of: "v5", with: "v4").utf8)
        let reused = await serviceError({
            _ = try await clinician.record(try CommandLines.parse(other), idempotency: Idempotency(key: key.key, fingerprint: Idempotency.fingerprint(of: other)))
        })
        #expect(reused?.detail == .idempotencyKeyReused)
        #expect(try await chain.head() == head)
        // Another user's request with the key is another request.
        let byOther = await serviceError({ _ = try await chain.session(.otherClinician).record(try CommandLines.parse(body), idempotency: key) })
        #expect(byOther?.detail == .idempotencyKeyReused)
    }

    @Test("a refused request stores no key: the retry is decided again")
    func refusedStoresNothing() async throws {
        let chain = try await TestChain.make()
        let line = #"{"command":"record","stream":"client-42","type":"ConsultationRecorded","data":{"fitzpatrickType":9}}"#
        let key = Idempotency(key: "k-refused", fingerprint: Idempotency.fingerprint(of: Array(line.utf8)))
        for _ in 0..<2 {
            let error = await serviceError({ _ = try await chain.session(.admin).record(try CommandLines.parse(Array(line.utf8)), idempotency: key) })
            #expect(error?.kind == .refused)
        }
        #expect(await serviceError({ _ = try await chain.session(.admin).record(try CommandLines.parse(Array(Self.consent.utf8)), idempotency: Idempotency(key: "bad key", fingerprint: [])) })?.kind == .badInput)
    }
}
