import EventLog
import Foundation
import SwiftProtobuf
import StippleTesting
import Testing
import Treatment
@testable import Recording

/// A lot is its manufacturer and its number: two makers' lots of one number are two lots.
@Suite("Lot identity: manufacturer and lot number")
struct LotIdentityTests {
    /// Receives pigment lot `lot` of `manufacturer` on its stream.
    func receive(_ chain: Chain, _ lot: String, of manufacturer: String) async throws {
        var received = Stipple_V1_BatchReceived()
        received.lot = lot
        received.kind = .pigment
        received.manufacturer = manufacturer
        received.expiry = "2027-05-31"
        received.clinicID = "toronto"
        try await chain.recorder.record(
            received, type: "BatchReceived", stream: Recorder.Streams.batch(lot: lot, manufacturer: manufacturer), metadata: chain.staff)
    }

    func session(_ chain: Chain, _ number: Int32, on day: String, lot: String, brand: String) -> Stipple_V1_SessionRecordedV2 {
        var session = chain.session(number, on: day)
        session.pigments[0].lot = lot
        session.pigments[0].brand = brand
        return session
    }

    func lastSession(_ chain: Chain) async throws -> Stipple_V1_SessionRecordedV2? {
        try await chain.log.read(stream: "client-42").last.flatMap { try Recorder.decode($0) as? Stipple_V1_SessionRecordedV2 }
    }

    @Test("ids: the number, ~ and the manufacturer's slug; a name without Latin letters still gets its own")
    func ids() {
        #expect(LotIdentity.id(lot: "PB-1187", manufacturer: "Perma Blend") == "PB-1187~perma-blend")
        #expect(LotIdentity.id(lot: "PB-1187", manufacturer: "  perma-BLEND ") == "PB-1187~perma-blend")
        #expect(LotIdentity.id(lot: "PB-1187", manufacturer: "") == "PB-1187", "no manufacturer: the number alone")
        #expect(LotIdentity.slug("Ça Pigments & Co.") == "ca-pigments-co")
        let other = LotIdentity.slug("色料")
        #expect(other.hasPrefix("m") && other.count > 1 && other != LotIdentity.slug("墨水"))
        #expect(LotIdentity.slug(String(repeating: "x", count: 80)).count == LotIdentity.maximumSlugLength)
        #expect(LotIdentity.number(of: "PB-1187~perma-blend") == "PB-1187" && LotIdentity.number(of: "PB-1187") == "PB-1187")
    }

    @Test("two makers' lots of one number: a session must name the maker, and gets the right lot")
    func twoManufacturers() async throws {
        let chain = try await Chain()
        try await receive(chain, "PB-1190", of: "Perma Blend")
        try await receive(chain, "PB-1190", of: "Kwadron Pigments")
        let head = try await chain.log.head()
        await #expect(throws: Refusal([RuleViolation(
            .lotReceived, field: "pigments[0].brand",
            "lot PB-1190 was received from 2 manufacturers (Kwadron Pigments, Perma Blend): name the one used")])) {
            try await chain.recorder.recordSession(client: "42", session(chain, 1, on: "2026-03-02", lot: "PB-1190", brand: ""), metadata: chain.staff)
        }
        await #expect(throws: Refusal([RuleViolation(
            .lotReceived, field: "pigments[0].brand",
            "lot PB-1190 of Other Co was never received (lots numbered PB-1190 came from Kwadron Pigments, Perma Blend)")])) {
            try await chain.recorder.recordSession(client: "42", session(chain, 1, on: "2026-03-02", lot: "PB-1190", brand: "Other Co"), metadata: chain.staff)
        }
        #expect(try await chain.log.head() == head, "nothing written")

        try await chain.recorder.recordSession(client: "42", session(chain, 1, on: "2026-03-02", lot: "PB-1190", brand: "perma blend"), metadata: chain.staff)
        let stored = try #require(try await lastSession(chain))
        #expect(stored.pigments[0].lot == "PB-1190" && stored.pigments[0].batchID == "PB-1190~perma-blend")
        #expect(stored.cartridges[0].batchID == "NC-0412", "a lot received with no manufacturer keeps the number as its id")

        // A recall of Kwadron's lot leaves Perma Blend's usable.
        var recall = Stipple_V1_BatchRecalled()
        recall.authority = "Health Canada"
        recall.noticeReference = "RA-2026-0042"
        recall.recalledAt = Chain.at("2026-03-03T09")
        try await chain.recorder.recallBatch(lot: "PB-1190~kwadron-pigments", recall, metadata: chain.staff)
        try await chain.recorder.recordSession(client: "42", session(chain, 2, on: "2026-03-20", lot: "PB-1190", brand: "Perma Blend"), metadata: chain.staff)
        do {
            try await chain.recorder.recordSession(client: "42", session(chain, 3, on: "2026-04-20", lot: "PB-1190~kwadron-pigments", brand: ""), metadata: chain.staff)
            Issue.record("a recalled lot was used")
        } catch let refusal as Refusal {
            #expect(refusal.violations.map(\.message) == ["lot PB-1190 of Kwadron Pigments was recalled on 2026-03-03 (Health Canada RA-2026-0042)"])
        }
    }

    @Test("a receipt goes to its pair's stream; a lot from before lot identity keeps its stream and is not received twice")
    func receipts() async throws {
        let chain = try await Chain()
        var received = Stipple_V1_BatchReceived()
        received.lot = "PB-0001"
        received.kind = .pigment
        received.manufacturer = "Perma Blend"
        received.expiry = "2027-05-31"
        received.clinicID = "toronto"
        let head = try await chain.log.head()
        await #expect(throws: Refusal([RuleViolation(
            .valueInRange, field: "lot", "lot PB-0001 of Perma Blend is the stream batch-PB-0001~perma-blend, not batch-PB-0001")])) {
            try await chain.recorder.record(received, type: "BatchReceived", stream: "batch-PB-0001", metadata: chain.staff)
        }
        #expect(try await chain.log.head() == head)
        // A lot received before lot identity: the number alone as its stream, its maker in the receipt.
        try await chain.log.append(try Recorder.newEvent(received, type: "BatchReceived", stream: "batch-PB-0001", expected: .noStream, metadata: chain.staff))
        await #expect(throws: Refusal([RuleViolation(.valueInRange, field: "lot", "lot PB-0001 of Perma Blend was received already (stream batch-PB-0001)")])) {
            try await receive(chain, "PB-0001", of: "Perma Blend")
        }
        try await chain.recorder.recordSession(client: "42", session(chain, 1, on: "2026-03-02", lot: "PB-0001", brand: "Perma Blend"), metadata: chain.staff)
        let first = try #require(try await lastSession(chain))
        #expect(first.pigments[0].lotID == "PB-0001", "the old stream is that lot")
        // Another maker's lot of that number is a lot of its own, and the number alone is now ambiguous.
        try await receive(chain, "PB-0001", of: "Kwadron")
        #expect(try await chain.log.streamVersion("batch-PB-0001~kwadron") == 1)
        await #expect(throws: Refusal([RuleViolation(
            .lotReceived, field: "pigments[0].brand", "lot PB-0001 was received from 2 manufacturers (Kwadron, Perma Blend): name the one used")])) {
            try await chain.recorder.recordSession(client: "42", session(chain, 2, on: "2026-03-20", lot: "PB-0001", brand: ""), metadata: chain.staff)
        }
        var tilde = received
        tilde.lot = "PB~1"
        await #expect(throws: Refusal.self) {
            try await chain.recorder.record(tilde, type: "BatchReceived", stream: "batch-PB~1", metadata: chain.staff)
        }
    }
}
