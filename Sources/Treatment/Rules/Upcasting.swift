import SwiftProtobuf

/// Brings old schema versions up to the newest, so that rules and reports only know the
/// newest shapes. One step per version; `upcast` chains them.
public enum Upcasting {
    /// Upcasts `message` of `type` at `version` to the newest version of the type.
    ///
    /// - Throws: ``CatalogueError/unknownVersion(type:version:newest:)`` when no chain
    ///   of steps leads from `version` to the newest.
    public static func upcast(_ message: any SwiftProtobuf.Message, type: String, version: Int32) throws(CatalogueError) -> any SwiftProtobuf.Message {
        guard let newest = EventCatalogue.newest(type: type) else { throw .unknownType(type) }
        var current = message
        var at = version
        while at < newest.version {
            guard let step = steps[Key(type: type, from: at)] else {
                throw .unknownVersion(type: type, version: version, newest: newest.version)
            }
            guard let next = step(current) else {
                throw .invalidPayload(type: type, version: at, reason: "the message is not the one its schema version names")
            }
            current = next
            at += 1
        }
        return current
    }

    /// Every `(type, version)` pair in `stored` that cannot be brought to the newest
    /// version of its type (unknown, or a missing step). A log holding one refuses to open.
    public static func unreadable(_ stored: [(type: String, version: Int32)]) -> [(type: String, version: Int32)] {
        stored.filter { pair in
            guard let newest = EventCatalogue.newest(type: pair.type), EventCatalogue.schema(type: pair.type, version: pair.version) != nil else {
                return true
            }
            return (pair.version..<newest.version).contains { steps[Key(type: pair.type, from: $0)] == nil }
        }
    }

    struct Key: Hashable {
        var type: String
        var from: Int32
    }

    /// One step per (type, version): `nil` when given a message other than the one the
    /// version names.
    static let steps: [Key: @Sendable (any SwiftProtobuf.Message) -> (any SwiftProtobuf.Message)?] = [
        Key(type: "SessionRecorded", from: 1): { old in (old as? Stipple_V1_SessionRecorded).map(sessionV1toV2) },
    ]

    /// `SessionRecorded` 1 → 2: the one pigment shade becomes a pigment (lot unknown), the
    /// needle text ("3RL-0.25mm") a cartridge with its configuration and diameter. A text
    /// that does not read so (another configuration, no diameter, free words) is kept as
    /// written in `legacyNeedleText`, beside what of it did read.
    static func sessionV1toV2(_ old: Stipple_V1_SessionRecorded) -> Stipple_V1_SessionRecordedV2 {
        var new = Stipple_V1_SessionRecordedV2()
        new.sessionNumber = old.sessionNumber
        new.clinicID = old.clinicID
        new.technicianID = old.technicianID
        new.supervisorID = old.supervisorID
        new.startedAt = old.startedAt
        new.endedAt = old.endedAt
        new.areas = old.areas
        if !old.pigmentShade.isEmpty {
            var pigment = Stipple_V1_PigmentUse()
            pigment.shade = old.pigmentShade
            new.pigments = [pigment]
        }
        if !old.needle.isEmpty {
            var cartridge = Stipple_V1_CartridgeUse()
            let parts = old.needle.uppercased().split(separator: "-", maxSplits: 1)
            switch parts.first {
            case "1RL": cartridge.configuration = .needleConfiguration1Rl
            case "3RL": cartridge.configuration = .needleConfiguration3Rl
            default: break
            }
            if parts.count == 2, let diameter = Double(parts[1].replacingOccurrences(of: "MM", with: "")), diameter.isFinite, diameter > 0 {
                cartridge.diameterMm = diameter
            }
            if cartridge.configuration == .unspecified || cartridge.diameterMm == 0 { new.legacyNeedleText = old.needle }
            new.cartridges = [cartridge]
        }
        new.machine = old.machine
        new.depthMm = old.depthMm
        new.aftercareSheetVersion = old.aftercareSheetVersion
        if old.hasPersonal { new.personal = old.personal }
        return new
    }
}
