import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

/// The `do` format: one command per line, `{"command": …, "data": {…}, "metadata"?: {…}}`
/// plus the command's key:
/// - `session` and `touch-up` (`"client"`), `amend` (`"client"`): decided against the
///   client's, technician's and lots' streams;
/// - `recall` (`"lot"`), `renew` (`"technician"`);
/// - `record` (`"stream"`, `"type"`, `"expectedVersion"?`): an event no rule across
///   streams guards (a registration, a consent, a receipt, a grant …), in the `append`
///   format.
public enum CommandLines {
    static var names: String { Command.Name.allCases.map(\.rawValue).joined(separator: ", ") }

    /// Parses every line into a command; throws on the first bad one.
    ///
    /// - Throws: ``ServiceError`` (`badInput`) naming the line and the field.
    public static func parse(_ text: [UInt8], newID: () -> UUID = { UUID.v7() }) throws(ServiceError) -> [Command] {
        var commands: [Command] = []
        for (number, line) in JSONLines.lines(text) {
            commands.append(try command(from: try JSONLines.object(line, line: number), line: number, newID: newID))
        }
        if commands.isEmpty { throw ServiceError.badInput("no commands in the input: give one JSON object per line") }
        return commands
    }

    /// The commands of objects already parsed (the items of an API request's array: item
    /// N is "line" N in errors).
    public static func parse(objects: [JSONValue], newID: () -> UUID = { UUID.v7() }) throws(ServiceError) -> [Command] {
        var commands: [Command] = []
        for (index, item) in objects.enumerated() {
            guard case .object(let object) = item else {
                throw JSONLines.failure(line: index + 1)(nil, "must be a JSON object, not \(item.kindName)")
            }
            commands.append(try command(from: object, line: index + 1, newID: newID))
        }
        if commands.isEmpty { throw ServiceError.badInput("no commands: give at least one object") }
        return commands
    }

    static func command(from parsed: [String: JSONValue], line: Int, newID: () -> UUID) throws(ServiceError) -> Command {
        let fail = JSONLines.failure(line: line)
        var object = parsed
        guard let text = object["command"]?.stringValue else { throw fail("command", "is missing (one of: \(names))") }
        guard let name = Command.Name(rawValue: text) else { throw fail("command", "\"\(text)\" is not known (one of: \(names))") }
        func key(_ key: String) throws(ServiceError) -> String {
            guard let value = object[key]?.stringValue, !value.isEmpty else { throw fail(key, "is missing (a non-empty string)") }
            return value
        }
        let metadata = try JSONLines.metadata(object["metadata"], line: line)
        func message<M: SwiftProtobuf.Message>(_ type: String, as: M.Type) throws(ServiceError) -> M {
            guard let data = object["data"], case .object = data else { throw fail("data", "must be a JSON object") }
            do { try InputHygiene.check(data, path: "data") } catch { throw error.at(line: line, nothingWritten: "Nothing was recorded.") }
            do {
                let schema = try EventCatalogue.resolve(type: type, version: nil)
                guard let message = try PayloadCodec.message(fromJSON: data.canonicalBytes, schema: schema) as? M else {
                    throw fail("data", "is not a \(type)")
                }
                return message
            } catch let error as CatalogueError {
                throw fail("data", error.description)
            } catch let error as ServiceError {
                throw error
            } catch {
                throw fail("data", "\(error)")
            }
        }
        let action: Command.Action
        switch name {
        case .session: action = .session(client: try key("client"), try message("SessionRecorded", as: Stipple_V1_SessionRecordedV2.self))
        case .touchUp: action = .touchUp(client: try key("client"), try message("TouchUpRecorded", as: Stipple_V1_TouchUpRecorded.self))
        case .amend: action = .amend(client: try key("client"), try message("RecordAmended", as: Stipple_V1_RecordAmended.self))
        case .recall: action = .recall(lot: try key("lot"), try message("BatchRecalled", as: Stipple_V1_BatchRecalled.self))
        case .renew:
            action = .renew(technician: try key("technician"), try message("CertificationRenewed", as: Stipple_V1_CertificationRenewed.self))
        case .record:
            // The log's own line format, minus the types that only their command may record.
            object.removeValue(forKey: "command")
            let event = try ImportLines.event(from: object, line: line, newID: newID)
            if let reason = Command.guardedTypeError(event.type) { throw fail("type", reason) }
            var command = Command(.record(event), metadata: metadata, line: line)
            command.inputChecked = true
            return command
        }
        do { try InputHygiene.check(stream: Command(action).target, metadata: metadata) } catch {
            throw error.at(line: line, nothingWritten: "Nothing was recorded.")
        }
        var command = Command(action, metadata: metadata, id: newID(), line: line)
        command.inputChecked = true
        return command
    }
}
