import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// When and where the log's WAL is copied into the database file (checkpointed).
///
/// SQLite checkpoints in the committing connection, right after a commit that leaves the
/// WAL over 1,000 pages (`wal_autocheckpoint`). For appends that is cheap (a few MB).
/// During a bulk run (a rebuild writing hundreds of MB through ``EventLog/writeTables(durable:_:)``)
/// the checkpoint after a commit copied up to 64 MiB and held the writer, and every
/// append behind it, for 180 ms at 1M events (the commit itself took 34 ms at most).
/// So the log installs its own WAL hook on the writer: outside bulk runs it checkpoints
/// exactly as SQLite's own hook would; inside one it only notes the WAL's size, and the
/// run calls ``EventLog/checkpointIfDue()`` between its transactions, which copies the
/// WAL on a connection of its own while the writer stays free. With no run's commit in
/// between, that checkpoint copies every frame (an append that commits meanwhile leaves a
/// few frames behind: they are copied at once), and the writer's next transaction starts
/// the WAL over from its beginning: the file stays near the limit's size, unless a reader
/// still reads frames past it.
///
/// Bulk runs are a rebuild, a catch-up of the reports (the server's run after each write
/// and every second: most find little or nothing to do) and the removal of replaced
/// report tables. Appends that commit during one do not checkpoint either; the first
/// commit after it does, or the run's own `checkpointIfDue()`.
///
/// Nothing else may set `wal_autocheckpoint` on the log's connections: the pragma
/// replaces this hook.
final class WALCheckpoints: Sendable {
    private struct State {
        /// Pages in the WAL after the last commit of the writer.
        var frames = 0
        /// How many of them the last checkpoint copied (the WAL starts over once all are,
        /// unless a reader still reads from it).
        var copied = 0
        /// Bulk runs going on (a rebuild and a catch-up may overlap).
        var bulkRuns = 0
        /// Closed with the log: no checkpoint connection is opened again.
        var closed = false
    }

    /// SQLite's own threshold, outside bulk runs.
    static let autocheckpointFrames = 1_000
    /// The WAL's size, in pages not yet copied, past which a bulk run checkpoints between
    /// transactions (``EventLog/Configuration/bulkCheckpointPages``).
    let bulkFrames: Int

    private let state = Mutex(State())
    private let connection = Mutex<DatabaseQueue?>(nil)
    private let path: String

    init(path: String, bulkFrames: Int) {
        self.path = path
        self.bulkFrames = bulkFrames
    }

    /// Installs the hook on `db` (the writer's connection; on a reader it never fires).
    /// `self` outlives every connection: the pool's `prepareDatabase` closure holds it.
    func install(on db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, walHook, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Called by the hook after each commit: whether to checkpoint in the writer now.
    fileprivate func committed(frames: Int) -> Bool {
        state.withLock { state in
            state.frames = frames
            // Started over from its beginning since the last checkpoint.
            if frames < state.copied { state.copied = 0 }
            return state.bulkRuns == 0 && frames >= Self.autocheckpointFrames
        }
    }

    /// Runs `body` as a bulk run (see the type's comment).
    func bulk<T>(_ body: () async throws -> T) async rethrows -> T {
        state.withLock { $0.bulkRuns += 1 }
        defer { state.withLock { $0.bulkRuns -= 1 } }
        return try await body()
    }

    /// Copies the WAL into the database file on the checkpoint connection when it holds
    /// more than ``bulkFrames`` pages not yet copied; returns the pages it copied, or
    /// `nil` when none were due.
    func checkpointIfDue() async throws -> Int? {
        guard state.withLock({ !$0.closed && $0.frames - $0.copied > bulkFrames }) else { return nil }
        let queue = try connection.withLock { connection in
            if let connection { return connection }
            // A plain read-write connection of its own: a reader of the pool is read-only,
            // and the writer is the one to keep free. It waits for no lock: a PASSIVE
            // checkpoint takes only the checkpoint lock, and when another connection holds
            // that one this checkpoint is left for later.
            var configuration = GRDB.Configuration()
            configuration.label = "stipple.checkpoint"
            configuration.prepareDatabase { db in
                // The database file is synced before the frames count as copied, whatever
                // SQLite's compiled default: the WAL starts over after this checkpoint.
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            connection = opened
            return opened
        }
        var total = 0
        // An append that committed during the checkpoint left its frames behind, so the WAL
        // could not start over; they are few, and copied at once (twice at most).
        for _ in 0..<3 {
            let outcome: (before: Int, frames: Int, copied: Int)
            do {
                // On the queue, one checkpoint at a time: `before` is this one's.
                outcome = try await queue.writeWithoutTransaction { db in
                    let before = self.state.withLock { $0.copied }
                    let (frames, copied) = try db.checkpoint(.passive)
                    self.checkpointed(frames: frames, copied: copied)
                    return (before, frames, copied)
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // Another connection is checkpointing (another process's writer after its
                // commit): this one is tried again after the run's next transaction.
                return total > 0 ? total : nil
            }
            total += max(outcome.copied - outcome.before, 0)
            guard outcome.copied < outcome.frames else { break }
        }
        return total
    }

    /// Notes a checkpoint's outcome: the WAL's pages, and how many of them are now copied.
    fileprivate func checkpointed(frames: Int, copied: Int) {
        state.withLock { state in
            state.frames = max(frames, 0)
            state.copied = max(copied, 0)
        }
    }

    /// Closes the checkpoint connection, for good (with the log, before its pool).
    func close() throws {
        state.withLock { $0.closed = true }
        try connection.withLock { connection in
            defer { connection = nil }
            try connection?.close()
        }
    }
}

/// The WAL hook: what `sqlite3WalDefaultHook` does, unless a bulk run is on.
private let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { context, db, name, frames in
    guard let context else { return SQLITE_OK }
    let checkpoints = Unmanaged<WALCheckpoints>.fromOpaque(context).takeUnretainedValue()
    if checkpoints.committed(frames: Int(frames)) {
        // As SQLite's own hook: a checkpoint that cannot finish now is tried after the next commit.
        var log: Int32 = 0
        var copied: Int32 = 0
        if sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK {
            checkpoints.checkpointed(frames: Int(log), copied: Int(copied))
        }
    }
    return SQLITE_OK
}
