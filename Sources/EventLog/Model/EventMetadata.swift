import Foundation

/// Who recorded an event, where, and in answer to what.
///
/// Stored beside the payload as canonical JSON (readable with `json_extract` in the
/// `sqlite3` shell), and covered by the chain hash.
public struct EventMetadata: Sendable, Hashable {
    /// Who recorded the event (a user id or a technician id).
    public var actor: String?
    /// The clinic where it was recorded.
    public var clinic: String?
    /// The id shared by every event of one business operation.
    public var correlationId: String?
    /// The id of the event or command that caused this one.
    public var causationId: String?
    /// Any other keys.
    public var extra: [String: JSONValue]

    public init(
        actor: String? = nil, clinic: String? = nil, correlationId: String? = nil,
        causationId: String? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.actor = actor
        self.clinic = clinic
        self.correlationId = correlationId
        self.causationId = causationId
        self.extra = extra
    }

    /// `true` when no key is set; such metadata is stored as NULL.
    public var isEmpty: Bool {
        actor == nil && clinic == nil && correlationId == nil && causationId == nil && extra.isEmpty
    }

    private static let knownKeys = ["actor", "clinic", "correlationId", "causationId"]

    /// The metadata as one JSON object.
    public var jsonValue: JSONValue {
        var members = extra
        if let actor { members["actor"] = .string(actor) }
        if let clinic { members["clinic"] = .string(clinic) }
        if let correlationId { members["correlationId"] = .string(correlationId) }
        if let causationId { members["causationId"] = .string(causationId) }
        return .object(members)
    }

    /// Reads metadata from a JSON object; the known keys must be strings.
    ///
    /// - Throws: ``EventMetadata/InvalidMetadata`` naming the key that is wrong.
    public init(json: JSONValue) throws(InvalidMetadata) {
        guard case .object(var members) = json else {
            throw InvalidMetadata(key: nil, reason: "metadata must be a JSON object, not \(json.kindName)")
        }
        var known: [String: String] = [:]
        for key in Self.knownKeys {
            guard let value = members.removeValue(forKey: key) else { continue }
            guard case .string(let string) = value else {
                throw InvalidMetadata(key: key, reason: "must be a string, not \(value.kindName)")
            }
            known[key] = string
        }
        self.init(
            actor: known["actor"], clinic: known["clinic"], correlationId: known["correlationId"],
            causationId: known["causationId"], extra: members)
    }

    /// Stored form: canonical JSON bytes, or `nil` when empty.
    ///
    /// The same bytes as `jsonValue.canonicalBytes`, written directly on the append
    /// path (no intermediate dictionary) when there are no free keys.
    var storedBytes: [UInt8]? {
        if isEmpty { return nil }
        guard extra.isEmpty else { return jsonValue.canonicalBytes }
        var out: [UInt8] = []
        out.reserveCapacity(96)
        out.append(UInt8(ascii: "{"))
        // Sorted: actor < causationId < clinic < correlationId.
        for (key, value) in [("actor", actor), ("causationId", causationId), ("clinic", clinic), ("correlationId", correlationId)] {
            guard let value else { continue }
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONValue.writeString(value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Metadata that cannot be used, with the key and the reason.
    public struct InvalidMetadata: Error, Sendable, CustomStringConvertible {
        public var key: String?
        public var reason: String
        public var description: String {
            if let key { return "metadata key \"\(key)\" \(reason)" }
            return reason
        }
    }
}
