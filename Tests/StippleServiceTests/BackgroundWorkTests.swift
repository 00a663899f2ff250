import Discretion
import Foundation
@testable import StippleService
import StippleTesting
import Testing

/// The background rebuilds' bounds, on the jobs themselves (no timing: a job here is
/// moved by hand, or by a task that only waits to be cancelled).
@Suite struct BackgroundWorkTests {
    static func job(_ id: String = "job-1") -> RebuildJob {
        RebuildJob(id: id, names: nil, startedBy: "admin", startedAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    /// A chain whose admin has a password and a second factor, and a way to sign them in
    /// (`step` seconds later: each code signs in once).
    static func adminSignIns() async throws -> (TestChain, (TimeInterval) async throws -> SignedIn) {
        let clock = TestClock()
        let chain = try await TestChain.make { configuration in
            configuration.clock = { clock.read() }
            configuration.signIn.passwordCost = 4
        }
        let admin = try await chain.session(.admin)
        try await admin.setPassword(of: "admin", to: "the admin's long phrase")
        let enrolment = try await admin.enrolSecondFactor(of: "admin")
        return (chain, { step in
            clock.advance(step)
            return try await chain.service.signIn(
                user: "admin", password: "the admin's long phrase", code: SecondFactors.code(key: enrolment.key, at: clock.read()), from: "10.0.0.2")
        })
    }

    @Test("a rebuild is followed by at most 16 pages at a time; one that closes makes room")
    func followersAreBounded() throws {
        let jobs = RebuildJobs()
        #expect(jobs.start(Self.job()) == nil)
        var streams = try (0..<RebuildJobs.followerLimit).map { _ in try #require(try jobs.follow("job-1")) }
        let refused = #expect(throws: ServiceError.self) { try jobs.follow("job-1") }
        #expect(refused?.kind == .refused)
        #expect(refused?.message.contains("16 pages follow this rebuild already") == true)
        streams.removeLast()
        #expect(try jobs.follow("job-1") != nil, "a page that stopped following is forgotten")
        jobs.update("job-1") { $0.finished = true }
        #expect(try jobs.follow("job-1") != nil, "a finished job is shown to anyone: its stream ends at once")
        _ = streams
    }

    @Test("stopping the background work cancels a running rebuild, waits for it, and tells its followers")
    func stopCancelsAndWaits() async throws {
        let jobs = RebuildJobs()
        #expect(jobs.start(Self.job()) == nil)
        let updates = try #require(try jobs.follow("job-1"))
        jobs.run("job-1") {
            // Stands for a rebuild: it stops only when cancelled (as the projector checks).
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }
            jobs.update("job-1") { job in
                job.failure = "stopped"
                job.finished = true
            }
        }
        await jobs.stop()
        #expect(jobs.job("job-1")?.finished == true, "stop returned after the rebuild ended")
        var states: [RebuildJob] = []
        for await state in updates { states.append(state) }
        #expect(states.first?.finished == false)
        #expect(states.last?.failure == "stopped", "the follower heard the end, and its stream ended")
    }

    @Test("a person's page stops following a rebuild once they sign out: the end is not told to it")
    func signedOutPagesHearNothingMore() async throws {
        let (chain, signIn) = try await Self.adminSignIns()
        let staying = try await signIn(0), leaving = try await signIn(60)
        #expect(chain.service.rebuilds.start(Self.job()) == nil)
        let kept = try staying.followRebuild("job-1"), ended = try leaving.followRebuild("job-1")
        chain.service.signOut(cookie: leaving.cookie)
        chain.service.rebuilds.update("job-1") { $0.finished = true }
        var told: [Bool] = [], toldAfterSignOut: [Bool] = []
        for await state in kept { told.append(state.finished) }
        for await state in ended { toldAfterSignOut.append(state.finished) }
        #expect(told == [false, true])
        #expect(toldAfterSignOut.last != true, "nothing after the sign-out reaches the page")
    }

    @Test("a page whose session ended stops following a rebuild that makes no progress; one still signed in hears the state again", .timeLimit(.minutes(1)))
    func heartbeats() async throws {
        let (chain, signIn) = try await Self.adminSignIns()
        let signedIn = try await signIn(0)
        #expect(chain.service.rebuilds.start(Self.job()) == nil)
        var told = 0
        for await state in try signedIn.followRebuild("job-1", heartbeat: .milliseconds(10)) {
            #expect(!state.finished)
            told += 1
            // The rebuild never moves: after the state now and one heartbeat, the person signs out.
            if told == 2 { chain.service.signOut(cookie: signedIn.cookie) }
        }
        #expect(told >= 2, "the state now, then the heartbeat's; the stream ended with the session, the rebuild still running")
        #expect(chain.service.rebuilds.job("job-1")?.finished == false)
        #expect(try chain.service.rebuilds.follow("job-1") != nil)
    }
}
