import Foundation

/// A JSON document as a value, with one canonical byte form.
///
/// The canonical form has object keys sorted (by Unicode scalar values), no
/// insignificant white space, integers without a fraction and other numbers in
/// Swift's shortest round-trip form. The same value always gives the same bytes, in
/// every process: Foundation's key order is not stable across processes on Linux,
/// and a hash chain cannot live with that.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value's object members, or `nil` when it is not an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The value's items, or `nil` when it is not an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The value's string, or `nil` when it is not a string.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// A short name of the value's JSON kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            self = .int(int)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue {
    /// Parses one JSON document.
    ///
    /// - Throws: ``JSONValue/ParseError`` naming what is wrong with the text.
    /// Refuses text that is not UTF-8, and objects that give a key twice (parsers differ
    /// on which one wins, so the input would mean different things to different readers).
    public static func parse(_ bytes: some Collection<UInt8>) throws(ParseError) -> JSONValue {
        let bytes = Array(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw ParseError(reason: "the text starts with a byte order mark (U+FEFF): save it as UTF-8 without one")
        }
        try checkUTF8(bytes)
        try checkUniqueKeys(bytes)
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch let DecodingError.dataCorrupted(context) {
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            throw ParseError(reason: detail ?? context.debugDescription)
        } catch {
            throw ParseError(reason: String(describing: error))
        }
    }

    /// Refuses bytes that are not UTF-8, naming the offset.
    static func checkUTF8(_ bytes: [UInt8]) throws(ParseError) {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return
            case .error: throw ParseError(reason: "the text is not valid UTF-8 (at byte \(offset + 1))")
            }
        }
    }

    /// Refuses an object that gives a key twice. A scan of the tokens with a stack of the
    /// keys seen per open object (no recursion: deep nesting is the decoder's to refuse);
    /// keys are compared after their escapes are decoded, as a parser would see them.
    static func checkUniqueKeys(_ bytes: [UInt8]) throws(ParseError) {
        var keys: [Set<[UInt8]>?] = []  // one entry per open container; nil for an array
        var expectingKey = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                keys.append([])
                expectingKey = true
            case UInt8(ascii: "["):
                keys.append(nil)
                expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !keys.isEmpty { keys.removeLast() }
                expectingKey = false
            case UInt8(ascii: ","):
                expectingKey = keys.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                var decoded: [UInt8] = []
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                        index += 1
                        switch bytes[index] {
                        case UInt8(ascii: "u") where index + 4 < bytes.count:
                            let hex = String(decoding: bytes[(index + 1)...(index + 4)], as: UTF8.self)
                            guard let value = UInt32(hex, radix: 16) else { throw ParseError(reason: "\\u\(hex) is not an escape (four hex digits)") }
                            index += 4
                            if let scalar = Unicode.Scalar(value) {
                                decoded += Array(String(Character(scalar)).utf8)
                            } else if (0xD800...0xDBFF).contains(value), index + 6 < bytes.count, bytes[index + 1] == UInt8(ascii: "\\"),
                                      bytes[index + 2] == UInt8(ascii: "u"),
                                      let low = UInt32(String(decoding: bytes[(index + 3)...(index + 6)], as: UTF8.self), radix: 16),
                                      (0xDC00...0xDFFF).contains(low),
                                      let scalar = Unicode.Scalar(0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)) {
                                decoded += Array(String(Character(scalar)).utf8)
                                index += 6
                            } else {
                                throw ParseError(reason: "\\u\(hex) is half of a surrogate pair with no other half: it is no character")
                            }
                        case UInt8(ascii: "n"): decoded.append(0x0A)
                        case UInt8(ascii: "t"): decoded.append(0x09)
                        case UInt8(ascii: "r"): decoded.append(0x0D)
                        case UInt8(ascii: "b"): decoded.append(0x08)
                        case UInt8(ascii: "f"): decoded.append(0x0C)
                        default: decoded.append(bytes[index])
                        }
                    } else {
                        decoded.append(bytes[index])
                    }
                    index += 1
                }
                if expectingKey, let last = keys.indices.last, keys[last] != nil {
                    if !keys[last]!.insert(decoded).inserted {
                        throw ParseError(reason: "key \"\(String(decoding: decoded, as: UTF8.self))\" appears twice in one object")
                    }
                    expectingKey = false
                }
            default:
                break
            }
            index += 1
        }
    }

    /// Parses one JSON document from a string.
    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Text that is not one valid JSON document.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// What the parser found wrong.
        public var reason: String
        public var description: String { "not valid JSON: \(reason)" }
    }
}

extension JSONValue {
    /// The canonical bytes of the value (see the type's documentation).
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    /// The canonical form as a string.
    public var canonicalString: String {
        String(decoding: canonicalBytes, as: UTF8.self)
    }

    /// Appends the canonical bytes of the value to `out`.
    public func write(to out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let value):
            out.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value):
            out.append(contentsOf: String(value).utf8)
        case .double(let value):
            if value.rounded() == value, abs(value) < 1e15 {
                out.append(contentsOf: String(Int64(value)).utf8)
            } else {
                out.append(contentsOf: value.description.utf8)
            }
        case .string(let value):
            JSONValue.writeString(value, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `string` as a JSON string literal, escaping only what JSON requires.
    public static func writeString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x08: out.append(contentsOf: "\\b".utf8)
            case 0x0C: out.append(contentsOf: "\\f".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
