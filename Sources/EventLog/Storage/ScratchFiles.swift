import Foundation
import Synchronization

/// The files a backup (or a report check) is writing and will remove when done: a copy of
/// the whole log, personal data sealed but readable with the master key. A command line
/// interrupted by a signal removes them with ``removeAll()`` (a `defer` does not run then);
/// only a kill leaves them, beside their destination.
public enum ScratchFiles {
    private static let paths = Mutex<Set<String>>([])

    /// Notes a file (and its `-wal` and `-shm`) as being written.
    package static func add(_ path: String) { _ = paths.withLock { $0.insert(path) } }

    /// The file is finished, or removed.
    package static func remove(_ path: String) { _ = paths.withLock { $0.remove(path) } }

    /// Removes every file being written now, with its `-wal` and `-shm`.
    public static func removeAll() {
        for path in paths.withLock({ $0 }) {
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        }
    }
}
