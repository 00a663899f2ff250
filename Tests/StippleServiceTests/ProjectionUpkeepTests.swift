import Foundation
import StippleService
import StippleTesting
import Testing
import Treatment

/// A server keeps the projections current in the background; a report sees its reader's writes.
@Suite("Projections kept current in the background")
struct ProjectionUpkeepTests {
    @Test("a write returns without catching up; a report after it waits until the projections hold it")
    func readYourWrites() async throws {
        let chain = try await TestChain.make { $0.projectionUpkeep = .background(readYourWrites: .seconds(5)) }
        let upkeep = Task { await chain.service.keepProjectionsCurrent() }
        defer { upkeep.cancel() }
        let admin = try await chain.session(.admin)
        for day in ["02", "13", "24"] {
            let number = ["02": 1, "13": 2, "24": 3][day]!
            let recorded = try await chain.record(#"{"command":"session","client":"42","data":{"sessionNumber":\#(number),"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-\#(day)T10:00:00Z","endedAt":"2026-03-\#(day)T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#)
            #expect(recorded.reportsNotCaughtUp == nil)
            let records = try await admin.report(.records(from: Day("2026-03-01")!, to: Day("2026-03-31")!))
            #expect(records.sections[0].rows.count == number, "the report holds the write just made")
            #expect(try await chain.service.projectionCheckpoint() >= recorded.events[0].position)
        }
        upkeep.cancel()
        await upkeep.value
    }

    @Test("an upkeep started after another one stopped keeps the projections current too")
    func upkeepAgain() async throws {
        let chain = try await TestChain.make { $0.projectionUpkeep = .background(readYourWrites: .seconds(5)) }
        let first = Task { await chain.service.keepProjectionsCurrent() }
        first.cancel()
        await first.value
        let second = Task { await chain.service.keepProjectionsCurrent() }
        defer { second.cancel() }
        let recorded = try await chain.record(#"{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#)
        // Bounded: the upkeep wakes on the write (and every second); 20 s is far beyond either.
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while try await chain.service.projectionCheckpoint() < recorded.events[0].position, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await chain.service.projectionCheckpoint() >= recorded.events[0].position, "the second upkeep folded the write")
        #expect(try await chain.service.projectionLag() == 0)
        second.cancel()
        await second.value
    }
}
