import Foundation
import SwiftProtobuf

/// Turns event data between the JSON people type and read (protobuf's JSON mapping) and
/// the binary Protocol Buffers bytes the log stores.
public enum PayloadCodec {
    /// Parses `json` as `schema`'s message and returns its binary encoding.
    ///
    /// Unknown fields are refused (a typo must not be silently dropped).
    /// - Throws: ``CatalogueError/invalidJSON(type:reason:)`` naming the problem.
    public static func binary(fromJSON json: [UInt8], schema: EventSchema) throws(CatalogueError) -> [UInt8] {
        do {
            let message = try decodeJSON(schema.message, json)
            return try message.serializedBytes()
        } catch {
            throw .invalidJSON(type: schema.type, reason: describe(error))
        }
    }

    /// Decodes stored bytes as `schema`'s message and writes its JSON (field names in
    /// lowerCamelCase, as protobuf's JSON mapping has them).
    /// - Throws: ``CatalogueError/invalidPayload(type:version:reason:)``.
    public static func json(fromBinary bytes: [UInt8], schema: EventSchema) throws(CatalogueError) -> [UInt8] {
        do {
            let message = try decodeBinary(schema.message, bytes)
            return try message.jsonUTF8Bytes()
        } catch {
            throw .invalidPayload(type: schema.type, version: schema.version, reason: describe(error))
        }
    }

    /// Parses `json` (protobuf's JSON mapping) into `schema`'s message.
    public static func message(fromJSON json: [UInt8], schema: EventSchema) throws(CatalogueError) -> any SwiftProtobuf.Message {
        do {
            return try decodeJSON(schema.message, json)
        } catch {
            throw .invalidJSON(type: schema.type, reason: describe(error))
        }
    }

    /// Decodes stored bytes into `schema`'s message.
    public static func message(fromBinary bytes: [UInt8], schema: EventSchema) throws(CatalogueError) -> any SwiftProtobuf.Message {
        do {
            return try decodeBinary(schema.message, bytes)
        } catch {
            throw .invalidPayload(type: schema.type, version: schema.version, reason: describe(error))
        }
    }

    private static func decodeJSON<M: SwiftProtobuf.Message>(_ type: M.Type, _ json: [UInt8]) throws -> M {
        try M(jsonUTF8Bytes: json)
    }

    private static func decodeBinary<M: SwiftProtobuf.Message>(_ type: M.Type, _ bytes: [UInt8]) throws -> M {
        try M(serializedBytes: bytes)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as JSONDecodingError:
            switch error {
            case .unknownField(let name): return "unknown field \"\(name)\""
            case .unrecognizedEnumValue: return "a value is not one of the field's enum values"
            case .malformedNumber: return "a number is malformed or out of range"
            case .malformedString: return "a string is malformed"
            case .malformedBool: return "a boolean is malformed"
            case .malformedDuration: return "a duration is malformed"
            case .malformedTimestamp: return "a timestamp is not RFC 3339 (e.g. 2026-03-14T10:00:00Z)"
            case .truncated: return "the JSON ends too early"
            default: return "\(error)"
            }
        default:
            return "\(error)"
        }
    }
}
