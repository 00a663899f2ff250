/// JSON text to ``JSONValue`` in one pass, written by hand for the hot path: every request
/// body, every `do` and `append` line and every event's metadata goes through it.
/// Foundation's `JSONDecoder` through `JSONValue`'s `Codable` conformance (a `try?` per
/// kind per value) plus the separate UTF-8 and duplicate-key scans it needed took 14 % of
/// the server's CPU for a recorded session (perf, 2026-12-02); this reader does the same
/// work, and those checks, in one pass. `CanonicalJSONTests` hold it to the decoder on
/// generated documents and mutations of them.
///
/// What it accepts is RFC 8259 JSON (Foundation's decoder also took a trailing comma; this
/// reader does not), and what it refuses beyond the grammar: text that is
/// not UTF-8, a byte order mark, an object that gives a key twice (parsers differ on which
/// one wins), a `\u` escape that is half of a surrogate pair, nesting deeper than
/// ``maxDepth``, a number too large for a `Double`. Numbers become `.int` when their value
/// is a whole number that fits an `Int64` (as the decoder made them), else `.double`.
struct JSONReader {
    /// How deep arrays and objects may nest (Foundation's decoder refuses deeper too).
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Bytes of the string being read, when it has escapes (reused between strings).
    private var scratch: [UInt8] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONValue.ParseError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw JSONValue.ParseError(reason: "the text starts with a byte order mark (U+FEFF): save it as UTF-8 without one")
        }
        var reader = JSONReader(bytes)
        reader.skipSpace()
        let value = try reader.value()
        reader.skipSpace()
        if reader.index < bytes.count { throw reader.unexpected("after the JSON value") }
        return value
    }

    // MARK: - Values

    private mutating func value() throws(JSONValue.ParseError) -> JSONValue {
        guard index < bytes.count else { throw failure("the text ends where a value should be") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw unexpected("where a value should be")
        }
    }

    private mutating func object() throws(JSONValue.ParseError) -> JSONValue {
        try enter()
        index += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}"), !members.isEmpty {
                throw failure("a comma before '}': JSON has no trailing commas")
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw index < bytes.count ? unexpected("where an object's key (a string) should be") : failure("the text ends inside an object")
            }
            let key = try string()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw index < bytes.count ? unexpected("after the key \"\(key)\" (expected ':')") : failure("the text ends inside an object")
            }
            index += 1
            skipSpace()
            let member = try value()
            if members.updateValue(member, forKey: key) != nil {
                throw JSONValue.ParseError(reason: "key \"\(key)\" appears twice in one object")
            }
            skipSpace()
            guard index < bytes.count else { throw failure("the text ends inside an object") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(members)
            default: throw unexpected("after a member of an object (expected ',' or '}')")
            }
        }
    }

    private mutating func array() throws(JSONValue.ParseError) -> JSONValue {
        try enter()
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]"), !items.isEmpty {
                throw failure("a comma before ']': JSON has no trailing commas")
            }
            items.append(try value())
            skipSpace()
            guard index < bytes.count else { throw failure("the text ends inside an array") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(items)
            default: throw unexpected("after an item of an array (expected ',' or ']')")
            }
        }
    }

    private mutating func enter() throws(JSONValue.ParseError) {
        depth += 1
        if depth > Self.maxDepth { throw failure("arrays and objects nest deeper than \(Self.maxDepth) levels") }
    }

    private mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let count = word.utf8CodeUnitCount
        let matches = index + count <= bytes.count
            && (0..<count).allSatisfy { bytes[index + $0] == word.utf8Start[$0] }
        guard matches else { throw unexpected("where a value should be") }
        index += count
    }

    // MARK: - Strings

    /// A string literal, the index on its opening quote.
    private mutating func string() throws(JSONValue.ParseError) -> String {
        let opening = index
        index += 1
        let start = index
        var plain = true  // no escapes so far: the bytes are the string
        var ascii = true
        scratch.removeAll(keepingCapacity: true)
        while true {
            guard index < bytes.count else {
                index = opening
                throw failure("a string is not closed (its opening quote)")
            }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let text: String
                if plain {
                    text = try utf8(UnsafeBufferPointer(rebasing: bytes[start..<index]), ascii: ascii, at: start)
                } else {
                    text = try scratch.withUnsafeBufferPointer { buffer throws(JSONValue.ParseError) in
                        try utf8(buffer, ascii: ascii, at: start)
                    }
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                if plain {
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    plain = false
                }
                try escape()
            case 0..<0x20:
                throw failure("a control character (U+\(hex4(UInt32(byte)))) inside a string: write it as an escape such as \\n or \\u00\(hex4(UInt32(byte)).suffix(2))")
            default:
                if byte >= 0x80 { ascii = false }
                if !plain { scratch.append(byte) }
                index += 1
            }
        }
    }

    /// An escape, the index on its backslash; appends what it stands for to `scratch`.
    private mutating func escape() throws(JSONValue.ParseError) {
        guard index + 1 < bytes.count else { throw failure("the text ends inside an escape") }
        let letter = bytes[index + 1]
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "u"):
            let high = try hexEscape(at: index)
            var value = high
            var length = 6
            if (0xD800...0xDBFF).contains(high), index + 7 < bytes.count,
               bytes[index + 6] == UInt8(ascii: "\\"), bytes[index + 7] == UInt8(ascii: "u"),
               let low = try? hexEscape(at: index + 6), (0xDC00...0xDFFF).contains(low) {
                value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                length = 12
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw failure("\\u\(hex4(high)) is half of a surrogate pair with no other half: it is no character")
            }
            scratch.append(contentsOf: String(scalar).utf8)
            index += length
            return
        default:
            throw failure("\\\(String(decoding: [letter], as: UTF8.self)) is not an escape JSON has (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
        }
        index += 2
    }

    /// The four hex digits of the `\u` escape at `position`.
    private func hexEscape(at position: Int) throws(JSONValue.ParseError) -> UInt32 {
        guard position + 5 < bytes.count else { throw failure("the text ends inside a \\u escape (four hex digits)") }
        var value: UInt32 = 0
        for offset in 2..<6 {
            let byte = bytes[position + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                let shown = String(decoding: UnsafeBufferPointer(rebasing: bytes[(position + 2)..<(position + 6)]), as: UTF8.self)
                throw JSONValue.ParseError(reason: "\\u\(shown) is not an escape (four hex digits) (at byte \(position + 1))")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The string of `buffer`, which must be UTF-8 (`at`: where it starts in the text).
    private func utf8(_ buffer: UnsafeBufferPointer<UInt8>, ascii: Bool, at start: Int) throws(JSONValue.ParseError) -> String {
        if ascii { return String(decoding: buffer, as: UTF8.self) }
        guard let text = String(validating: buffer, as: UTF8.self) else {
            throw JSONValue.ParseError(reason: "the text is not valid UTF-8 (at byte \(Self.firstInvalidUTF8(in: UnsafeBufferPointer(rebasing: bytes[start...])) + start + 1))")
        }
        return text
    }

    /// The offset of the first byte of `buffer` that does not start a valid UTF-8 sequence.
    static func firstInvalidUTF8(in buffer: UnsafeBufferPointer<UInt8>) -> Int {
        var iterator = buffer.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let scalar) = decoder.decode(&iterator) { offset += UTF8.width(scalar) }
        return offset
    }

    // MARK: - Numbers

    private mutating func number() throws(JSONValue.ParseError) -> JSONValue {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.count, isDigit(bytes[index]) else { throw invalidNumber(from: start) }
        // An integer's digits accumulate as they are read (negative, to reach Int64.min).
        var integer: Int64 = 0
        var fits = true
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw invalidNumber(from: start, "a number may not start with 0") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                let (times, overflowTimes) = integer.multipliedReportingOverflow(by: 10)
                let (sum, overflowSum) = times.subtractingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                if overflowTimes || overflowSum { fits = false } else { integer = sum }
                index += 1
            }
        }
        var whole = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            whole = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw invalidNumber(from: start, "a fraction needs a digit after the point") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            whole = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw invalidNumber(from: start, "an exponent needs a digit") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if whole, fits {
            if !negative {
                guard integer != .min else { return .double(9_223_372_036_854_775_808) }
                return .int(-integer)
            }
            return .int(integer)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            throw JSONValue.ParseError(reason: "the number \(text) does not fit a 64-bit floating-point value (at byte \(start + 1))")
        }
        // A whole-number literal too large for Int64 stays a Double (the decoder's rule).
        if !(whole && !fits), let exact = Int64(exactly: double) { return .int(exact) }
        return .double(double)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func invalidNumber(from start: Int, _ why: String = "a number has digits after an optional '-'") -> JSONValue.ParseError {
        let end = min(bytes.count, index + 1)
        let shown = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        return JSONValue.ParseError(reason: "\(shown) is not a number: \(why) (at byte \(start + 1))")
    }

    // MARK: - White space and errors

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func failure(_ reason: String) -> JSONValue.ParseError {
        JSONValue.ParseError(reason: "\(reason) (at byte \(min(index, bytes.count) + 1))")
    }

    /// The byte at the index is not what the grammar allows `context`.
    private func unexpected(_ context: String) -> JSONValue.ParseError {
        let byte = bytes[index]
        if byte >= 0x80 {
            let tail = UnsafeBufferPointer(rebasing: bytes[index...])
            let invalid = Self.firstInvalidUTF8(in: tail)
            if invalid == 0 {
                return JSONValue.ParseError(reason: "the text is not valid UTF-8 (at byte \(index + invalid + 1))")
            }
            let character = String(decoding: UnsafeBufferPointer(rebasing: tail.prefix(Self.sequenceLength(byte))), as: UTF8.self)
            return failure("unexpected '\(character)' \(context)")
        }
        if byte < 0x20 || byte == 0x7F { return failure("unexpected byte 0x\(hex4(UInt32(byte)).suffix(2)) \(context)") }
        return failure("unexpected '\(String(decoding: [byte], as: UTF8.self))' \(context)")
    }

    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: return 4
        case 0xE0...: return 3
        default: return 2
        }
    }

    private func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
