import EventLog
import Foundation
import Reports
import Treatment

/// A stored event as a reader is shown it.
public struct ShownEvent: Sendable {
    /// The event; for a client event, its payload with the personal data opened when it could be.
    public var event: RecordedEvent
    public var personal: Personal

    /// What became of the event's personal data.
    public enum Personal: Sendable, Hashable {
        /// As stored: not a client event, an unknown type, or no master key to open it with.
        case asStored
        /// Opened with the client's key (or there was nothing sealed).
        case opened
        /// The client was erased: the payload holds nothing personal.
        case erased
        /// A sealed value did not open (altered, or another client's); the rest is shown.
        case unreadable(String)
    }

    /// The event's JSON line, as `stipple read` prints it and the API returns it:
    /// `{"position","stream","version","type","schemaVersion","id","recordedAt","metadata","data"}`,
    /// plus `"personalErased":true` or `"personalUnreadable":"…"`.
    public var json: JSONValue {
        switch personal {
        case .asStored, .opened: return EventJSON.object(event)
        case .erased: return EventJSON.object(event, extra: ["personalErased": .bool(true)])
        case .unreadable(let reason): return EventJSON.object(event, extra: ["personalUnreadable": .string(reason)])
        }
    }
}

/// The JSON the front ends print and return for events.
public enum EventJSON {
    /// Where an appended event landed: `{"position","stream","version","id"}`, plus
    /// `"alreadyStored":true` when the append returned an earlier one.
    public static func appended(_ event: AppendedEvent) -> JSONValue {
        var object: [String: JSONValue] = [
            "position": .int(event.position), "stream": .string(event.stream),
            "version": .int(event.streamVersion), "id": .string(event.id.uuidString.lowercased()),
        ]
        if event.wasAlreadyStored { object["alreadyStored"] = .bool(true) }
        return .object(object)
    }

    /// A stored event, as stored (its data not upcast), with `extra` keys.
    public static func object(_ event: RecordedEvent, extra: [String: JSONValue] = [:]) -> JSONValue {
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
        return .object(object)
    }
}

/// UTC timestamps as Stipple prints them.
public enum Timestamp {
    /// `2026-11-25T14:13:40.123456Z` of microseconds since 1970.
    public static func iso8601(micros: Int64) -> String {
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

    /// `2026-11-25T14:03:00Z` of seconds since 1970.
    public static func iso8601(seconds: Int64) -> String {
        String(iso8601(micros: seconds * 1_000_000).prefix(19)) + "Z"
    }
}

extension ClinicReports.Report {
    /// The report as one JSON object, as `--json` prints it and the API returns it:
    /// `{"sections":[{"title","rows":[{column: value}],"notes"}],"notice"?}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "sections": .array(sections.map { section in
                .object(["title": .string(section.title), "rows": .array(section.jsonRows), "notes": .array(section.notes.map { .string($0) })])
            }),
        ]
        if let notice { object["notice"] = .string(notice) }
        return .object(object)
    }
}
