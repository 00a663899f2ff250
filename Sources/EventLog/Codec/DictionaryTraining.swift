import Foundation
import GRDB
import Logging

/// What a dictionary training did.
public struct TrainingReport: Sendable, Hashable {
    /// The new codec's id (every event appended from now on uses it).
    public var codecID: Int32
    /// The dictionary's size in bytes.
    public var dictionaryBytes: Int
    /// How many recent payloads it was trained on.
    public var samples: Int
    /// Stored ÷ raw bytes of those samples with the codec in use before.
    public var ratioBefore: Double
    /// Stored ÷ raw bytes of those samples with the new dictionary.
    public var ratioAfter: Double
}

/// Trains LZ4 dictionaries from the log's recent payloads and stores them as codecs.
struct DictionaryTraining: Sendable {
    let configuration: EventLog.Configuration
    let catalog: Catalog
    let logger: Logger

    /// Trains when due: the first time the log holds `threshold` events, then each time
    /// it has grown tenfold since the last training. Never throws: a failed training
    /// leaves the current codec in use and is logged.
    ///
    /// - Returns: `false` when a training was due but made no dictionary (or failed), so
    ///   the caller can wait before trying again instead of retrying on every commit.
    @discardableResult
    func trainIfDue(_ db: Database, head: Int64, threshold: Int) -> Bool {
        do {
            let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT id, trained_at_position FROM codecs ORDER BY id DESC LIMIT 1"))
            let lastID: Int32 = last?[0] ?? Codec.plainLZ4ID
            let trainedAt: Int64 = last?[1] ?? 0
            let due = lastID <= Codec.plainLZ4ID
                ? head >= Int64(threshold)
                : head >= max(Int64(threshold), trainedAt * 10)
            guard due else { return true }
            if let report = try train(db) {
                logger.info("trained a compression dictionary", metadata: [
                    "codec": "\(report.codecID)", "samples": "\(report.samples)",
                    "ratioBefore": "\(report.ratioBefore)", "ratioAfter": "\(report.ratioAfter)",
                ])
                return true
            }
            return false
        } catch {
            logger.warning("automatic dictionary training failed; the current codec stays in use", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Trains a dictionary from the newest payloads and stores it under a new codec id.
    /// Returns `nil` when the log has too few payloads to learn from.
    func train(_ db: Database) throws -> TrainingReport? {
        var report: TrainingReport?
        try db.inTransaction(.immediate) {
            let rows = try Row.fetchAll(db, sql: "SELECT position, codec, raw_length, payload, metadata FROM events ORDER BY position DESC LIMIT ?",
                                        arguments: [configuration.trainingSamples])
            guard let headPosition = rows.first?[0] as Int64? else { return .rollback }
            var samples: [[UInt8]] = []
            var metadataSamples: [[UInt8]] = []
            var scratch: [UInt8] = []
            var storedBefore = 0
            for row in rows.reversed() {
                let position: Int64 = row[0]
                let stored: Data = row[3]
                guard let codecID = Int32(exactly: row[1] as Int64), let decompressor = try catalog.decompressor(codecID, in: db),
                      let payload = stored.withUnsafeBytes({ decompressor.decode($0, rawLength: row[2]) })
                else { throw EventLogError.corruptEvent(position: position, reason: "payload does not decode") }
                samples.append(payload)
                storedBefore += stored.count
                if let metadata = row[4] as Data?,
                   let decoded = metadata.withUnsafeBytes({ decompressor.decodeUnsized($0, scratch: &scratch) }) {
                    metadataSamples.append(decoded)
                }
            }
            // Metadata is short and alike: a few samples, considered first (as newest).
            let dictionary = DictionaryTrainer.train(samples: samples + metadataSamples.suffix(32), size: configuration.dictionarySize)
            guard !dictionary.isEmpty else { return .rollback }
            let compressor = LZ4Compressor(dictionary: dictionary)
            var storedAfter = 0
            var raw = 0
            for sample in samples {
                raw += sample.count
                storedAfter += sample.withUnsafeBytes { compressor.compress($0, into: &scratch) } ?? sample.count
            }
            let id = (try Int32.fetchOne(db, sql: "SELECT max(id) FROM codecs") ?? Codec.plainLZ4ID) + 1
            let codec = Codec(id: id, kind: .lz4Dictionary, dictionary: dictionary)
            let now = Int64(configuration.clock().timeIntervalSince1970 * 1_000_000)
            try db.execute(
                sql: """
                    INSERT INTO codecs (id, kind, dictionary, dictionary_sha256, created_at, trained_at_position, sample_count)
                    VALUES (?, 'lz4-dict', ?, ?, ?, ?, ?)
                    """,
                arguments: [id, Data(dictionary), Data(codec.dictionarySHA256), now, headPosition, samples.count])
            let rawTotal = Double(max(raw, 1))
            report = TrainingReport(
                codecID: id, dictionaryBytes: dictionary.count, samples: samples.count,
                ratioBefore: Double(storedBefore) / rawTotal, ratioAfter: Double(storedAfter) / rawTotal)
            return .commit
        }
        return report
    }
}

extension EventLog {
    /// Trains a new LZ4 dictionary from the newest payloads (see
    /// ``Configuration/trainingSamples``) and makes it the codec of every event
    /// appended from now on. Events already stored keep their codec.
    ///
    /// - Returns: the new codec and the compression ratios before and after, or `nil`
    ///   when the log has no payload to learn from yet.
    /// - Throws: ``EventLogError/readOnly(path:)``, or a store error.
    public func trainDictionary() async throws -> TrainingReport? {
        guard let writer else { throw EventLogError.readOnly(path: path) }
        let training = DictionaryTraining(configuration: configuration, catalog: catalog, logger: logger)
        do {
            return try await writer.withWriter { db, _ in try training.train(db) }
        } catch {
            throw StoreErrors.translate(error, path: path)
        }
    }
}
