import EventLog
import Foundation
import Treatment

/// Turns the JSON lines of `stipple append` into events, with errors that name the line
/// and the field.
///
/// A line is `{"stream","type","schemaVersion"?,"id"?,"expectedVersion"?: N|"any"|"none",
/// "data":{…},"metadata"?:{…}}`. Blank lines are skipped. The type must be one of the
/// event catalogue's, on a stream of its kind (`client-…`, `batch-…`, …); `data` is the
/// type's message in protobuf's JSON mapping and is stored as its binary encoding
/// (schema version: the newest unless given). Rules across streams are not checked here:
/// this is the log's import path; clinicians' commands check them.
struct AppendInput {
    /// The events, and the input line each came from.
    var events: [NewEvent] = []
    var lines: [Int] = []

    static let fields: Set<String> = ["stream", "type", "schemaVersion", "id", "expectedVersion", "data", "metadata"]

    /// Parses every line; throws on the first bad one.
    static func parse(_ text: [UInt8]) throws(Failure) -> AppendInput {
        var input = AppendInput()
        var lineNumber = 0
        for line in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            input.events.append(try event(from: Array(line), line: lineNumber))
            input.lines.append(lineNumber)
        }
        if input.events.isEmpty {
            throw Failure.badInput("no events in the input: give one JSON object per line")
        }
        return input
    }

    static func event(from bytes: [UInt8], line: Int) throws(Failure) -> NewEvent {
        func fail(_ field: String?, _ reason: String) -> Failure {
            Failure.badInput("line \(line): " + (field.map { "field \"\($0)\" " } ?? "") + reason)
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw fail(nil, error.description)
        }
        guard case .object(let object) = value else {
            throw fail(nil, "must be a JSON object, not \(value.kindName)")
        }
        if let unknown = object.keys.filter({ !fields.contains($0) }).sorted().first {
            throw fail(unknown, "is not known (expected: \(fields.sorted().joined(separator: ", ")))")
        }
        guard let streamValue = object["stream"] else { throw fail("stream", "is missing") }
        guard case .string(let stream) = streamValue, !stream.isEmpty else {
            throw fail("stream", "must be a non-empty string")
        }
        guard let typeValue = object["type"] else { throw fail("type", "is missing") }
        guard case .string(let type) = typeValue, !type.isEmpty else {
            throw fail("type", "must be a non-empty string")
        }
        var requestedVersion: Int32?
        if let value = object["schemaVersion"] {
            guard case .int(let number) = value, number >= 1, number <= Int64(Int32.max) else {
                throw fail("schemaVersion", "must be a whole number of 1 or more")
            }
            requestedVersion = Int32(number)
        }
        let schema: EventSchema
        do {
            schema = try EventCatalogue.resolve(type: type, version: requestedVersion)
        } catch {
            if case .unknownVersion = error { throw fail("schemaVersion", error.description) }
            throw fail("type", error.description)
        }
        guard StreamCategory(stream: stream) == schema.category else {
            throw fail("stream", "a \(type) event goes to a \(schema.category.prefix)… stream, not \"\(stream)\"")
        }
        var id = UUID.v7()
        if let value = object["id"] {
            guard case .string(let text) = value, let parsed = UUID(uuidString: text) else {
                throw fail("id", "must be a UUID such as \"0192f0c4-8a6e-7cc1-9d2a-3f5e8b1c2d4e\"")
            }
            id = parsed
        }
        var expected = ExpectedVersion.any
        switch object["expectedVersion"] {
        case nil, .string("any")?: expected = .any
        case .string("none")?: expected = .noStream
        case .int(let number)? where number >= 0: expected = .exactly(number)
        case let other?:
            throw fail("expectedVersion", "must be a version number (0 or more), \"any\" or \"none\", not \(other.canonicalString)")
        }
        guard let data = object["data"] else { throw fail("data", "is missing") }
        guard case .object = data else { throw fail("data", "must be a JSON object, not \(data.kindName)") }
        let payload: [UInt8]
        do {
            payload = try PayloadCodec.binary(fromJSON: data.canonicalBytes, schema: schema)
        } catch {
            throw fail("data", error.description)
        }
        var metadata = EventMetadata()
        if let value = object["metadata"] {
            do {
                metadata = try EventMetadata(json: value)
            } catch {
                throw fail("metadata", error.description)
            }
        }
        return NewEvent(
            id: id, stream: stream, type: type, schemaVersion: schema.version, expectedVersion: expected,
            metadata: metadata, payload: payload)
    }

    /// The input line of the event with `id`, for error messages.
    func line(of id: UUID) -> Int? {
        events.firstIndex { $0.id == id }.map { lines[$0] }
    }

    /// The input line refused with a version conflict on `stream`, which was at version
    /// `start` before the batch (the refused batch left it there): its k-th line saw
    /// version `start + k`, so the refused one is line `actual - start`.
    func conflictLine(stream: String, start: Int64, actual: Int64) -> Int? {
        let indices = events.indices.filter { events[$0].stream.utf8.elementsEqual(stream.utf8) }
        let k = Int(actual - start)
        guard k >= 0, k < indices.count else { return indices.first.map { lines[$0] } }
        return lines[indices[k]]
    }
}
