import EventLog
import Foundation
import Treatment

/// Events to import, as ``ImportLines`` parsed them, with the input line of each.
public struct ImportBatch: Sendable {
    public var events: [NewEvent] = []
    public var lines: [Int] = []
    /// Set by the parsers, which check ids and text as they read (``InputHygiene``).
    var inputChecked = false

    public init(events: [NewEvent] = [], lines: [Int] = []) {
        self.events = events
        self.lines = lines
    }

    /// The input line of the event an append error is about.
    func line(of error: EventLogError, streamStart: Int64?) -> Int? {
        switch error {
        case .eventIdReused(let id, _, _), .invalidEvent(let id, _, _), .tooLarge(let id, _, _, _):
            return events.firstIndex { $0.id == id }.map { lines[$0] }
        case .versionConflict(let stream, _, let actual):
            return conflictLine(stream: stream, start: streamStart ?? actual, actual: actual)
        default:
            return nil
        }
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

/// The `append` format: one JSON object per line,
/// `{"stream","type","schemaVersion"?,"id"?,"expectedVersion"?: N|"any"|"none","data":{…},"metadata"?:{…}}`,
/// with errors that name the line and the field. Blank lines are skipped.
///
/// The type must be one of the event catalogue's, on a stream of its kind (`client-…`,
/// `batch-…`, …); `data` is the type's message in protobuf's JSON mapping and is stored
/// as its binary encoding (schema version: the newest unless given). Rules across
/// streams are not checked here: this is the log's import path; commands check them.
public enum ImportLines {
    static let fields: Set<String> = ["stream", "type", "schemaVersion", "id", "expectedVersion", "data", "metadata"]

    /// Parses every line; throws on the first bad one.
    ///
    /// - Parameter newID: the id of an event whose line gives none.
    /// - Throws: ``ServiceError`` (`badInput`) naming the line and the field.
    public static func parse(_ text: [UInt8], newID: () -> UUID = { UUID.v7() }) throws(ServiceError) -> ImportBatch {
        var batch = ImportBatch()
        for (number, line) in JSONLines.lines(text) {
            batch.events.append(try event(from: try JSONLines.object(line, line: number), line: number, newID: newID))
            batch.lines.append(number)
        }
        batch.inputChecked = true
        if batch.events.isEmpty {
            throw ServiceError.badInput("no events in the input: give one JSON object per line")
        }
        return batch
    }

    /// The events of objects already parsed (an API request's items: item N is line N).
    public static func parse(objects: [JSONValue], newID: () -> UUID = { UUID.v7() }) throws(ServiceError) -> ImportBatch {
        var batch = ImportBatch()
        for (index, item) in objects.enumerated() {
            guard case .object(let object) = item else {
                throw JSONLines.failure(line: index + 1)(nil, "must be a JSON object, not \(item.kindName)")
            }
            batch.events.append(try event(from: object, line: index + 1, newID: newID))
            batch.lines.append(index + 1)
        }
        if batch.events.isEmpty { throw ServiceError.badInput("no events: give at least one object") }
        batch.inputChecked = true
        return batch
    }

    /// One line's event, its ids and text checked (``InputHygiene``).
    static func event(from object: [String: JSONValue], line: Int, newID: () -> UUID) throws(ServiceError) -> NewEvent {
        let fail = JSONLines.failure(line: line)
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
        var id: UUID?
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
        let metadata = try JSONLines.metadata(object["metadata"], line: line)
        do {
            try InputHygiene.check(stream: stream, metadata: metadata)
            try InputHygiene.check(data, path: "data")
        } catch {
            throw error.at(line: line, nothingWritten: "Nothing was recorded.")
        }
        return NewEvent(
            id: id ?? newID(), stream: stream, type: type, schemaVersion: schema.version, expectedVersion: expected,
            metadata: metadata, payload: payload)
    }
}

/// What the two line formats share: splitting, parsing one object, and errors that name
/// the line and the field.
enum JSONLines {
    /// The non-blank lines of `text`, with their numbers (from 1).
    static func lines(_ text: [UInt8]) -> [(Int, [UInt8])] {
        var lines: [(Int, [UInt8])] = []
        var number = 0
        for line in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            lines.append((number, Array(line)))
        }
        return lines
    }

    /// How a line's error is worded: `line N: field "F" reason`.
    static func failure(line: Int) -> (String?, String) -> ServiceError {
        { field, reason in
            ServiceError.badInput("line \(line): " + (field.map { "field \"\($0)\" " } ?? "") + reason, line: line)
        }
    }

    /// The line's metadata: the known keys only. Free keys would be text outside the
    /// sealing of personal data; the actor and role are the session's user's.
    static func metadata(_ raw: JSONValue?, line: Int) throws(ServiceError) -> EventMetadata {
        let fail = failure(line: line)
        guard let raw else { return EventMetadata() }
        let metadata: EventMetadata
        do { metadata = try EventMetadata(json: raw) } catch { throw fail("metadata", error.description) }
        if metadata.extra["flags"] != nil { throw fail("metadata", "key \"flags\" is set by the rules, not by the caller") }
        if let key = metadata.extra.keys.sorted().first {
            throw fail("metadata", "key \"\(key)\" is not known (known: actor, clinic, correlationId, causationId; the actor is the token's user)")
        }
        return metadata
    }

    /// The line's JSON object.
    static func object(_ bytes: [UInt8], line: Int) throws(ServiceError) -> [String: JSONValue] {
        let fail = failure(line: line)
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw fail(nil, error.description)
        }
        guard case .object(let object) = value else { throw fail(nil, "must be a JSON object, not \(value.kindName)") }
        return object
    }
}
