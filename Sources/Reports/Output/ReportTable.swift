import EventLog
import Foundation

/// One value of a report cell: typed, so JSON keeps numbers as numbers.
public enum ReportValue: Sendable, Hashable, CustomStringConvertible {
    case text(String)
    case int(Int64)
    case number(Double, decimals: Int)
    case none

    public var description: String {
        switch self {
        case .text(let text): return text
        case .int(let value): return String(value)
        case .number(let value, let decimals): return String(format: "%.\(decimals)f", value)
        case .none: return ""
        }
    }

    /// The value in JSON.
    public var json: JSONValue {
        switch self {
        case .text(let text): return .string(text)
        case .int(let value): return .int(value)
        case .number(let value, let decimals):
            let scale = pow(10, Double(decimals))
            return .double((value * scale).rounded() / scale)
        case .none: return .null
        }
    }
}

extension ReportValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
}

/// A report's result: named columns, rows of values, and notes to print under it.
public struct ReportTable: Sendable, Hashable {
    /// The section's title (`Touch-ups due`), printed above the table on a terminal.
    public var title: String
    /// Column names as JSON keys and CSV headers (`lowerCamelCase`).
    public var columns: [String]
    public var rows: [[ReportValue]]
    /// Lines printed after the table (counts, totals).
    public var notes: [String]

    public init(title: String, columns: [String], rows: [[ReportValue]] = [], notes: [String] = []) {
        self.title = title
        self.columns = columns
        self.rows = rows
        self.notes = notes
    }

    /// The rows as JSON objects keyed by column.
    public var jsonRows: [JSONValue] {
        rows.map { row in .object(Dictionary(uniqueKeysWithValues: zip(columns, row.map(\.json)))) }
    }

    /// The value of `column` in `row` (for tests and callers that pick one field).
    public func value(_ column: String, row: Int) -> ReportValue? {
        columns.firstIndex(of: column).map { rows[row][$0] }
    }

    /// Every value of `column`.
    public func column(_ name: String) -> [ReportValue] {
        guard let index = columns.firstIndex(of: name) else { return [] }
        return rows.map { $0[index] }
    }
}

extension ClinicReports.Report {
    /// The report as CSV lines: a header line per section, sections apart by a blank line.
    public var csvLines: [String] {
        var lines: [String] = []
        for (index, section) in sections.enumerated() {
            if index > 0 { lines.append("") }
            lines.append(section.columns.map { ReportValue.csvField($0) }.joined(separator: ","))
            for row in section.rows { lines.append(row.map(\.csvField).joined(separator: ",")) }
        }
        return lines
    }
}

extension ReportValue {
    /// The value as a CSV cell: quoted when it must be, and a text that a spreadsheet would
    /// run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) kept as text with a `'`.
    public var csvField: String {
        if case .text(let text) = self { return Self.csvField(text) }
        return Self.csvField(description, formulaGuard: false)
    }

    /// `text` as a CSV cell (see ``csvField``).
    public static func csvField(_ text: String, formulaGuard: Bool = true) -> String {
        var text = text
        if formulaGuard, let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
