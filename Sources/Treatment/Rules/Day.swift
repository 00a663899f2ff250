import SwiftProtobuf

/// A calendar day (UTC), as days since 1970-01-01. Pure arithmetic: no calendar, no clock.
public struct Day: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var daysSinceEpoch: Int

    public init(daysSinceEpoch: Int) { self.daysSinceEpoch = daysSinceEpoch }

    /// Parses `YYYY-MM-DD`; `nil` when it is not a real day.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year)
        else { return nil }
        daysSinceEpoch = Self.days(year: year, month: month, day: day)
    }

    /// The UTC day of an instant.
    public init(_ timestamp: Google_Protobuf_Timestamp) {
        self.init(seconds: timestamp.seconds)
    }

    /// The UTC day of an instant given in seconds since 1970-01-01T00:00:00Z.
    public init(seconds: Int64) {
        daysSinceEpoch = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }

    /// The seconds since midnight (UTC) of an instant.
    public static func secondsIntoDay(_ seconds: Int64) -> Int { Int((seconds % 86_400 + 86_400) % 86_400) }

    public static func < (lhs: Day, rhs: Day) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public func adding(days: Int) -> Day { Day(daysSinceEpoch: daysSinceEpoch + days) }

    /// The same day `months` months later (clamped to the month's last day).
    public func adding(months: Int) -> Day {
        let (year, month, day) = components
        let total = year * 12 + (month - 1) + months
        let newYear = total / 12, newMonth = total % 12 + 1
        return Day(daysSinceEpoch: Self.days(year: newYear, month: newMonth, day: min(day, Self.daysIn(month: newMonth, year: newYear))))
    }

    public var description: String {
        let (year, month, day) = components
        func pad(_ value: Int, _ width: Int) -> String {
            String(repeating: "0", count: max(0, width - String(value).count)) + String(value)
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// Year, month, day (Howard Hinnant's civil-from-days).
    var components: (Int, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension Day {
    /// The ISO-8601 week the day falls in, e.g. `2026-W48` (weeks start on Monday; week 1
    /// holds the year's first Thursday).
    public var isoWeek: String {
        // 1970-01-01 was a Thursday: Monday is 0.
        let weekday = ((daysSinceEpoch + 3) % 7 + 7) % 7
        let thursday = Day(daysSinceEpoch: daysSinceEpoch - weekday + 3)
        let (year, _, _) = thursday.components
        let week = (thursday.daysSinceEpoch - Self.days(year: year, month: 1, day: 1)) / 7 + 1
        return "\(year)-W" + (week < 10 ? "0" : "") + String(week)
    }

    /// The Monday of the day's ISO week.
    public var weekStart: Day {
        Day(daysSinceEpoch: daysSinceEpoch - ((daysSinceEpoch + 3) % 7 + 7) % 7)
    }

    /// The first instant of the day, in seconds since 1970-01-01T00:00:00Z.
    public var startSeconds: Int64 { Int64(daysSinceEpoch) * 86_400 }
}
