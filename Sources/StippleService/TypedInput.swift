import Foundation
import SwiftProtobuf
import Treatment

/// A closed set of values people type by name (`--area crown`, a form's select), with the
/// error that lists them.
public struct Vocabulary<Value: Sendable>: Sendable {
    /// The names, in the order help texts list them.
    public let names: [String]
    private let values: [String: Value]

    init(_ pairs: KeyValuePairs<String, Value>) {
        names = pairs.map(\.key)
        values = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) })
    }

    /// The value named `text`.
    ///
    /// - Parameter field: how the input calls the value (`--area`), for the error.
    /// - Throws: ``ServiceError`` (`badInput`) listing the names.
    public func value(_ text: String, _ field: String) throws(ServiceError) -> Value {
        guard let value = values[text] else {
            throw ServiceError.badInput("\(field) must be one of \(names.joined(separator: ", ")), not \"\(text)\".")
        }
        return value
    }

    /// The name of `value` (the first, where two names mean one value).
    public func name(of value: Value) -> String? where Value: Equatable {
        names.first { values[$0] == value }
    }

    /// The names as help text lists them: `a, b or c`.
    public var listed: String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// The values people type, parsed with errors that name the field: times, days, areas,
/// lots. Front ends (flags, forms) share them, so a clinician types the same at the
/// command line and on a page.
public enum TypedInput {
    public static let areas = Vocabulary<Stipple_V1_ScalpArea>([
        "hairline": .hairline, "temples": .temples, "crown": .crown, "density-fill": .densityFill, "scar": .scar, "full-scalp": .fullScalp,
    ])

    public static let hairLossTypes = Vocabulary<Stipple_V1_HairLossType>([
        "androgenetic": .androgenetic, "alopecia-areata": .alopeciaAreata, "alopecia-totalis": .alopeciaTotalis,
        "alopecia-universalis": .alopeciaUniversalis, "diffuse-thinning": .diffuseThinning, "scar": .scar, "burn": .burn,
        "birthmark": .birthmark, "post-transplant": .postTransplant,
    ])

    public static let touchUpReasons = Vocabulary<Stipple_V1_TouchUpReason>([
        "fading": .fading, "colour-change": .colourChange, "scar": .scar, "guarantee": .guarantee,
    ])

    public static let certificationLevels = Vocabulary<Stipple_V1_CertificationLevel>([
        "trainee": .trainee, "certified": .certified, "senior": .senior, "trainer": .trainer,
    ])

    public static let hepatitisBStatuses = Vocabulary<Stipple_V1_HepatitisBStatus>([
        "recorded": .recorded, "declined": .declined, "exempt": .exempt,
    ])

    public static let batchKinds = Vocabulary<Stipple_V1_BatchKind>(["pigment": .pigment, "cartridge": .cartridge])

    public static let needleConfigurations = Vocabulary<Stipple_V1_NeedleConfiguration>([
        "1RL": .needleConfiguration1Rl, "3RL": .needleConfiguration3Rl,
    ])

    public static let cancelledBy = Vocabulary<Stipple_V1_CancelledBy>(["client": .client, "clinic": .clinic])

    public static let severities = Vocabulary<String>(["mild": "mild", "moderate": "moderate", "severe": "severe"])
    /// What a consent form covers.
    public enum ConsentScope: Sendable, Hashable { case procedure, photos, marketing }
    public static let consentScopes = Vocabulary<ConsentScope>(["procedure": .procedure, "photos": .photos, "marketing": .marketing])
    /// When a photo was taken.
    public static let photoMoments = Vocabulary<Stipple_V1_PhotoMoment>(["before": .before, "after": .after, "other": .other, "signature": .signature])

    /// An amount of money typed in dollars, as cents: `2400`, `2400.50`, `2400,50` (a decimal
    /// comma) or `2,400.50` (thousands); nothing else (a stray letter, three decimals).
    ///
    /// - Throws: ``ServiceError`` (`badInput`) naming `field`.
    public static func cents(_ text: String, _ field: String) throws(ServiceError) -> Int64 {
        let refused = ServiceError.badInput("\(field) must be an amount in dollars, e.g. 2400 or 2400.50, not \"\(text)\"")
        let plain = text.wholeMatch(of: /([0-9]{1,7})(?:[.,]([0-9]{1,2}))?/)
        let grouped = text.wholeMatch(of: /([0-9]{1,3}(?:,[0-9]{3}){1,2})(?:\.([0-9]{1,2}))?/)
        guard let match = plain ?? grouped, let dollars = Int64(match.1.replacingOccurrences(of: ",", with: "")) else { throw refused }
        let fraction = match.2.map(String.init) ?? ""
        let cents = fraction.isEmpty ? 0 : Int64(fraction.count == 1 ? fraction + "0" : fraction) ?? 0
        return dollars * 100 + cents
    }

    /// A time typed for a clinic's event: `2026-03-14T10:00` or `2026-03-14 10:00` (seconds
    /// optional) is the clinic's local time; with a final `Z` or an offset (`-05:00`) it is
    /// that instant. Stored as UTC.
    ///
    /// - Parameter time: the clinic's time; `nil` for an event of no clinic, whose time
    ///   must carry its offset.
    /// - Throws: ``ServiceError`` (bad input) for text that is no time, a time without an
    ///   offset where no clinic gives the zone, a local time the clocks skip (spring
    ///   forward) or show twice (fall back: give the offset).
    public static func instant(_ text: String, _ field: String, in time: ClinicTime?) throws(ServiceError) -> Google_Protobuf_Timestamp {
        let example = time.map { "a time such as 2026-03-14T10:00 (\($0.zone.identifier) time) or 2026-03-14T15:00Z" }
            ?? "a time with its offset, such as 2026-03-14T10:00-05:00 or 2026-03-14T15:00Z (this event belongs to no clinic whose zone could be used)"
        var rest = Substring(text.replacingOccurrences(of: " ", with: "T"))
        var offset: Int?
        if rest.hasSuffix("Z") {
            offset = 0
            rest = rest.dropLast()
        } else if rest.count > 6, let sign = rest.dropLast(5).last, sign == "+" || sign == "-" {
            let zone = rest.suffix(5)
            let hours = Int(zone.prefix(2)), minutes = Int(zone.suffix(2))
            guard zone.dropFirst(2).first == ":", let hours, let minutes, hours <= 14, minutes < 60, zone.allSatisfy({ $0.isASCII }) else {
                throw ServiceError.badInput("\(field) must be \(example), not \"\(text)\".")
            }
            offset = (sign == "-" ? -1 : 1) * (hours * 3_600 + minutes * 60)
            rest = rest.dropLast(6)
        }
        let parts = rest.split(separator: "T", omittingEmptySubsequences: false)
        let clock = parts.count == 2 ? parts[1].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) } : []
        guard parts.count == 2, let day = Day(String(parts[0])), (2...3).contains(clock.count),
              clock.allSatisfy({ $0 != nil }), parts[1].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":") }),
              let hour = clock[0], let minute = clock[1], (0...23).contains(hour), (0...59).contains(minute),
              clock.count == 2 || (0...59).contains(clock[2] ?? -1)
        else { throw ServiceError.badInput("\(field) must be \(example), not \"\(text)\".") }
        let local = day.startSeconds + Int64(hour * 3_600 + minute * 60 + (clock.count == 3 ? clock[2]! : 0))
        var timestamp = Google_Protobuf_Timestamp()
        if let offset {
            timestamp.seconds = local - Int64(offset)
        } else if let time {
            do { timestamp.seconds = try time.instant(local: local) } catch { throw ServiceError.badInput("\(field): \(error)") }
        } else {
            throw ServiceError.badInput("\(field) must be \(example), not \"\(text)\".")
        }
        return timestamp
    }

    /// A day, `2026-03-14`.
    public static func day(_ text: String, _ field: String) throws(ServiceError) -> Day {
        guard let day = Day(text) else { throw ServiceError.badInput("\(field) must be a day such as 2026-03-14, not \"\(text)\".") }
        return day
    }

    /// `LOT` or `LOT:DILUTION` (percent).
    public static func pigment(_ text: String) throws(ServiceError) -> Stipple_V1_PigmentUse {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = String(parts[0])
        pigment.dilutionPercent = 100
        if parts.count == 2, let dilution = Int32(parts[1]), !pigment.lot.isEmpty {
            pigment.dilutionPercent = dilution
        } else if parts.count != 1 || pigment.lot.isEmpty {
            throw ServiceError.badInput("--pigment must be LOT or LOT:DILUTION (percent), e.g. PB-1187:30, not \"\(text)\".")
        }
        return pigment
    }

    /// `LOT:CONFIGURATION:DIAMETER`, e.g. `NC-0412:3RL:0.25`.
    public static func cartridge(_ text: String) throws(ServiceError) -> Stipple_V1_CartridgeUse {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let diameter = Double(parts[2]), let configuration = try? needleConfigurations.value(parts[1].uppercased(), "")
        else { throw ServiceError.badInput("--cartridge must be LOT:1RL|3RL:DIAMETER, e.g. NC-0412:3RL:0.25, not \"\(text)\".") }
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = parts[0]
        cartridge.configuration = configuration
        cartridge.diameterMm = diameter
        return cartridge
    }
}
