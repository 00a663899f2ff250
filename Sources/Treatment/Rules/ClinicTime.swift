import Foundation
import SwiftProtobuf

/// A clinic's local time: the IANA zone (`ClinicOpened.timeZone`) its days are counted in.
///
/// Instants are stored as UTC; every rule and report that speaks of a day, a week or
/// "within 12 months" asks the clinic's zone which local day an instant falls on (the
/// law's "date of the procedure" is the local date). Offsets come from Foundation's
/// `TimeZone` (tzdata); nothing here knows a rule of daylight saving time.
public struct ClinicTime: Sendable, Hashable {
    public let zone: TimeZone

    /// The zone of a clinic with no `ClinicOpened` (and `clinic open`'s default): the
    /// chain's four clinics are in Ontario.
    public static let chainDefault = ClinicTime(zone: TimeZone(identifier: "America/Toronto")!)

    public init(zone: TimeZone) { self.zone = zone }

    /// The zone named `identifier` (`America/Toronto`); `nil` when tzdata has none of that name.
    public init?(identifier: String) {
        // TimeZone also takes abbreviations (`EST`) and offsets (`GMT-5`): a clinic's zone
        // must be a region whose rules follow the law (`America/Toronto`), or UTC.
        guard identifier.contains("/") || identifier == "UTC",
              TimeZone.knownTimeZoneIdentifiers.contains(identifier) || identifier == "UTC",
              let zone = TimeZone(identifier: identifier)
        else { return nil }
        self.zone = zone
    }

    /// The zone's offset from UTC at an instant, in seconds (negative west of Greenwich).
    public func offset(at seconds: Int64) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// The local day an instant falls on.
    public func day(of seconds: Int64) -> Day { Day(seconds: seconds + Int64(offset(at: seconds))) }

    public func day(of timestamp: Google_Protobuf_Timestamp) -> Day { day(of: timestamp.seconds) }

    /// The local seconds since midnight of an instant.
    public func secondsIntoDay(_ seconds: Int64) -> Int { Day.secondsIntoDay(seconds + Int64(offset(at: seconds))) }

    /// The first instant of a local day (its local midnight, or the first instant after
    /// it where a zone skips midnight).
    public func start(of day: Day) -> Int64 {
        switch instants(local: day.startSeconds) {
        case .one(let instant), .two(let instant, _): return instant
        case .none(let after): return after
        }
    }

    /// The instant of a local wall-clock time, given as seconds of that time read as if it
    /// were UTC (`Day.startSeconds` plus the time of day).
    ///
    /// - Throws: ``LocalTimeError`` for a time the clocks skip (spring forward) or show
    ///   twice (fall back): the first does not exist, the second needs its offset.
    public func instant(local: Int64) throws(LocalTimeError) -> Int64 {
        switch instants(local: local) {
        case .one(let instant): return instant
        case .none:
            throw LocalTimeError.skipped(shown: Self.wallClock(local), zone: zone.identifier)
        case .two(let first, let second):
            throw LocalTimeError.ambiguous(
                shown: Self.wallClock(local), zone: zone.identifier,
                offsets: [Self.offsetText(offset(at: first)), Self.offsetText(offset(at: second))])
        }
    }

    private enum Candidates {
        case one(Int64)
        case two(Int64, Int64)
        /// No instant shows that time; the first instant after the gap.
        case none(after: Int64)
    }

    /// The instants that show the wall-clock time `local`: each offset in force half a
    /// day before or after (transitions are months apart) is tried, and kept when the zone
    /// has that offset at the instant it gives.
    private func instants(local: Int64) -> Candidates {
        let before = offset(at: local - 43_200), after = offset(at: local + 43_200)
        let found = Set([before, after].map { local - Int64($0) }.filter { offset(at: $0) == Int(local - $0) }).sorted()
        switch found.count {
        case 1: return .one(found[0])
        case 2: return .two(found[0], found[1])
        default: return .none(after: local - Int64(before))
        }
    }

    /// An instant as the clinic's clock showed it, with the offset: `2026-03-02 10:00 -05:00`.
    public func shown(_ seconds: Int64) -> String {
        let local = seconds + Int64(offset(at: seconds))
        return "\(Self.wallClock(local)) \(Self.offsetText(offset(at: seconds)))"
    }

    /// `10:00` of an instant, in the clinic's time.
    public func clock(_ seconds: Int64) -> String {
        let into = secondsIntoDay(seconds)
        return Self.twoDigits(into / 3_600) + ":" + Self.twoDigits(into % 3_600 / 60)
    }

    static func wallClock(_ local: Int64) -> String {
        let into = Day.secondsIntoDay(local)
        return "\(Day(seconds: local)) \(twoDigits(into / 3_600)):\(twoDigits(into % 3_600 / 60))"
    }

    /// `-05:00`, `+05:30`, `+00:00`.
    public static func offsetText(_ offset: Int) -> String {
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        return sign + twoDigits(minutes / 60) + ":" + twoDigits(minutes % 60)
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// A local time that names no single instant.
public enum LocalTimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The clocks jump over it (the spring-forward gap).
    case skipped(shown: String, zone: String)
    /// The clocks show it twice (the fall-back hour); `offsets`: the two readings.
    case ambiguous(shown: String, zone: String, offsets: [String])

    public var description: String {
        switch self {
        case .skipped(let shown, let zone):
            return "\(shown) does not exist in \(zone): the clocks jump over it (daylight saving time begins); give the time after the change"
        case .ambiguous(let shown, let zone, let offsets):
            return "\(shown) happens twice in \(zone) (daylight saving time ends): add its offset, \(shown.replacingOccurrences(of: " ", with: "T"))\(offsets[0]) or …\(offsets[1])"
        }
    }
}

/// Every clinic's time, from the `ClinicOpened` events: a clinic with none is on the
/// chain's default zone.
///
/// A projection reads the zone in force at each event's position (a clinic's events
/// before its `ClinicOpened` count in the default zone), so that a rebuild gives the
/// days the first build gave; the rules, deciding at the head, see every zone.
public struct ClinicTimes: Sendable, Hashable {
    private struct Entry: Sendable, Hashable {
        var position: Int64
        var time: ClinicTime
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// The clinic's time as the rules see it (every `ClinicOpened` read so far).
    public subscript(clinic: String) -> ClinicTime { entries[clinic]?.time ?? .chainDefault }

    /// The clinic's time for an event at `position`: set by a `ClinicOpened` before it.
    public func time(of clinic: String, at position: Int64) -> ClinicTime {
        guard let entry = entries[clinic], entry.position < position else { return .chainDefault }
        return entry.time
    }

    /// Notes a clinic's zone from its `ClinicOpened` at `position` (an unknown zone name
    /// keeps the default: the rules refuse one being recorded, and older events are read
    /// as they are; a clinic opened without a zone counts in the default).
    public mutating func apply(clinic: String, _ message: any SwiftProtobuf.Message, position: Int64 = 0) {
        if let opened = message as? Stipple_V1_ClinicOpened, entries[clinic] == nil, let time = ClinicTime(identifier: opened.timeZone) {
            entries[clinic] = Entry(position: position, time: time)
        }
    }
}
