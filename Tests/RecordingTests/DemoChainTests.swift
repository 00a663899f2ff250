import EventLog
import Foundation
import StippleTesting
import Testing
import Treatment
@testable import Recording

@Suite("Demo chain")
struct DemoChainTests {
    func build(seed: UInt64, clients: Int) async throws -> (EventLog, TemporaryFolder) {
        let folder = try TemporaryFolder("stipple-demo")
        let log = try EventLog.create(at: folder.file("log.sqlite"))
        var options = DemoChain.Options()
        options.seed = seed
        options.clients = clients
        var chain = DemoChain(options: options)
        for batch in try chain.transactions() { try await log.transact(batch) }
        return (log, folder)
    }

    @Test("the demo chain builds through every rule, with every kind of fact, and verifies")
    func builds() async throws {
        let (log, folder) = try await build(seed: 7, clients: 120)
        defer { withExtendedLifetime(folder) {} }
        var counts: [String: Int] = [:]
        for try await event in log.events(pageSize: 500) { counts[event.type, default: 0] += 1 }
        #expect(counts["ClinicOpened"] == 4)
        #expect(counts["CertificationGranted"] == 20)
        #expect(counts["BatchRecalled"] == 1)
        #expect(counts["ClientRegistered"] == 120)
        #expect(counts["ConsentSigned"] == 120)
        #expect((counts["SessionRecorded"] ?? 0) > 250)
        #expect((counts["TouchUpRecorded"] ?? 0) > 10)
        #expect((counts["SessionCancelled"] ?? 0) > 5)
        #expect((counts["RecordAmended"] ?? 0) > 0)
        #expect(try await log.verify().isIntact)
    }

    @Test("the same seed gives the same facts; another seed adds clients to the same chain")
    func deterministic() async throws {
        let (first, firstFolder) = try await build(seed: 3, clients: 30)
        let (second, secondFolder) = try await build(seed: 3, clients: 30)
        defer { withExtendedLifetime((firstFolder, secondFolder)) {} }
        func facts(_ log: EventLog) async throws -> [String] {
            var facts: [String] = []
            for try await event in log.events(pageSize: 500) {
                // An amendment points at an event id, and ids are random: compare the rest.
                if event.type == "RecordAmended", var amendment = try? Stipple_V1_RecordAmended(serializedBytes: event.payload) {
                    amendment.correctsEventID = ""
                    facts.append("\(event.stream) \(event.type) \(try amendment.serializedBytes() as [UInt8])")
                } else {
                    facts.append("\(event.stream) \(event.type) \(event.payload)")
                }
            }
            return facts
        }
        #expect(try await facts(first) == facts(second))
        var options = DemoChain.Options()
        options.seed = 4
        options.clients = 10
        var more = DemoChain(options: options)
        for batch in try more.transactions(includeSetUp: false, includeConsentForm: false) { try await first.transact(batch) }
        #expect(try await first.verify().isIntact)
    }
}
