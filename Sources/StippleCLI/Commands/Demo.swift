import ArgumentParser
import Discretion
import EventLog
import Foundation
import Recording
import Treatment

extension Stipple {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a realistic demo chain through the commands (every rule applies).",
            discussion: """
                Four clinics, twenty technicians (trainees with supervisors, one certification that \
                lapses), pigment and cartridge lots every quarter (one recalled), and clients with \
                3–4-session courses, bookings, cancellations, touch-ups, amendments and a few \
                confidential clients. The same seed gives the same facts (event ids differ). Run it \
                again with another seed to add clients to the same chain.
                """)

        @OptionGroup var options: GlobalOptions

        @Option(help: "How many clients.")
        var clients = 200

        @Option(help: "Seed of the generator.")
        var seed: UInt64 = 1

        @Option(help: "Years of history.")
        var years = 3

        func validate() throws {
            if clients < 0 || clients > 1_000_000 { throw ValidationError("--clients must be 0 to 1,000,000.") }
            if years < 1 || years > DemoChain.maximumYears { throw ValidationError("--years must be 1 to \(DemoChain.maximumYears).") }
        }

        func run() async throws {
            try await reportingFailures {
                let (log, principal) = try await options.open(for: .permission(.importEvents))
                var demoOptions = DemoChain.Options()
                demoOptions.clients = clients
                demoOptions.seed = seed
                demoOptions.years = years
                var chain = DemoChain(options: demoOptions)
                let exists = try await log.streamVersion(Recorder.Streams.clinic(DemoChain.clinics[0])) > 0
                let batches = try chain.transactions(includeSetUp: !exists)
                let master = try await options.masterKey(for: log)
                let before = try await log.head().position
                for (index, batch) in batches.enumerated() {
                    try await log.transact(PersonalData.sealing(authorized(batch, principal: principal), master: master))
                    if Output.stderrIsTerminal { Output.progress("\rdemo: \(index + 1) of \(batches.count) transactions") }
                }
                if Output.stderrIsTerminal { Output.progress("\r\u{1B}[K") }
                let after = try await log.head().position
                Output.line("Recorded \(after - before) events: \(clients) clients over \(years) years (seed \(seed))\(exists ? "" : ", with the chain's clinics, technicians and lots").")
                Output.flush()
                await catchUpAfterAppend(log)
            }
        }
    }
}
