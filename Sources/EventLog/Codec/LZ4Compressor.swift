import CLZ4

/// Compresses payloads in the LZ4 block format, with or without a preset dictionary.
///
/// Hand-written over liblz4 because it is the append hot path. The dictionary is
/// loaded once (`LZ4_loadDict`) into a template stream; each payload is compressed by
/// copying the template into a working stream and calling
/// `LZ4_compress_fast_continue` — the stock library's own way of reusing a
/// dictionary (Debian's liblz4 does not export `LZ4_attach_dictionary`). Every output
/// decodes with `LZ4_decompress_safe_usingDict` and the same dictionary bytes.
///
/// Not thread-safe: one compressor belongs to the log's single writer.
final class LZ4Compressor {
    private let dictionary: UnsafeMutableRawBufferPointer
    private let template: UnsafeMutablePointer<LZ4_stream_t>?
    private let working: UnsafeMutablePointer<LZ4_stream_t>?

    /// A compressor for `dictionary` (empty: no dictionary).
    init(dictionary bytes: [UInt8]) {
        let dictionary = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { dictionary.copyMemory(from: $0) }
        self.dictionary = dictionary
        if bytes.isEmpty {
            template = nil
            working = nil
        } else {
            template = LZ4_createStream()
            working = LZ4_createStream()
            LZ4_loadDict(
                template, dictionary.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        }
    }

    deinit {
        if let template { LZ4_freeStream(template) }
        if let working { LZ4_freeStream(working) }
        dictionary.deallocate()
    }

    /// Compresses `input` into `output` (resized as needed).
    ///
    /// - Returns: the compressed size, or `nil` when the compressed form would not be
    ///   smaller than the input (store it raw then) unless `allowLarger`.
    func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], allowLarger: Bool = false) -> Int? {
        guard input.count > 0, input.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        if output.count < bound { output.append(contentsOf: repeatElement(0, count: bound - output.count)) }
        let source = input.baseAddress!.assumingMemoryBound(to: CChar.self)
        let written: Int32 = output.withUnsafeMutableBytes { out in
            let destination = out.baseAddress!.assumingMemoryBound(to: CChar.self)
            if let template, let working {
                working.update(from: template, count: 1)
                return LZ4_compress_fast_continue(
                    working, source, destination, Int32(input.count), Int32(out.count), 1)
            }
            return LZ4_compress_default(source, destination, Int32(input.count), Int32(out.count))
        }
        guard written > 0, allowLarger || Int(written) < input.count else { return nil }
        return Int(written)
    }
}

/// Decompresses stored payloads of one codec. Immutable once made.
///
/// `@unchecked Sendable`: the dictionary buffer is written once in `init` and only
/// read afterwards (`LZ4_decompress_safe_usingDict` takes it as `const`), so any
/// number of threads may decompress at once.
final class LZ4Decompressor: @unchecked Sendable {
    let codec: Codec
    private let dictionary: UnsafeMutableRawBufferPointer

    init(codec: Codec) {
        self.codec = codec
        let dictionary = UnsafeMutableRawBufferPointer.allocate(byteCount: max(codec.dictionary.count, 1), alignment: 16)
        codec.dictionary.withUnsafeBytes { dictionary.copyMemory(from: $0) }
        self.dictionary = dictionary
    }

    deinit { dictionary.deallocate() }

    /// The LZ4 block decoder (with this codec's dictionary when it has one): decodes
    /// `stored` into `destination`; returns the bytes written, or a negative number
    /// when the input is malformed or does not fit. Never used for the raw codec.
    private func decompress(_ stored: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        guard let source = stored.baseAddress, let target = destination.baseAddress, stored.count > 0 else { return -1 }
        let input = source.assumingMemoryBound(to: CChar.self)
        let output = target.assumingMemoryBound(to: CChar.self)
        if codec.kind == .lz4Dictionary {
            return Int(LZ4_decompress_safe_usingDict(
                input, output, Int32(stored.count), Int32(destination.count),
                dictionary.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(codec.dictionary.count)))
        }
        return Int(LZ4_decompress_safe(input, output, Int32(stored.count), Int32(destination.count)))
    }

    /// Whether a stored length is possible at all (guards every allocation and `Int32`).
    private static func plausible(_ stored: UnsafeRawBufferPointer, rawLength: Int) -> Bool {
        rawLength >= 0 && rawLength <= Codec.payloadCeiling && stored.count <= Codec.payloadCeiling
    }

    /// Decodes `stored` into exactly `rawLength` bytes; `nil` when they do not decode to
    /// exactly that many.
    func decode(_ stored: UnsafeRawBufferPointer, rawLength: Int) -> [UInt8]? {
        guard Self.plausible(stored, rawLength: rawLength) else { return nil }
        if codec.kind == .raw { return stored.count == rawLength ? Array(stored) : nil }
        guard rawLength > 0 else { return nil }
        let result = [UInt8](unsafeUninitializedCapacity: rawLength) { buffer, count in
            count = decompress(stored, into: UnsafeMutableRawBufferPointer(buffer)) == rawLength ? rawLength : 0
        }
        return result.count == rawLength ? result : nil
    }

    /// Checks that `stored` decodes to exactly `rawLength` bytes, into a scratch buffer.
    func check(_ stored: UnsafeRawBufferPointer, rawLength: Int, scratch: inout [UInt8]) -> Bool {
        guard Self.plausible(stored, rawLength: rawLength) else { return false }
        if codec.kind == .raw { return stored.count == rawLength }
        guard rawLength > 0 else { return false }
        if scratch.count < rawLength { scratch = [UInt8](repeating: 0, count: rawLength) }
        return scratch.withUnsafeMutableBytes { decompress(stored, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<rawLength])) } == rawLength
    }

    /// Decodes `stored` when its decoded length is not stored (metadata), through
    /// `scratch` (kept by the caller across calls): at most ``Codec/metadataCeiling``
    /// bytes. Returns `nil` when the bytes do not decode.
    func decodeUnsized(_ stored: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> [UInt8]? {
        guard let count = decodeUnsizedCount(stored, scratch: &scratch) else { return nil }
        return Array(scratch[..<count])
    }

    /// Like ``decodeUnsized(_:scratch:)``, leaving the bytes in `scratch`; returns their count.
    func decodeUnsizedCount(_ stored: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> Int? {
        let capacity = Codec.metadataCeiling
        // The log never stores empty metadata (it stores NULL), nor more than the ceiling.
        guard stored.count > 0, stored.count <= capacity else { return nil }
        if scratch.count < capacity { scratch = [UInt8](repeating: 0, count: capacity) }
        if codec.kind == .raw {
            scratch.withUnsafeMutableBytes { $0.copyMemory(from: stored) }
            return stored.count
        }
        let written = scratch.withUnsafeMutableBytes { decompress(stored, into: $0) }
        return written > 0 ? written : nil
    }
}
