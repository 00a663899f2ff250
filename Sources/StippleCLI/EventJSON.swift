import Discretion
import EventLog
import Foundation
import Treatment

/// The JSON lines the CLI prints for events.
enum EventJSON {
    /// Where an appended event landed: `{"position","stream","version","id"}`, plus
    /// `"alreadyStored":true` when the append returned an earlier one.
    static func appendedLine(_ event: AppendedEvent) -> [UInt8] {
        var object: [String: JSONValue] = [
            "position": .int(event.position), "stream": .string(event.stream),
            "version": .int(event.streamVersion), "id": .string(event.id.uuidString.lowercased()),
        ]
        if event.wasAlreadyStored { object["alreadyStored"] = .bool(true) }
        return JSONValue.object(object).canonicalBytes
    }

    /// Prints every appended event, one line each.
    static func printAppended(_ events: [AppendedEvent]) {
        for event in events { Output.line(appendedLine(event)) }
        Output.flush()
    }

    /// The event's line with its personal data opened with the client's key when `keys`
    /// can (an erased client's shows `"personalErased": true` and nothing personal).
    static func revealedLine(_ event: RecordedEvent, keys: ClientKeys?) async throws -> [UInt8] {
        guard let keys, StreamCategory(stream: event.stream) == .client,
              let schema = EventCatalogue.schema(type: event.type, version: event.schemaVersion),
              let message = try? PayloadCodec.message(fromBinary: event.payload, schema: schema)
        else { return line(event) }
        let client = String(event.stream.dropFirst(StreamCategory.client.prefix.count))
        var shown = event
        let opened: PersonalData.Opened
        do {
            opened = try await PersonalData.open(message, type: event.type, client: client, keys: keys)
        } catch let error as DiscretionError {
            // One value that does not open does not hide the rest of the record.
            return line(event, extra: ["personalUnreadable": .string(error.description)])
        }
        switch opened {
        case .readable(let opened):
            shown.payload = try opened.serializedBytes()
            return line(shown)
        case .erased(let stripped):
            shown.payload = try stripped.serializedBytes()
            return line(shown, extra: ["personalErased": .bool(true)])
        }
    }

    /// `2026-11-25T14:03:00Z` of seconds since 1970.
    static func iso8601Seconds(_ seconds: Int64) -> String {
        String(Timestamp.iso8601(micros: seconds * 1_000_000).prefix(19)) + "Z"
    }

    static func line(_ event: RecordedEvent, extra: [String: JSONValue] = [:]) -> [UInt8] {
        var object: [String: JSONValue] = [
            "position": .int(event.position),
            "stream": .string(event.stream),
            "version": .int(event.streamVersion),
            "type": .string(event.type),
            "schemaVersion": .int(Int64(event.schemaVersion)),
            "id": .string(event.id.uuidString.lowercased()),
            "recordedAt": .string(Timestamp.iso8601(micros: event.recordedAtMicros)),
        ]
        if let metadata = event.metadataJSON, let value = try? JSONValue.parse(metadata) {
            object["metadata"] = value
        } else {
            object["metadata"] = .object([:])
        }
        if let schema = EventCatalogue.schema(type: event.type, version: event.schemaVersion),
           let json = try? PayloadCodec.json(fromBinary: event.payload, schema: schema),
           let data = try? JSONValue.parse(json) {
            // A known type: its message, in protobuf's JSON mapping, as stored (not upcast).
            object["data"] = data
        } else if let data = try? JSONValue.parse(event.payload) {
            object["data"] = data
        } else {
            // Not JSON (a binary payload written through the library): shown as base64.
            object["dataBase64"] = .string(Data(event.payload).base64EncodedString())
        }
        for (key, value) in extra { object[key] = value }
        return JSONValue.object(object).canonicalBytes
    }
}

/// UTC timestamps with microseconds, e.g. `2026-11-25T14:13:40.123456Z`.
enum Timestamp {
    static func iso8601(micros: Int64) -> String {
        var seconds = time_t(micros / 1_000_000)
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(fraction), 6))Z"
    }
}
