import Foundation
import Testing
@testable import EventLog

/// The hand-written reader against Foundation's decoder (through `JSONValue`'s Codable
/// conformance, which is what parsed before): the same value for every document both
/// accept, and a refusal by the reader alone only for what it refuses on purpose.
@Suite("JSON reader")
struct JSONReaderTests {
    /// What Foundation's decoder makes of `bytes` (nil: it refuses them).
    static func decoded(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Whole numbers beyond 2^53 as the Double they round to: a literal such as
    /// 1830360663301562731.1 has no exact reading, and the decoder truncated its fraction
    /// where the reader rounds (both are the same Double).
    static func rounded(_ value: JSONValue) -> JSONValue {
        switch value {
        case .int(let int) where int.magnitude > 1 << 53: return .double(Double(int))
        case .array(let items): return .array(items.map(rounded))
        case .object(let members): return .object(members.mapValues(rounded))
        default: return value
        }
    }

    static func parsed(_ bytes: [UInt8]) -> Result<JSONValue, JSONValue.ParseError> {
        Result { () throws(JSONValue.ParseError) in try JSONValue.parse(bytes) }
    }

    @Test("numbers, strings and literals become what the decoder made of them", arguments: [
        "0", "-0", "1", "-1", "1.0", "-0.0", "1e2", "1E+2", "2.5", "-3.25e-3", "1e-400", "123456789012345678",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "1e19",
        "12345678901234567890123", "0.1", "1.7976931348623157e308", "true", "false", "null", #""""#, #""a""#,
        #""\u00e9 \n \" \\ \/ \b \f \r \t""#, #""\ud83d\ude00""#, #""é😀""#, #"  [ 1 , { "a" : [ ] } ]  "#, "{}", "[]",
        #"{"b":1,"a":{"c":[true,null,"x"]}}"#,
    ])
    func sameAsDecoder(text: String) throws {
        let bytes = Array(text.utf8)
        let expected = try #require(Self.decoded(bytes), "Foundation's decoder reads \(text)")
        let value = try JSONValue.parse(bytes)
        #expect(value == expected, "\(text): \(value) vs \(expected)")
        #expect(value.canonicalBytes == expected.canonicalBytes)
    }

    @Test("text that is not JSON is refused with the place and the reason", arguments: [
        ("", "the text ends where a value should be (at byte 1)"),
        ("   ", "the text ends where a value should be (at byte 4)"),
        ("01", "01 is not a number: a number may not start with 0 (at byte 1)"),
        ("1.", "a fraction needs a digit after the point"),
        (".5", "unexpected '.' where a value should be (at byte 1)"),
        ("+1", "unexpected '+' where a value should be"),
        ("-", "is not a number"),
        ("1e", "an exponent needs a digit"),
        ("1e400", "the number 1e400 does not fit a 64-bit floating-point value (at byte 1)"),
        ("[1,]", "a comma before ']': JSON has no trailing commas (at byte 4)"),
        (#"{"a":1,}"#, "a comma before '}': JSON has no trailing commas (at byte 8)"),
        ("[,1]", "unexpected ',' where a value should be (at byte 2)"),
        (#"{,}"#, "unexpected ',' where an object's key (a string) should be (at byte 2)"),
        (#"{"a" 1}"#, #"after the key "a" (expected ':')"#),
        (#"{a:1}"#, "where an object's key (a string) should be (at byte 2)"),
        ("[1 2]", "after an item of an array (expected ',' or ']') (at byte 4)"),
        ("tru", "unexpected 't' where a value should be"),
        ("nul", "unexpected 'n'"),
        ("[] x", "unexpected 'x' after the JSON value (at byte 4)"),
        (#""abc"#, "a string is not closed (its opening quote) (at byte 1)"),
        ("\"a\tb\"", "a control character (U+0009) inside a string"),
        (#""\x""#, #"\x is not an escape JSON has"#),
        (#""\u12G4""#, #"\u12G4 is not an escape (four hex digits) (at byte 2)"#),
        (#""\u12""#, "the text ends inside a \\u escape"),
        (#""\ud800""#, #"\uD800 is half of a surrogate pair with no other half: it is no character"#),
        (#""\ude00\ud83d""#, "half of a surrogate pair"),
        (#""\ud83d\u0041""#, "half of a surrogate pair"),
        (#"{"a":1,"b":2,"a":3}"#, #"key "a" appears twice in one object"#),
        (#"{"a":{"x":1,"x":1}}"#, #"key "x" appears twice in one object"#),
        (#"{"\u0061":1,"a":2}"#, #"key "a" appears twice in one object"#),
        ("[1]\u{0}", "unexpected byte 0x00 after the JSON value"),
        ("[é]", "unexpected 'é' where a value should be (at byte 2)"),
    ])
    func refused(text: String, reason: String) {
        switch Self.parsed(Array(text.utf8)) {
        case .success(let value): Issue.record("\(text) was read as \(value)")
        case .failure(let error): #expect(error.description.contains(reason), "\(text): \(error.description)")
        }
    }

    @Test("bytes that are not UTF-8, a byte order mark and deep nesting are refused")
    func bytes() throws {
        let quoteA: [UInt8] = Array(#"["a"#.utf8), quoteAB: [UInt8] = Array(#"["ab"#.utf8), close: [UInt8] = Array(#""]"#.utf8)
        let key: [UInt8] = Array(#"{"k"#.utf8), member: [UInt8] = Array(#"":1}"#.utf8)
        let deep: [UInt8] = Array((String(repeating: "[", count: 513) + String(repeating: "]", count: 513)).utf8)
        let cases: [([UInt8], String)] = [
            (quoteA + [0xFF] + close, "the text is not valid UTF-8 (at byte 4)"),
            (quoteAB + [0xC3] + close, "the text is not valid UTF-8 (at byte 5)"),
            ([0x5B, 0xC3, 0x28, 0x5D], "the text is not valid UTF-8 (at byte 2)"),
            (key + [0xED, 0xA0, 0x80] + member, "not valid UTF-8"),
            ([0xEF, 0xBB, 0xBF] + Array("{}".utf8), "byte order mark"),
            (deep, "nest deeper than 512 levels"),
        ]
        for (bytes, reason) in cases {
            switch Self.parsed(bytes) {
            case .success(let value): Issue.record("\(bytes) was read as \(value)")
            case .failure(let error): #expect(error.description.contains(reason), "\(error.description)")
            }
        }
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try JSONValue.parse(deepest) }
    }

    @Test("the same on more seeds", arguments: 1...20)
    func seeds(seed: UInt64) throws { try differential(seed: seed) }

    @Test("generated documents and thousands of mutations of them: the reader accepts what the decoder accepts, with the same value")
    func differential() throws {
        try differential(seed: 2026_12_02)
    }

    func differential(seed: UInt64) throws {
        var random = Generator(seed: seed)
        var accepted = 0, refusedBoth = 0
        for _ in 0..<400 {
            let document = random.document(depth: 0)
            let text = random.render(document)
            let bytes = Array(text.utf8)
            #expect(try JSONValue.parse(bytes) == Self.decoded(bytes), "\(text)")
            for _ in 0..<25 {
                let mutated = random.mutate(bytes)
                let reference = Self.decoded(mutated)
                switch Self.parsed(mutated) {
                case .success(let value):
                    accepted += 1
                    #expect(reference.map(Self.rounded) == Self.rounded(value), "\(String(decoding: mutated, as: UTF8.self)): \(value) vs \(String(describing: reference))")
                case .failure(let error):
                    if let reference {
                        // Refused on purpose: the decoder lets a later key win, a lone surrogate, a
                        // trailing comma, or a NUL byte (as if the text ended there) through, and
                        // never reads the value of a key given twice (a broken escape there passes).
                        let onPurpose = ["appears twice", "surrogate", "trailing comma", "byte 0x00", "is not an escape"]
                            .contains { error.reason.contains($0) }
                        #expect(onPurpose, "\(String(decoding: mutated, as: UTF8.self)) is \(reference) to the decoder, refused: \(error.reason)")
                    } else {
                        refusedBoth += 1
                    }
                }
            }
        }
        // The mutations reach both sides of the grammar.
        #expect(accepted > 500)
        #expect(refusedBoth > 2_000)
    }
}

/// Random JSON documents, rendered with random white space and escapes, and mutations.
private struct Generator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func document(depth: Int) -> JSONValue {
        switch below(depth > 3 ? 6 : 8) {
        case 0: return .null
        case 1: return .bool(below(2) == 0)
        case 2: return .int(Int64(bitPattern: next()) >> UInt64(below(64)))
        case 3: return .double([0.5, -2.25, 1e-7, 3.141592653589793, 6.02e23, -1.5e300][below(6)])
        case 4, 5: return .string(string())
        case 6: return .array((0..<below(5)).map { _ in document(depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<below(5) { members[string()] = document(depth: depth + 1) }  // keys drawn in order: deterministic
            return .object(members)
        }
    }

    mutating func string() -> String {
        let pieces = ["a", "Z", "0", " ", "é", "😀", "\"", "\\", "\n", "\t", "/", "\u{1}", "中", "key"]
        return (0..<below(6)).map { _ in pieces[below(pieces.count) ] }.joined()
    }

    mutating func space() -> String { ["", "", " ", "\n  ", "\t"][below(5)] }

    mutating func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return renderString(text)
        case .array(let items): return "[" + space() + items.map { render($0) }.joined(separator: space() + "," + space()) + space() + "]"
        case .object(let members):
            // Keys in order: a Dictionary's own order changes from process to process.
            return "{" + space() + members.sorted(by: { $0.key < $1.key }).map { renderString($0.key) + space() + ":" + space() + render($0.value) }
                .joined(separator: "," + space()) + space() + "}"
        default: return value.canonicalString
        }
    }

    /// A string literal, some characters written as `\u` escapes (pairs beyond the BMP).
    mutating func renderString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if below(3) == 0 || scalar.value < 0x20 || scalar == "\"" || scalar == "\\" {
                for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One to three byte edits: delete, insert or replace with a byte JSON cares about.
    mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        let interesting = Array(#"{}[],:"\\u0123456789.eE+-tfnrl x"#.utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xFF]
        for _ in 0...below(3) {
            let position = below(out.count + 1)
            switch below(3) {
            case 0 where position < out.count: out.remove(at: position)
            case 1: out.insert(interesting[below(interesting.count)], at: position)
            default: if position < out.count { out[position] = interesting[below(interesting.count)] }
            }
        }
        return out
    }
}
