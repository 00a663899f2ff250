import Foundation
import GRDB

/// Size and compression figures of a log.
public struct LogStats: Sendable, Hashable, Codable {
    /// Compression figures of one codec.
    public struct CodecFigures: Sendable, Hashable, Codable {
        public var id: Int32
        public var kind: String
        public var dictionaryBytes: Int
        public var events: Int64
        public var rawBytes: Int64
        public var storedBytes: Int64
        /// Stored ÷ raw payload bytes (lower is better; 1 when nothing is stored).
        public var ratio: Double
    }

    public var events: Int64
    public var streams: Int64
    /// Bytes of the database file plus its write-ahead log on disk.
    public var fileBytes: Int64
    /// Bytes of the database's pages in use (all tables and indexes), WAL included.
    public var databaseBytes: Int64
    /// `databaseBytes` ÷ `events`.
    public var bytesPerEvent: Double
    public var codecs: [CodecFigures]
    /// The codec new events are compressed with.
    public var currentCodec: Int32
    public var headPosition: Int64
    public var headHash: String
}

extension EventLog {
    /// Counts events and streams, measures the file and the compression of each codec.
    /// Reads every event's sizes (not its payload): about a second per million events.
    public func stats() async throws -> LogStats {
        let path = self.path
        return try await read { db in
            let head = try LogHead.fetch(db)
            let streams = try Int64.fetchOne(db, sql: "SELECT count(*) FROM streams") ?? 0
            let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            let pages = try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let free = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            var byCodec: [Int32: (Int64, Int64, Int64)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT codec, count(*), total(raw_length), total(length(payload)) FROM events GROUP BY codec") {
                byCodec[Int32(truncatingIfNeeded: row[0] as Int64)] = (row[1], Int64(row[2] as Double), Int64(row[3] as Double))
            }
            var codecs: [LogStats.CodecFigures] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, kind, length(dictionary) FROM codecs ORDER BY id") {
                let id = Int32(truncatingIfNeeded: row[0] as Int64)
                let (count, raw, stored) = byCodec[id] ?? (0, 0, 0)
                codecs.append(LogStats.CodecFigures(
                    id: id, kind: row[1], dictionaryBytes: row[2], events: count, rawBytes: raw, storedBytes: stored,
                    ratio: raw > 0 ? Double(stored) / Double(raw) : 1))
            }
            let fileBytes = [path, path + "-wal"].reduce(Int64(0)) { total, file in
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
                return total + size
            }
            let databaseBytes = (pages - free) * pageSize
            return LogStats(
                events: head.position, streams: streams, fileBytes: fileBytes, databaseBytes: databaseBytes,
                bytesPerEvent: head.position > 0 ? Double(databaseBytes) / Double(head.position) : 0,
                codecs: codecs, currentCodec: codecs.last?.id ?? Codec.plainLZ4ID,
                headPosition: head.position, headHash: head.hashHex)
        }
    }

    /// Copies the log to `destination` while appends go on (SQLite's online backup of a
    /// consistent snapshot), then verifies the copy and checks that its head hash is the
    /// hash this log holds at the same position. The copy appears at `destination`
    /// only once verified.
    ///
    /// - Throws: ``EventLogError/database(code:message:)`` when `destination` exists or
    ///   cannot be written; ``BackupError`` when the copy does not verify.
    public func backup(to destination: String) async throws -> VerificationReport {
        var info = stat()
        if lstat(destination, &info) == 0 {
            throw EventLogError.badDestination(path: destination, reason: "it exists already; choose a new file for the backup")
        }
        // SQLite would take a file beside the destination for part of the copy.
        for suffix in ["-wal", "-shm", "-journal"] where lstat(destination + suffix, &info) == 0 {
            throw EventLogError.badDestination(
                path: destination, reason: "\(destination + suffix) exists: SQLite would read it as part of the backup; remove it or choose another name")
        }
        // A name of its own, made here (O_EXCL), so that no file this backup did not make is
        // ever removed; readable by its owner only: a copy holds every client's sealed data,
        // the users and the access log.
        let partial = destination + ".partial-" + UUID().uuidString.prefix(8).lowercased()
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw EventLogError.badDestination(path: destination, reason: "cannot create \(partial) beside it: \(String(cString: strerror(errno)))")
        }
        Glibc.close(descriptor)
        ScratchFiles.add(partial)
        defer {
            for suffix in ["", "-wal", "-shm"] { unlink(partial + suffix) }
            ScratchFiles.remove(partial)
        }
        do {
            let copy = try DatabaseQueue(path: partial)
            try await backupSnapshot(to: copy)
            try await copy.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try copy.close()
        } catch {
            throw StoreErrors.translate(error, path: destination)
        }
        var configuration = Configuration()
        configuration.autoTrainThreshold = 0
        let copied = try EventLog(path: partial, configuration: configuration, logger: logger)
        let report = try await copied.verify()
        try copied.close()
        guard report.isIntact else { throw BackupError.copyDoesNotVerify(report) }
        let original = try await read { db in
            try Data.fetchOne(db, sql: "SELECT hash FROM events WHERE position = ?", arguments: [report.head.position])
        }
        if report.head.position > 0, original.map(Array.init) != report.head.hash {
            throw BackupError.copyDiffersFromOriginal(position: report.head.position)
        }
        // A hard link never replaces a file (rename would): a file that appeared at the
        // destination meanwhile is kept, and the backup refused.
        guard link(partial, destination) == 0 else {
            let reason = errno == EEXIST ? "it exists now" : String(cString: strerror(errno))
            throw EventLogError.badDestination(path: destination, reason: "the verified copy cannot be put there: \(reason)")
        }
        return report
    }
}

/// A backup copy that failed its checks; no file was left at the destination.
public enum BackupError: Error, Sendable, CustomStringConvertible {
    case copyDoesNotVerify(VerificationReport)
    case copyDiffersFromOriginal(position: Int64)

    public var description: String {
        switch self {
        case .copyDoesNotVerify(let report):
            return "The backup copy does not verify (\(report.firstBreak?.description ?? "triggers missing")); no backup was written."
        case .copyDiffersFromOriginal(let position):
            return "The backup copy's hash at position \(position) differs from the original's; no backup was written."
        }
    }
}

extension EventLog {
    /// GRDB's online backup from a read snapshot, run off the cooperative pool.
    fileprivate func backupSnapshot(to copy: DatabaseQueue) async throws {
        let pool = self.pool
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try pool.backup(to: copy) })
            }
        }
    }
}
