import Discretion
import Foundation
import StippleService
import StippleTesting
import Testing

/// Values the pages read through the library: amounts, text that must not fool an escaper,
/// and which reports a user may be offered.
@Suite struct PageInputTests {
    @Test func anAmountIsDollarsAndCentsAndNothingElse() throws {
        #expect(try TypedInput.cents("2400", "the price") == 240_000)
        #expect(try TypedInput.cents("2400.5", "the price") == 240_050)
        #expect(try TypedInput.cents("2400,50", "the price") == 240_050, "a decimal comma is a decimal comma, not thousands")
        #expect(try TypedInput.cents("2,400.50", "the price") == 240_050)
        #expect(try TypedInput.cents("1,250,000", "the price") == 125_000_000)
        for wrong in ["2400abc", "24.005", "-5", "", "2,40,0", "1e3", "2400.", " 2400"] {
            let error = #expect(throws: ServiceError.self) { try TypedInput.cents(wrong, "the price") }
            #expect(error?.kind == .badInput, "\(wrong)")
            #expect(error?.message.contains("amount in dollars") == true)
        }
    }

    @Test func aCombiningMarkOnMarkupsPunctuationIsRefusedAndAccentsOnLettersAreNot() async throws {
        let chain = try await TestChain.make()
        let line = #"{"command":"record","stream":"client-90","type":"ClientRegistered","data":{"clientId":"90","clinicId":"toronto","registeredAt":"2026-02-20T15:00:00Z","personal":{"name":"NAME"}}}"#
        let before = try await chain.service.projectionCheckpoint()
        let error = await #expect(throws: ServiceError.self) {
            _ = try await chain.record(line.replacingOccurrences(of: "NAME", with: "x\\\"\u{301} autofocus"))
        }
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains("combining mark (U+0301)") == true, "\(error?.message ?? "")")
        #expect(try await chain.service.projectionCheckpoint() == before, "nothing was written")
        _ = try await chain.record(line.replacingOccurrences(of: "NAME", with: "Jose\u{301} Nu\u{303}n\u{303}ez"))
    }

    @Test func aClinicianIsOfferedTheReportsOfTheirClinicOnly() async throws {
        let chain = try await TestChain.make()
        let clinician = try await chain.session(.clinician)
        #expect(ReportName.allCases.filter { clinician.mayRead($0) } == [.workload, .lot, .due])
        let auditor = try await chain.session(.auditor)
        #expect(ReportName.allCases.allSatisfy { auditor.mayRead($0) })
        let reception = try await chain.session(.reception)
        #expect(ReportName.allCases.filter { reception.mayRead($0) }.isEmpty)
    }
}
