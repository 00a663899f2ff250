import EventLog
import Foundation
import GRDB
import Treatment

extension ClinicReports {
    /// Per technician, clinic and ISO week (the weeks holding `from` through `to`):
    /// sessions and touch-ups done, hours done, bookings ahead (still open and starting
    /// from now on), cancellations and no-shows.
    ///
    /// - Throws: ``ReportsError/invalidArgument(_:)`` for a reversed range,
    ///   ``ReportsError/notFound(what:id:)`` for a clinic the log does not hold.
    public func workload(from: Day, to: Day, clinic: String? = nil) async throws -> Report {
        try Self.checkRange(from, to)
        let now = Int64(self.now().timeIntervalSince1970)
        let (result, notice) = try await read("workload") { tables, db -> (Bool, [[ReportValue]]) in
            if let clinic {
                let known = try Int64.fetchOne(db, sql: """
                    SELECT 1 FROM \(tables["clinics"]) WHERE id = ?1
                    UNION ALL SELECT 1 FROM \(tables["weeks"]) WHERE clinic = ?1
                    UNION ALL SELECT 1 FROM \(tables["bookings"]) WHERE clinic = ?1 LIMIT 1
                    """, arguments: [clinic]) != nil
                if !known { return (false, []) }
            }
            let clinicFilter = clinic == nil ? "" : " AND clinic = ?4"
            var arguments: StatementArguments = [from.weekStart.daysSinceEpoch, to.weekStart.daysSinceEpoch, now]
            if let clinic { arguments += [clinic] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT technician, clinic, week, sum(s), sum(t), sum(m), sum(b), sum(c), sum(n) FROM (
                    SELECT technician, clinic, week, sessions AS s, touch_ups AS t, minutes AS m, 0 AS b, 0 AS c, 0 AS n, 0 AS o
                    FROM \(tables["weeks"]) WHERE week_start BETWEEN ?1 AND ?2\(clinicFilter)
                    UNION ALL
                    SELECT technician, clinic, week, 0, 0, 0, status = 'booked' AND starts_at >= ?3, status = 'cancelled', status = 'no-show',
                           status = 'booked' AND starts_at < ?3
                    FROM \(tables["bookings"]) WHERE week_start BETWEEN ?1 AND ?2\(clinicFilter)
                ) GROUP BY technician, clinic, week
                -- A booking done by someone else is no work of the technician booked; a past
                -- booking never closed (o) still shows its week.
                HAVING sum(s) + sum(t) + sum(b) + sum(c) + sum(n) + sum(o) > 0
                ORDER BY technician, clinic, week
                """, arguments: arguments)
            return (true, rows.map { row in
                [.text(row[0]), .text(row[1]), .text(row[2]), .int(row[3]), .int(row[4]),
                 .number(Double(row[5] as Int64) / 60, decimals: 1), .int(row[6]), .int(row[7]), .int(row[8])]
            })
        }
        guard result.0 else { throw ReportsError.notFound(what: "clinic", id: clinic ?? "") }
        let table = ReportTable(
            title: "Workload \(from.weekStart) to \(to.weekStart.adding(days: 6))" + (clinic.map { " at \($0)" } ?? ""),
            columns: ["technician", "clinic", "week", "sessions", "touchUps", "hoursDone", "bookingsAhead", "cancelled", "noShows"],
            rows: result.1, notes: ["\(result.1.count) technician-weeks"])
        return Report(sections: [table], notice: notice)
    }

    /// Consultations per clinic (of the consultation) between `from` and `to`, and how many
    /// clients went on to a first session afterwards.
    public func conversion(from: Day, to: Day) async throws -> Report {
        try Self.checkRange(from, to)
        let (rows, notice) = try await read("conversion") { tables, db in
            try Row.fetchAll(db, sql: """
                SELECT c.clinic, count(*), sum(f.day IS NOT NULL AND f.day >= c.day)
                FROM \(tables["consultations_by_day"]) i CROSS JOIN \(tables["consultations"]) c ON c.position = i.position
                LEFT JOIN \(tables["first_sessions"]) f ON f.client = c.client
                WHERE i.day BETWEEN ? AND ? GROUP BY c.clinic ORDER BY c.clinic
                """, arguments: [from.daysSinceEpoch, to.daysSinceEpoch]).map { row -> [ReportValue] in
                let consultations: Int64 = row[1], converted: Int64 = row[2]
                return [.text(row[0]), .int(consultations), .int(converted), .number(Double(converted) * 100 / Double(max(consultations, 1)), decimals: 1)]
            }
        }
        let total = rows.reduce(into: (Int64(0), Int64(0))) { sums, row in
            if case .int(let c) = row[1], case .int(let v) = row[2] { sums.0 += c; sums.1 += v }
        }
        let table = ReportTable(
            title: "Consultations \(from) to \(to) and first sessions", columns: ["clinic", "consultations", "firstSessions", "percent"],
            rows: rows, notes: ["all clinics: \(total.0) consultations, \(total.1) went on to a first session"])
        return Report(sections: [table], notice: notice)
    }

    /// The personal-service-settings record between `from` and `to`: per procedure the
    /// client's name and contact, date, type, provider, pigment and cartridge lots with expiry.
    public func serviceRecords(from: Day, to: Day) async throws -> Report {
        try Self.checkRange(from, to)
        let (stored, notice) = try await read("records") { tables, db in
            try Row.fetchAll(db, sql: """
                SELECT p.day, p.client, '', '', p.label, p.clinic,
                       p.technician || coalesce(' (' || t.name || ')', '') || CASE WHEN p.supervisor <> '' THEN ', supervised by ' || p.supervisor ELSE '' END,
                       p.pigments, p.cartridges,
                       (SELECT group_concat(a.fields || ': ' || CASE WHEN a.reason = '' THEN 'reason sealed (in the client''s history)' ELSE a.reason END || CASE WHEN a.disputed THEN ' (disputed)' ELSE '' END
                                            || ' (event ' || a.position || ')', '; ')
                        FROM \(tables["amendments"]) a WHERE a.corrects = p.event_id)
                FROM \(tables["procedures_by_day"]) i CROSS JOIN \(tables["procedures"]) p ON p.position = i.position
                LEFT JOIN \(tables["technicians"]) t ON t.technician = p.technician
                WHERE i.day BETWEEN ? AND ? ORDER BY i.day, i.position
                """, arguments: [from.daysSinceEpoch, to.daysSinceEpoch]).map { row -> [ReportValue] in
                [.text(Day(daysSinceEpoch: row[0]).description), .text(row[1]), .text(row[2]), .text(row[3]), .text(row[4]),
                 .text(row[5]), .text(row[6]), .text(row[7]), .text(row[8]), .text(row[9] ?? "")]
            }
        }
        let found = try await contacts(Array(Set(stored.map { $0[1].description })))
        let rows = stored.map { row -> [ReportValue] in
            var row = row
            let contact = found[row[1].description] ?? ClientContact()
            row[1] = .text(contact.shownClient(row[1].description))
            row[2] = .text(contact.shownName)
            row[3] = .text(contact.shownContact)
            return row
        }
        let table = ReportTable(
            title: "Personal service settings record \(from) to \(to)",
            columns: ["date", "client", "name", "contact", "procedure", "clinic", "provider", "pigmentLots", "cartridgeLots", "amended"],
            rows: rows, notes: ["\(rows.count) procedure\(rows.count == 1 ? "" : "s")"])
        return Report(sections: [table], notice: notice)
    }
}
