/// Builds an LZ4 preset dictionary from sample payloads.
///
/// LZ4 has no trainer of its own (zstd's is not part of LZ4), and an LZ4 dictionary is
/// simply "bytes that came before": matches may point anywhere into its last 64 KiB.
/// So a good dictionary is a set of sample payloads that together cover the byte
/// sequences that recur across events (field names, enum values, common values).
///
/// The trainer walks the samples newest first and keeps a sample when at least a
/// quarter of its 8-byte sequences are not yet covered by the dictionary, so one
/// event type does not crowd out the others; it then fills any room left with the
/// newest samples not taken. The newest samples end up nearest the end of the
/// dictionary. Deterministic for the same samples.
enum DictionaryTrainer {
    /// The largest dictionary LZ4 can use (it keeps the last 64 KiB).
    static let maximumSize = 64 * 1024
    private static let gram = 8

    /// A dictionary of at most `size` bytes from `samples` (ordered oldest to newest).
    /// Empty when the samples hold nothing to learn from.
    static func train(samples: [[UInt8]], size: Int) -> [UInt8] {
        let budget = min(max(size, 256), maximumSize)
        var covered = Set<UInt64>()
        var chosen = [Int]()
        var taken = Set<Int>()
        var used = 0
        for index in samples.indices.reversed() where used < budget {
            let sample = samples[index]
            guard sample.count >= gram else { continue }
            let grams = grams(of: sample)
            let fresh = grams.filter { !covered.contains($0) }.count
            if fresh * 4 >= grams.count, used + sample.count <= budget {
                covered.formUnion(grams)
                chosen.append(index)
                taken.insert(index)
                used += sample.count
            }
        }
        for index in samples.indices.reversed() where used < budget && !taken.contains(index) {
            let sample = samples[index]
            guard sample.count >= gram, used + sample.count <= budget else { continue }
            chosen.append(index)
            taken.insert(index)
            used += sample.count
        }
        // Oldest chosen first, so the newest (most representative) sit at the end.
        var dictionary = [UInt8]()
        dictionary.reserveCapacity(used)
        for index in chosen.sorted() { dictionary.append(contentsOf: samples[index]) }
        return dictionary
    }

    private static func grams(of sample: [UInt8]) -> Set<UInt64> {
        var result = Set<UInt64>(minimumCapacity: sample.count)
        sample.withUnsafeBytes { bytes in
            // Every other position is enough to tell what is already covered, at half the cost.
            for start in stride(from: 0, through: bytes.count - gram, by: 2) {
                result.insert(bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            }
        }
        return result
    }
}
