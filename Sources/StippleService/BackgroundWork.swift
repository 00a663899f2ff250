import Discretion
import EventLog
import Foundation
import Reports
import Synchronization

/// A rebuild started in the background (from a page), and how far it got.
public struct RebuildJob: Sendable, Hashable {
    public var id: String
    /// The projections rebuilt (`nil`: every one).
    public var names: [String]?
    public var startedBy: String
    public var startedAt: Date
    public var phase: String = "starting"
    /// Log positions covered (or index rows filled, see `unit`), of `total`.
    public var done: Int64 = 0
    public var total: Int64 = 0
    /// What `done` counts: `events`, or `rows` while report indexes are filled.
    public var unit = "events"
    public var elapsed: Double = 0
    public var finished = false
    /// Why it stopped, when it failed.
    public var failure: String?
    public var summaries: [Projector.RebuildSummary] = []

    /// Events per second so far.
    public var rate: Double { elapsed > 0 ? Double(done) / elapsed : 0 }
    /// Seconds left at the rate so far (`nil` before there is one).
    public var secondsLeft: Double? { rate > 0 && !finished ? Double(max(total - done, 0)) / rate : nil }
    /// 0 to 100.
    public var percent: Int { finished && failure == nil ? 100 : total > 0 ? Int(min(100, Double(done) * 100 / Double(total))) : 0 }
}

/// The service's background rebuilds (memory only; one at a time) and their followers.
final class RebuildJobs: Sendable {
    private struct Entry {
        var job: RebuildJob
        var followers: [UUID: AsyncStream<RebuildJob>.Continuation] = [:]
        var lastSent = ContinuousClock.Instant.now
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// The running rebuilds' tasks, for ``stop()``.
    private let tasks = Mutex<[String: Task<Void, Never>]>([:])

    /// How many pages may follow one rebuild at a time (each holds a connection).
    static let followerLimit = 16

    /// Keeps the task running `id`, until it ends.
    func run(_ id: String, _ work: @escaping @Sendable () async -> Void) {
        tasks.withLock { tasks in
            tasks[id] = Task.detached { [weak self] in
                await work()
                _ = self?.tasks.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    /// Cancels the running rebuilds and waits for them: each stops where it is (the live
    /// reports untouched, the next rebuild resumes it) and tells its followers.
    func stop() async {
        let running = tasks.withLock { Array($0.values) }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    /// Starts `job` unless another is running (whose id is returned in the error).
    func start(_ job: RebuildJob) -> String? {
        entries.withLock { entries in
            if let running = entries.values.first(where: { !$0.job.finished }) { return running.job.id }
            // Finished jobs are kept for their pages; the oldest go beyond twenty.
            if entries.count >= 20, let oldest = entries.values.min(by: { $0.job.startedAt < $1.job.startedAt }) { entries[oldest.job.id] = nil }
            entries[job.id] = Entry(job: job)
            return nil
        }
    }

    func job(_ id: String) -> RebuildJob? { entries.withLock { $0[id]?.job } }

    /// Every change of `id` from now on (at most four a second, and the last), starting
    /// with its state now; `nil` for an unknown job.
    ///
    /// - Throws: ``ServiceError`` (`refused`) when ``followerLimit`` pages follow it already.
    func follow(_ id: String) throws(ServiceError) -> AsyncStream<RebuildJob>? {
        let (stream, continuation) = AsyncStream<RebuildJob>.makeStream(bufferingPolicy: .bufferingNewest(8))
        let key = UUID()
        continuation.onTermination = { [weak self] _ in self?.entries.withLock { $0[id]?.followers[key] = nil } }
        // The state now is yielded under the lock (yielding runs no handler), so no change
        // can reach the follower before it; a finished job's stream ends outside it.
        let now: RebuildJob?? = entries.withLock { entries in
            guard let entry = entries[id] else { return .some(nil) }
            if !entry.job.finished && entry.followers.count >= Self.followerLimit { return nil }
            continuation.yield(entry.job)
            if !entry.job.finished { entries[id]?.followers[key] = continuation }
            return entry.job
        }
        guard let found = now else {
            continuation.finish()
            throw ServiceError(.refused, "\(Self.followerLimit) pages follow this rebuild already: close one, or reload this page later")
        }
        guard let now = found else { return nil }
        if now.finished { continuation.finish() }
        return stream
    }

    func update(_ id: String, _ change: (inout RebuildJob) -> Void) {
        // Followers are told outside the lock: finishing a stream runs its termination
        // handler, which takes the lock to forget the follower.
        let (job, followers): (RebuildJob?, [AsyncStream<RebuildJob>.Continuation]) = entries.withLock { entries in
            guard var entry = entries[id] else { return (nil, []) }
            change(&entry.job)
            let now = ContinuousClock.Instant.now
            var told: [AsyncStream<RebuildJob>.Continuation] = []
            if entry.job.finished || now - entry.lastSent >= .milliseconds(250) {
                entry.lastSent = now
                told = Array(entry.followers.values)
                if entry.job.finished { entry.followers = [:] }
            }
            entries[id] = entry
            return (entry.job, told)
        }
        guard let job else { return }
        for follower in followers {
            follower.yield(job)
            if job.finished { follower.finish() }
        }
    }
}

/// A verification that passed, as this server saw it.
public struct PassedVerification: Sendable, Hashable {
    public var at: Date
    public var events: Int64
    public var head: LogHead
    public var by: String
}

extension Session {
    /// Starts rebuilding `names` (every projection for `nil`) in the background and returns
    /// the job's id; ``followRebuild(_:)`` tells its progress.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `refused` while another rebuild runs).
    public func startRebuild(_ names: [ProjectionName]?) throws(ServiceError) -> String {
        try require(.rebuildReports)
        let id = UUID().uuidString.lowercased()
        let job = RebuildJob(id: id, names: names?.map(\.rawValue), startedBy: principal.user, startedAt: configuration.clock())
        let jobs = service.rebuilds
        if let running = jobs.start(job) { throw ServiceError(.refused, "a rebuild is running already (\(running)): follow it, or wait for it to end") }
        let session = self
        jobs.run(id) {
            do {
                let summaries = try await session.rebuild(names) { progress in
                    jobs.update(id) { job in
                        job.phase = progress.phase
                        job.done = progress.done
                        job.total = progress.total
                        job.unit = progress.unit
                        job.elapsed = progress.elapsed
                    }
                }
                jobs.update(id) { job in
                    job.summaries = summaries
                    job.finished = true
                }
            } catch {
                // Cancelled (the server stopping) arrives as a ServiceError of its own words.
                let stopped = Task.isCancelled
                jobs.update(id) { job in
                    job.failure = stopped
                        ? "stopped: the server is shutting down; the reports in use are as they were, and a new rebuild goes on where this one stopped"
                        : ServiceError(error).message
                    job.finished = true
                }
            }
        }
        return id
    }

    /// A background rebuild's state.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `notFound` for an unknown id).
    public func rebuildJob(_ id: String) throws(ServiceError) -> RebuildJob {
        try require(.rebuildReports)
        guard let job = service.rebuilds.job(id) else { throw ServiceError.notFound("there is no rebuild \(id) (a restart forgets them)") }
        return job
    }

    /// A background rebuild's state now and at each change until it ends.
    public func followRebuild(_ id: String) throws(ServiceError) -> AsyncStream<RebuildJob> {
        try require(.rebuildReports)
        guard let stream = try service.rebuilds.follow(id) else { throw ServiceError.notFound("there is no rebuild \(id) (a restart forgets them)") }
        return stream
    }

    /// ``verify(progress:)`` for the pages (admins, auditors; one at a time: it reads every
    /// event), remembering a pass for ``lastPassedVerification``.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `refused` while another runs).
    public func verifyAndRemember() async throws(ServiceError) -> Verification {
        try require(.readAccessLog)
        let started = service.verifying.withLock { running in
            defer { running = true }
            return !running
        }
        guard started else {
            throw ServiceError(.refused, "a verification is running already: its result shows here when it ends")
        }
        defer { service.verifying.withLock { $0 = false } }
        let verification = try await verify()
        if verification.isIntact {
            let passed = PassedVerification(at: configuration.clock(), events: verification.log.eventCount, head: verification.log.head, by: principal.user)
            service.verifications.withLock { $0 = passed }
        }
        return verification
    }

    /// The last verification that passed in this server (memory only: a verification of a
    /// backup file must not write into it, so none is stored in the log's file).
    public var lastPassedVerification: PassedVerification? { service.verifications.withLock { $0 } }
}

extension SignedIn {
    /// ``Session/followRebuild(_:)`` for a person signed in to the pages: it ends once their
    /// session does (signed out, locked, expired; disabling the user or changing their role
    /// ends their sessions), so a page left open tells nothing more.
    ///
    /// Every `heartbeat` between changes the state is told again: a page that went away is
    /// noticed when that write fails (its follower's place freed), and a session that ended
    /// is noticed while the rebuild is between changes.
    public func followRebuild(_ id: String, heartbeat: Duration = .seconds(15)) throws(ServiceError) -> AsyncStream<RebuildJob> {
        let updates = try session.followRebuild(id)
        let service = session.service, cookie = self.cookie
        return AsyncStream(bufferingPolicy: .bufferingNewest(8)) { continuation in
            let last = LastState()
            let task = Task {
                for await job in updates {
                    guard service.isActive(cookie: cookie) else { break }
                    last.value.withLock { $0 = job }
                    continuation.yield(job)
                }
                continuation.finish()
            }
            let beat = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: heartbeat)
                    guard !Task.isCancelled else { return }
                    guard service.isActive(cookie: cookie) else { return continuation.finish() }
                    if let job = last.value.withLock({ $0 }), !job.finished { continuation.yield(job) }
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                beat.cancel()
            }
        }
    }
}

/// The state a page was told last (shared by the stream's two tasks).
private final class LastState: Sendable {
    let value = Mutex<RebuildJob?>(nil)
}

extension Service {
    /// Stops the work the service runs in the background (rebuilds started from the pages)
    /// and waits for it, before the log is closed: a server's graceful shutdown.
    public func stopBackgroundWork() async {
        await rebuilds.stop()
    }
}
