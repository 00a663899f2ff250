import Metrics

/// What the log reports to the process's metrics system (swift-metrics: nothing until a
/// server bootstraps a backend). Made on first use, so after the bootstrap.
enum LogMetrics {
    /// From a caller's append to its durable answer, waiting for the group included.
    static let appendLatency = Timer(label: "stipple_append_seconds")
    /// Appends (jobs) gathered in one transaction: what group commit saves.
    static let jobsPerCommit = Recorder(label: "stipple_group_commit_jobs")
    /// Events in one transaction.
    static let eventsPerCommit = Recorder(label: "stipple_group_commit_events")
}
