import EventLog
import Foundation
import Treatment

/// What every event must look like before it is recorded, on every write path: ids of one
/// safe shape, and text free of control characters.
///
/// Ids (the part of a stream name after its prefix, and every `…Id`, `lot` and `lots`
/// field) are 1 to 64 ASCII letters, digits, `-`, `_` and `.`, starting with a letter or a
/// digit; a lot's id may add `~` and its manufacturer's slug (``LotIdentity``). ASCII on purpose: Swift compares strings by canonical equivalence and SQLite by
/// bytes, so `é` written two ways would be one client in a report and two streams in the
/// log; a combining mark after `client-` would hide a client's stream from every check
/// that reads its prefix; a newline or a path (`../x`) in an id would forge rows of text
/// output or paths. Names and other free text stay Unicode, without control characters
/// (tab and newline allowed), so no text can drive a reader's terminal.
enum InputHygiene {
    static let maximumIDLength = 64

    /// Why `id` cannot be an id, or `nil` when it can.
    static func idProblem(_ id: String) -> String? {
        let bytes = Array(id.utf8)
        guard (1...maximumIDLength).contains(bytes.count) else { return "must be 1 to \(maximumIDLength) characters" }
        func isAlphanumeric(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        guard isAlphanumeric(bytes[0]) else { return "must start with a letter or a digit" }
        guard bytes.allSatisfy({ isAlphanumeric($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }) else {
            return "may hold only ASCII letters, digits, '-', '_' and '.'"
        }
        return nil
    }

    /// Why `id` cannot be a lot's id (see ``LotIdentity``), or `nil` when it can: an id (the
    /// lot number), then optionally `~` and its manufacturer's slug (lower-case ASCII
    /// letters, digits and `-`, at most ``LotIdentity/maximumSlugLength``).
    static func lotIDProblem(_ id: String) -> String? {
        guard let separator = id.firstIndex(of: LotIdentity.separator) else { return idProblem(id) }
        if let problem = idProblem(String(id[..<separator])) { return problem }
        let slug = Array(id[id.index(after: separator)...].utf8)
        let slugByte: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D }
        guard (1...LotIdentity.maximumSlugLength).contains(slug.count), slug.allSatisfy(slugByte) else {
            return "must be a lot number, or a lot number, \"~\" and its manufacturer in at most \(LotIdentity.maximumSlugLength) lower-case letters, digits and '-'"
        }
        return nil
    }

    /// Why `text` cannot be stored, or `nil`: a control character other than tab and
    /// newline, or a bidirectional embedding, override or isolate (which makes a report
    /// read other than it is written, e.g. a name shown backwards).
    static func textProblem(_ text: String) -> String? {
        var previous: Unicode.Scalar?
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let code = "U+" + String(value, radix: 16, uppercase: true).leftPadded(4)
            if (value < 0x20 && value != 0x09 && value != 0x0A) || (0x7F...0x9F).contains(value) {
                return "holds a control character (\(code))"
            }
            if isBidiControl(scalar) { return "holds a bidirectional control character (\(code))" }
            // A combining mark on markup's own punctuation makes one character of the two, which
            // an escaper working by characters (the pages' templates) lets through unescaped.
            if let previous, "\"'<>&`=".unicodeScalars.contains(previous), scalar.properties.generalCategory.isCombiningMark {
                return "holds a combining mark (\(code)) on \"\(Character(previous))\""
            }
            previous = scalar
        }
        return nil
    }

    /// U+202A–U+202E and U+2066–U+2069: embeddings, overrides and isolates.
    static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// Checks the id in a stream name.
    static func check(stream: String) throws(ServiceError) {
        if let category = StreamCategory(stream: stream), let id = category.id(in: stream),
           let problem = category == .batch ? lotIDProblem(id) : idProblem(id) {
            throw ServiceError.badInput("field \"stream\": \"\(printable(id))\" cannot be an id: it \(problem)")
        }
    }

    /// Checks a stream's id and the ids of metadata.
    static func check(stream: String, metadata: EventMetadata) throws(ServiceError) {
        try check(stream: stream)
        for (key, value) in [("correlationId", metadata.correlationId), ("causationId", metadata.causationId), ("clinic", metadata.clinic)] {
            if let value, let problem = idProblem(value) {
                throw ServiceError.badInput("field \"metadata\" key \"\(key)\": \"\(printable(value))\" cannot be an id: it \(problem)")
            }
        }
    }

    /// Checks an event's stream id, the ids and the text of its data, and its metadata.
    /// The line parsers check what they read as they read it; this is for events built
    /// otherwise (the command line's flags), from the stored encoding.
    ///
    /// - Throws: ``ServiceError`` (`badInput`) naming the field.
    static func check(_ event: NewEvent) throws(ServiceError) {
        try check(stream: event.stream, metadata: event.metadata)
        guard let schema = EventCatalogue.schema(type: event.type, version: event.schemaVersion),
              let json = try? PayloadCodec.json(fromBinary: event.payload, schema: schema),
              let data = try? JSONValue.parse(json)
        else { return }
        try check(data, path: "data")
    }

    /// Walks the data: ids where the field names one, plain text everywhere.
    static func check(_ value: JSONValue, path: String, key: String = "") throws(ServiceError) {
        switch value {
        case .object(let members):
            for (name, member) in members.sorted(by: { $0.key < $1.key }) { try check(member, path: path + "." + name, key: name) }
        case .array(let items):
            for (index, item) in items.enumerated() { try check(item, path: "\(path)[\(index)]", key: key == "lots" ? "lot" : key) }
        case .string(let text):
            // A lot (a use's, a reaction's) may be named by its id (LotIdentity).
            let isLot = key == "lot" || key == "batchId"
            let isID = isLot || key.hasSuffix("Id")
            if isID, !text.isEmpty, let problem = isLot ? lotIDProblem(text) : idProblem(text) {
                throw ServiceError.badInput("field \"\(path)\": \"\(printable(text))\" cannot be an id: it \(problem)")
            }
            if let problem = textProblem(text) { throw ServiceError.badInput("field \"\(path)\" \(problem)") }
        default:
            break
        }
    }

    /// `text` with control characters shown as `\u{…}`, for an error message.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar -> String in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .nonspacingMark
                ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }.joined().prefix(80))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

extension Unicode.GeneralCategory {
    /// Nonspacing, spacing and enclosing marks.
    var isCombiningMark: Bool { self == .nonspacingMark || self == .spacingMark || self == .enclosingMark }
}
