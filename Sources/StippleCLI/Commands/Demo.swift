import ArgumentParser
import Foundation
import StippleService

extension Stipple {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a realistic demo chain through the commands (every rule applies).",
            discussion: """
                Four clinics, twenty technicians (trainees with supervisors, one certification that \
                lapses), pigment and cartridge lots every quarter (one recalled), and clients with \
                3–4-session courses, bookings, cancellations, touch-ups, amendments and a few \
                confidential clients, recorded in one transaction (an interrupted demo records nothing). \
                The same seed gives the same facts (event ids differ); a seed already in the log is \
                refused. Run it \
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
            if clients < 0 || clients > 100_000 { throw ValidationError("--clients must be 0 to 100,000 (a demo is recorded in one transaction).") }
            if years < 1 || years > Session.demoMaximumYears { throw ValidationError("--years must be 1 to \(Session.demoMaximumYears).") }
        }

        func run() async throws {
            try await reportingFailures {
                let terminal = Output.stderrIsTerminal
                let (events, setUp) = try await options.session().demo(clients: clients, seed: seed, years: years) { done, total in
                    if terminal { Output.progress("\rdemo: \(done) of \(total) groups of clients decided (recorded together at the end)") }
                }
                if terminal { Output.progress("\r\u{1B}[K") }
                Output.line("Recorded \(events) events: \(clients) clients over \(years) years (seed \(seed))\(setUp ? ", with the chain's clinics, technicians and lots" : "").")
                Output.flush()
            }
        }
    }
}
