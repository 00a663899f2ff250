import Foundation
import SwiftProtobuf

/// Typed corrections (``Stipple_V1_RecordAmended``): an amendment names the fields it
/// corrects (its field mask, in JSON names) and, for a session or a touch-up, carries
/// their corrected values as a partial message of the corrected event's own type. What is
/// corrected is the original merged with every typed amendment of it, in log order:
/// rules, reports and pages all fold it through ``corrected(_:by:)``.
///
/// Personal fields (`personal.notes`) are corrected in the amendment's sealed `personal`
/// JSON, shown beside the event; no report reads them.
public enum Amendments {
    /// Whether amendments of `type` carry typed values that reports fold.
    public static func isTyped(_ type: String) -> Bool { type == "SessionRecorded" || type == "TouchUpRecorded" }

    /// `message` (the corrected event, at its newest schema) with `amendment`'s typed values
    /// over the fields it names; `message` unchanged when the amendment carries none for its
    /// type (disputed, a note, or an amendment from before typed values).
    public static func corrected(_ message: any SwiftProtobuf.Message, by amendment: Stipple_V1_RecordAmended) -> any SwiftProtobuf.Message {
        guard !amendment.disputed, let mask = clearMask(amendment.fields) else { return message }
        switch (message, amendment.corrected) {
        case (var session as Stipple_V1_SessionRecordedV2, .session(let values)?):
            try? session.merge(from: values, fieldMask: mask, mergeOption: replacing)
            return session
        case (var touchUp as Stipple_V1_TouchUpRecorded, .touchUp(let values)?):
            try? touchUp.merge(from: values, fieldMask: mask, mergeOption: replacing)
            return touchUp
        default:
            return message
        }
    }

    /// A stream's messages (in order, newest schema) with every typed amendment folded into
    /// the earlier event it corrects; the amendments themselves are left as they are. What
    /// the rules, the reports and the pages read a client's record as.
    public static func folded(_ events: [(id: UUID, message: any SwiftProtobuf.Message)]) -> [any SwiftProtobuf.Message] {
        var messages = events.map(\.message)
        var index: [UUID: Int] = [:]
        for (position, event) in events.enumerated() {
            if let amendment = event.message as? Stipple_V1_RecordAmended, let target = UUID(uuidString: amendment.correctsEventID),
               let targetIndex = index[target] {
                messages[targetIndex] = Self.corrected(messages[targetIndex], by: amendment)
            }
            index[event.id] = position
        }
        return messages
    }

    /// The corrected values of `amendment`, as the JSON of its fields (for history lines).
    public static func valuesText(_ amendment: Stipple_V1_RecordAmended) -> String? {
        let json: String?
        switch amendment.corrected {
        case .session(let values)?: json = try? values.jsonString()
        case .touchUp(let values)?: json = try? values.jsonString()
        case nil: json = nil
        }
        return json == "{}" ? nil : json
    }

    /// The violations of `amendment` against its target (type and message at the newest
    /// schema, every earlier typed correction folded in), and the amendment to record:
    /// corrected values given as JSON in `personal` are moved, for a session or a
    /// touch-up, into its typed values, and only the personal ones stay in the JSON.
    static func check(_ amendment: Stipple_V1_RecordAmended, targetType: String, target: any SwiftProtobuf.Message) -> (Stipple_V1_RecordAmended, [RuleViolation]) {
        var amendment = amendment
        var violations: [RuleViolation] = []
        func refuse(_ text: String) { violations.append(RuleViolation(.amendmentFieldsOfTarget, field: "fields", text)) }
        if amendment.fields.isEmpty { refuse("name the fields corrected, in the event's JSON names (e.g. technicianId)") }
        let messageType = type(of: target)
        for field in amendment.fields {
            let path = protoPath(field)
            if path == "sealed_personal" || !messageType.isPathValid(path) {
                refuse("\(field) is not a field of \(targetType)")
            } else if field.contains("."), !isPersonal(field) {
                // A message field is corrected whole (its lots, its start), never a part of it.
                refuse("\(field) names a part of a field: correct \(field.prefix { $0 != "." }) whole")
            }
        }
        guard violations.isEmpty else { return (amendment, violations) }
        let clearFields = amendment.fields.filter { !isPersonal($0) }
        guard isTyped(targetType), !amendment.disputed else {
            if amendment.corrected != nil {
                refuse(amendment.disputed
                    ? "a disputed record stays as it was: give no corrected values"
                    : "\(targetType) takes its corrections as a note (the corrected values in personal), not typed values")
            }
            return (amendment, violations)
        }
        // Values typed as JSON (the pages, the command line): read as the target's own type.
        if amendment.corrected == nil, !amendment.personal.correctedValuesJson.isEmpty {
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            do {
                switch target {
                case is Stipple_V1_SessionRecordedV2:
                    var values = try Stipple_V1_SessionRecordedV2(jsonString: amendment.personal.correctedValuesJson, options: options)
                    amendment.personal.correctedValuesJson = try personalJSON(values.hasPersonal ? values.personal : nil)
                    values.clearPersonal()
                    amendment.session = values
                case is Stipple_V1_TouchUpRecorded:
                    var values = try Stipple_V1_TouchUpRecorded(jsonString: amendment.personal.correctedValuesJson, options: options)
                    amendment.personal.correctedValuesJson = try personalJSON(values.hasPersonal ? values.personal : nil)
                    values.clearPersonal()
                    amendment.touchUp = values
                default:
                    break
                }
            } catch {
                violations.append(RuleViolation(
                    .amendmentFieldsOfTarget, field: "correctedValuesJson", "must be a JSON object of \(targetType)'s fields: \(error)"))
                return (amendment, violations)
            }
        }
        let mask = clearMask(amendment.fields) ?? Google_Protobuf_FieldMask()
        if Self.typedValuesHavePersonal(amendment) {
            violations.append(RuleViolation(
                .amendmentFieldsOfTarget, field: "fields",
                "personal values (personal.notes) are corrected in the amendment's own personal data (correctedValuesJson), which is sealed, not in its typed values"))
            return (amendment, violations)
        }
        switch (target, amendment.corrected) {
        case (let session as Stipple_V1_SessionRecordedV2, .session(let values)?):
            violations += outsideMask(values, mask, clearFields)
            if violations.isEmpty {
                violations += within(clearFields, SessionRules.validate(corrected(session, by: amendment) as! Stipple_V1_SessionRecordedV2))
            }
        case (let touchUp as Stipple_V1_TouchUpRecorded, .touchUp(let values)?):
            violations += outsideMask(values, mask, clearFields)
            if violations.isEmpty {
                violations += within(clearFields, SessionRules.validate(corrected(touchUp, by: amendment) as! Stipple_V1_TouchUpRecorded))
            }
        case (_, nil):
            if !clearFields.isEmpty {
                refuse("give the corrected value of \(clearFields.joined(separator: ", ")): the reports fold a \(targetType)'s corrections")
            }
        default:
            refuse("the corrected values must be of the corrected event's type, \(targetType)")
        }
        return (amendment, violations)
    }

    // MARK: - Paths

    /// A repeated field corrected is replaced whole, not appended to.
    static var replacing: Google_Protobuf_FieldMask.MergeOptions {
        var options = Google_Protobuf_FieldMask.MergeOptions()
        options.replaceRepeatedFields = true
        return options
    }

    /// A path of JSON names (`personal.notes`, `technicianId`) as the .proto's (`technician_id`).
    static func protoPath(_ jsonPath: String) -> String {
        var path = ""
        for character in jsonPath {
            if character.isUppercase {
                path += "_" + character.lowercased()
            } else {
                path.append(character)
            }
        }
        return path
    }

    /// Whether the typed values hold personal data (which only the amendment's own sealed
    /// `personal` may carry: the typed values are stored in clear).
    public static func typedValuesHavePersonal(_ amendment: Stipple_V1_RecordAmended) -> Bool {
        switch amendment.corrected {
        case .session(let values)?: return values.hasPersonal || !values.sealedPersonal.isEmpty
        case .touchUp(let values)?: return values.hasPersonal || !values.sealedPersonal.isEmpty
        case nil: return false
        }
    }

    static func isPersonal(_ field: String) -> Bool { field == "personal" || field.hasPrefix("personal.") }

    /// The mask of the clear fields among `fields`, in .proto paths (`nil` when none).
    static func clearMask(_ fields: [String]) -> Google_Protobuf_FieldMask? {
        let paths = fields.filter { !isPersonal($0) }.map(protoPath)
        return paths.isEmpty ? nil : Google_Protobuf_FieldMask(protoPaths: paths)
    }

    static func personalJSON<M: SwiftProtobuf.Message>(_ personal: M?) throws -> String {
        guard let personal else { return "" }
        return #"{"personal":"# + (try personal.jsonString()) + "}"
    }

    /// A violation when `values` holds a field that `fields` does not name.
    static func outsideMask<M: SwiftProtobuf.Message & _ProtoNameProviding & Equatable>(_ values: M, _ mask: Google_Protobuf_FieldMask, _ fields: [String]) -> [RuleViolation] {
        var trimmed = values
        if mask.paths.isEmpty ? values != M() : trimmed.trim(keeping: mask) {
            return [RuleViolation(
                .amendmentFieldsOfTarget, field: "fields",
                "the corrected values hold fields not named in fields (\(fields.isEmpty ? "none" : fields.joined(separator: ", "))): name each field corrected")]
        }
        return []
    }

    /// The violations of the corrected event that concern a corrected field (an old event
    /// may break a rule made since, in a field nobody corrects).
    static func within(_ fields: [String], _ violations: [RuleViolation]) -> [RuleViolation] {
        // A procedure's length is filed under its end, and depends on its start too.
        let fields = fields.contains("startedAt") ? fields + ["endedAt"] : fields
        return violations.filter { violation in
            guard let field = violation.field else { return false }
            return fields.contains { field == $0 || field.hasPrefix($0 + "[") || field.hasPrefix($0 + ".") }
        }
    }
}
