import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

/// Turns the JSON lines of `stipple do` into decisions for one transaction.
///
/// A line is `{"command": …, "data": {…}, "metadata"?: {…}}` plus the command's key:
/// - `session` and `touch-up` (`"client"`), `amend` (`"client"`): decided against the
///   client's, technician's and lots' streams;
/// - `recall` (`"lot"`), `renew` (`"technician"`);
/// - `record` (`"stream"`, `"type"`, `"expectedVersion"?`): an event no rule across
///   streams guards (a registration, a consent, a receipt, a grant …).
enum CommandInput {
    struct Command {
        var line: Int
        var decision: Recorder.Decision
        /// The stream the line is about (its `client`, `lot`, `technician` or `stream`), whose
        /// access is checked before the decision runs.
        var target: String?
    }

    /// A refusal, with the input line that was refused.
    struct LineRefusal: Error {
        var line: Int
        var refusal: Refusal
    }

    static let commands = ["session", "touch-up", "recall", "renew", "amend", "record"]

    static func parse(_ text: [UInt8]) throws(Failure) -> [Command] {
        var commands: [Command] = []
        var lineNumber = 0
        for line in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let decision = try command(from: Array(line), line: lineNumber)
            let number = lineNumber
            commands.append(Command(line: number, decision: { reader in
                do {
                    return try decision(reader)
                } catch let refusal as Refusal {
                    throw LineRefusal(line: number, refusal: refusal)
                }
            }, target: target(of: Array(line))))
        }
        if commands.isEmpty { throw Failure.badInput("no commands in the input: give one JSON object per line") }
        return commands
    }

    /// The stream a line names, if it names one.
    static func target(of bytes: [UInt8]) -> String? {
        guard case .object(let object)? = try? JSONValue.parse(bytes) else { return nil }
        if let client = object["client"]?.stringValue { return Recorder.Streams.client(client) }
        if let lot = object["lot"]?.stringValue { return Recorder.Streams.batch(lot) }
        if let technician = object["technician"]?.stringValue { return Recorder.Streams.technician(technician) }
        return object["stream"]?.stringValue
    }

    static func command(from bytes: [UInt8], line: Int) throws(Failure) -> Recorder.Decision {
        func fail(_ field: String?, _ reason: String) -> Failure {
            Failure.badInput("line \(line): " + (field.map { "field \"\($0)\" " } ?? "") + reason)
        }
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch { throw fail(nil, error.description) }
        guard case .object(let object) = value else { throw fail(nil, "must be a JSON object, not \(value.kindName)") }
        guard let command = object["command"]?.stringValue else {
            throw fail("command", "is missing (one of: \(commands.joined(separator: ", ")))")
        }
        func text(_ key: String) throws(Failure) -> String {
            guard let value = object[key]?.stringValue, !value.isEmpty else { throw fail(key, "is missing (a non-empty string)") }
            return value
        }
        var metadata = EventMetadata()
        if let raw = object["metadata"] {
            do { metadata = try EventMetadata(json: raw) } catch { throw fail("metadata", error.description) }
            if metadata.extra["flags"] != nil { throw fail("metadata", "key \"flags\" is set by the rules, not by the caller") }
            // Free keys would be text outside the sealing of personal data: only the known ones.
            if let key = metadata.extra.keys.sorted().first {
                throw fail("metadata", "key \"\(key)\" is not known (known: actor, clinic, correlationId, causationId; the actor is the token's user)")
            }
        }
        func message<M: SwiftProtobuf.Message>(_ type: String, as: M.Type) throws(Failure) -> M {
            guard let data = object["data"], case .object = data else { throw fail("data", "must be a JSON object") }
            do {
                let schema = try EventCatalogue.resolve(type: type, version: nil)
                guard let message = try PayloadCodec.message(fromJSON: data.canonicalBytes, schema: schema) as? M else {
                    throw fail("data", "is not a \(type)")
                }
                return message
            } catch let error as CatalogueError {
                throw fail("data", error.description)
            } catch let error as Failure {
                throw error
            } catch {
                throw fail("data", "\(error)")
            }
        }
        switch command {
        case "session":
            return Recorder.session(client: try text("client"), try message("SessionRecorded", as: Stipple_V1_SessionRecordedV2.self), metadata: metadata)
        case "touch-up":
            return Recorder.touchUp(client: try text("client"), try message("TouchUpRecorded", as: Stipple_V1_TouchUpRecorded.self), metadata: metadata)
        case "amend":
            return Recorder.amendment(client: try text("client"), try message("RecordAmended", as: Stipple_V1_RecordAmended.self), metadata: metadata)
        case "recall":
            return Recorder.recall(lot: try text("lot"), try message("BatchRecalled", as: Stipple_V1_BatchRecalled.self), metadata: metadata)
        case "renew":
            return Recorder.renewal(
                technician: try text("technician"), try message("CertificationRenewed", as: Stipple_V1_CertificationRenewed.self), metadata: metadata)
        case "record":
            // The log's own line format, minus the types that only their command may record.
            let event = try AppendInput.event(from: bytes.filterCommandKey(), line: line)
            if Recorder.guardedTypes.contains(event.type) {
                throw fail("type", "\(event.type) is recorded with its own command (session, touch-up, recall, renew, amend), which checks its rules")
            }
            do {
                return try Recorder.checked(event)
            } catch let refusal as Refusal {
                let number = line
                return { _ in throw LineRefusal(line: number, refusal: refusal) }
            } catch {
                throw fail("data", "\(error)")
            }
        default:
            throw fail("command", "\"\(command)\" is not known (one of: \(commands.joined(separator: ", ")))")
        }
    }
}

private extension Array where Element == UInt8 {
    /// The line without its "command" key, so that `record` lines parse as `append` lines.
    func filterCommandKey() -> [UInt8] {
        guard case .object(var object)? = try? JSONValue.parse(self) else { return self }
        object.removeValue(forKey: "command")
        return JSONValue.object(object).canonicalBytes
    }
}
