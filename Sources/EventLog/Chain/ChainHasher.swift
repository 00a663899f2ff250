import Crypto

/// Computes chain hashes: SHA-256 over the previous event's hash and this event's
/// stored columns, in this byte order (big-endian integers, lengths before
/// variable-length fields):
///
/// | field | bytes |
/// |---|---|
/// | previous hash (32 zero bytes before position 1) | 32 |
/// | position | 8 |
/// | event id | 16 |
/// | stream name length, stream name (UTF-8) | 4 + n |
/// | stream version | 8 |
/// | type name length, type name (UTF-8) | 4 + n |
/// | schema version | 4 |
/// | recorded at (µs since 1970, UTC) | 8 |
/// | metadata length, metadata (0 when NULL) | 4 + n |
/// | codec id | 4 |
/// | SHA-256 of the codec's dictionary | 32 |
/// | uncompressed length | 4 |
/// | stored payload length, stored payload | 4 + n |
///
/// Stream and type are hashed by name, not by their integer keys, so renaming a row of
/// `streams` or `event_types` breaks the chain too. The dictionary's digest is hashed
/// because a changed dictionary changes what the same stored bytes decode to.
///
/// Not thread-safe (it reuses one buffer); make one per task.
struct ChainHasher {
    /// The hash that stands before position 1.
    static let genesis = [UInt8](repeating: 0, count: 32)

    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1024) }

    /// The chain hash of one event.
    mutating func hash(
        previous: UnsafeRawBufferPointer,
        position: Int64,
        eventID: UnsafeRawBufferPointer,
        stream: UnsafeRawBufferPointer,
        streamVersion: Int64,
        type: UnsafeRawBufferPointer,
        schemaVersion: Int32,
        recordedAt: Int64,
        metadata: UnsafeRawBufferPointer,
        codec: Int32,
        dictionarySHA256: UnsafeRawBufferPointer,
        rawLength: Int32,
        payload: UnsafeRawBufferPointer
    ) -> [UInt8] {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: previous)
        append(UInt64(bitPattern: position))
        buffer.append(contentsOf: eventID)
        appendSized(stream)
        append(UInt64(bitPattern: streamVersion))
        appendSized(type)
        append(UInt32(bitPattern: schemaVersion))
        append(UInt64(bitPattern: recordedAt))
        appendSized(metadata)
        append(UInt32(bitPattern: codec))
        buffer.append(contentsOf: dictionarySHA256)
        append(UInt32(bitPattern: rawLength))
        appendSized(payload)
        return buffer.withUnsafeBytes { Array(SHA256.hash(data: $0)) }
    }

    private mutating func append(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }

    private mutating func append(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }

    private mutating func appendSized(_ bytes: UnsafeRawBufferPointer) {
        append(UInt32(bytes.count))
        buffer.append(contentsOf: bytes)
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
