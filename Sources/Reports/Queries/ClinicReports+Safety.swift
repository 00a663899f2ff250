import EventLog
import Foundation
import GRDB
import SwiftProtobuf
import Treatment

extension ClinicReports {
    /// Every session and touch-up between `from` and `to` (all when `nil`) checked as the
    /// audit checks them: violations first, one row per rule broken, then the count of
    /// clean procedures.
    public func audit(from: Day? = nil, to: Day? = nil) async throws -> Report {
        let low = from ?? Day(daysSinceEpoch: Int(Int32.min)), high = to ?? Day(daysSinceEpoch: Int(Int32.max))
        try Self.checkRange(low, high)
        // Two halves of the days at once, on two reader connections (the sentences of a
        // large audit are millions); both halves must see the same generation and
        // checkpoint, else the report is read again.
        let projection = try projector.projection(named: "audit")
        let bounds = (low.daysSinceEpoch, high.daysSinceEpoch)
        let (first, last) = try await log.readTables { db -> (Int?, Int?) in
            let tables = try Projector.source(projection, in: db).tables
            let row = try Row.fetchOne(
                db, sql: "SELECT min(day), max(day) FROM \(tables["procedures_by_day"]) WHERE day BETWEEN ? AND ?", arguments: [bounds.0, bounds.1])
            return (row?[0], row?[1])
        }
        let middle = first.flatMap { first in last.map { first + ($0 - first) / 2 } } ?? bounds.1
        var attempt = 0
        var halves: (AuditHalf, AuditHalf)
        repeat {
            attempt += 1
            async let early = auditHalf(projection, from: bounds.0, to: middle, countClean: (bounds.0, bounds.1))
            async let late = auditHalf(projection, from: middle + 1, to: bounds.1, countClean: nil)
            halves = try await (early, late)
        } while halves.0.source != halves.1.source && attempt < 5
        let result = (halves.0.rows + halves.1.rows, halves.0.flagged + halves.1.flagged, halves.0.clean)
        let notice = halves.0.source.notice
        let range = [from.map { "from \($0)" }, to.map { "to \($0)" }].compactMap { $0 }
        let table = ReportTable(
            title: (["Certification audit"] + range).joined(separator: " "),
            columns: ["date", "client", "procedure", "clinic", "technician", "supervisor", "rule", "finding", "position"],
            rows: result.0,
            notes: ["\(result.1 + result.2) procedures checked: \(result.1) with findings (\(result.0.count) in all), \(result.2) clean"])
        return Report(sections: [table], notice: notice)
    }

    struct AuditHalf: Sendable {
        var source: ReportSource
        var rows: [[ReportValue]]
        var flagged: Int64
        var clean: Int64
    }

    /// The flagged procedures' findings from day `from` to day `to`, in one snapshot, and
    /// (when asked) the count of clean procedures over the whole range.
    private func auditHalf(_ projection: any Projection, from: Int, to: Int, countClean: (Int, Int)?) async throws -> AuditHalf {
        try await log.readTables { db in
            let source = try Projector.source(projection, in: db)
            let part = from <= to ? try Self.auditRows(source.tables, from: from, to: to, in: db) : ([], 0)
            var clean: Int64 = 0
            if let (low, high) = countClean {
                clean = try Int64.fetchOne(
                    db, sql: """
                        SELECT count(*) FROM \(source.tables["procedures_by_day"]) i CROSS JOIN \(source.tables["procedures"]) p ON p.position = i.position
                        WHERE i.day BETWEEN ? AND ? AND p.findings = 0
                        """,
                    arguments: [low, high]) ?? 0
            }
            return AuditHalf(source: source, rows: part.0, flagged: part.1, clean: clean)
        }
    }

    /// The findings of the flagged procedures from day `from` to day `to` (days since 1970).
    static func auditRows(_ tables: TableNames, from: Int, to: Int, in db: Database) throws -> (rows: [[ReportValue]], flagged: Int64) {
        var technicians: [String: TechnicianState] = [:]
        for id in try String.fetchAll(db, sql: "SELECT DISTINCT technician FROM \(tables["technician_events"])") {
            technicians[id] = try AuditProjection.foldTechnician(id, tables: tables, in: db)
        }
        var lots: [String: BatchState] = [:]
        for lot in try String.fetchAll(db, sql: "SELECT DISTINCT lot FROM \(tables["lot_events"])") {
            lots[lot] = try AuditProjection.foldLot(lot, tables: tables, in: db)
        }
        var rows: [[ReportValue]] = []
        var flagged: Int64 = 0
        // The sentences depend on (technician, supervisor, day) and on (lot, kind, day):
        // worked out once per key (an audit of a large chain has millions of findings).
        struct People: Hashable { var technician: String, supervisor: String, day: Int }
        struct LotUse: Hashable { var lot: String, pigment: Bool, day: Int }
        var people: [People: [RuleViolation]] = [:]
        var lotUses: [LotUse: [RuleViolation]] = [:]
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT p.position, p.client, p.label, p.clinic, p.technician, p.supervisor, p.day, p.pigment_lots, p.cartridge_lots, p.consent, p.findings
            FROM \(tables["procedures_by_day"]) i CROSS JOIN \(tables["procedures"]) p ON p.position = i.position
            WHERE i.day BETWEEN ? AND ? AND p.findings <> 0 ORDER BY i.day, i.position
            """, arguments: [from, to])
        while let row = try cursor.next() {
            flagged += 1
            let technician: String = row[4], supervisor: String = row[5], dayNumber: Int = row[6]
            let day = Day(daysSinceEpoch: dayNumber)
            let key = People(technician: technician, supervisor: supervisor, day: dayNumber)
            var violations: [RuleViolation]
            if let known = people[key] {
                violations = known
            } else {
                violations = AuditRules.describeCertification(
                    technicianID: technician, supervisorID: supervisor, day: day, technician: technicians[technician],
                    supervisor: supervisor.isEmpty ? nil : technicians[supervisor])
                people[key] = violations
            }
            if !(row[9] as Bool) { violations.append(AuditRules.noConsent) }
            for (column, pigment) in [(7, true), (8, false)] {
                let text: String = row[column]
                for lot in text.split(separator: ",") {
                    let use = LotUse(lot: String(lot), pigment: pigment, day: lots[String(lot)] == nil ? Int.min : dayNumber)
                    if let known = lotUses[use] {
                        violations += known
                    } else {
                        let found = AuditRules.describeLot(use.lot, kind: pigment ? .pigment : .cartridge, day: day, state: lots[use.lot])
                        lotUses[use] = found
                        violations += found
                    }
                }
            }
            let common: [ReportValue] = [
                .text(day.description), .text(row[1]), .text(row[2]), .text(row[3]), .text(technician), .text(supervisor),
            ]
            let position = ReportValue.int(row[0])
            for violation in violations {
                rows.append(common + [.text(violation.rule.rawValue), .text(violation.message), position])
            }
        }
        return (rows, flagged)
    }

    /// Where lot `lot` went: every procedure that used it; for a recalled lot, the recall
    /// impact list (each client to contact, their clinic and last procedure date).
    ///
    /// - Throws: ``ReportsError/notFound(what:id:)`` for a lot never received nor used.
    public func lot(_ lot: String) async throws -> Report {
        struct Lot: Sendable { var values: [String: String?] }
        let (stored, notice) = try await read("lots") { tables, db -> (Lot?, [[ReportValue]], [[ReportValue]]) in
            let info = try Row.fetchOne(db, sql: "SELECT * FROM \(tables["lots"]) WHERE lot = ?", arguments: [lot]).map { row in
                Lot(values: Dictionary(uniqueKeysWithValues: row.columnNames.map { ($0, row[$0] as String?) }))
            }
            let uses = try Row.fetchAll(db, sql: """
                SELECT u.day, u.client, u.label, u.clinic, u.areas, u.position
                FROM \(tables["uses_by_lot"]) i CROSS JOIN \(tables["uses"]) u ON u.position = i.position AND u.lot = i.lot
                WHERE i.lot = ? ORDER BY u.day, u.position
                """, arguments: [lot]).map { row -> [ReportValue] in
                [.text(Day(daysSinceEpoch: row[0]).description), .text(row[1]), .text(row[2]), .text(row[3]), .text(row[4]), .int(row[5])]
            }
            let contacts = try Row.fetchAll(db, sql: """
                SELECT u.client, '', '', c.clinic, c.last_day, min(u.day)
                FROM \(tables["uses_by_lot"]) i CROSS JOIN \(tables["uses"]) u ON u.position = i.position AND u.lot = i.lot
                LEFT JOIN \(tables["clients"]) c ON c.client = u.client
                WHERE i.lot = ? GROUP BY u.client ORDER BY c.clinic, u.client
                """, arguments: [lot]).map { row -> [ReportValue] in
                [.text(row[0]), .text(row[1] ?? ""), .text(row[2] ?? ""), .text(row[3] ?? ""),
                 .text((row[4] as Int?).map { Day(daysSinceEpoch: $0).description } ?? ""), .text(Day(daysSinceEpoch: row[5]).description)]
            }
            return (info, uses, contacts)
        }
        guard stored.0 != nil || !stored.1.isEmpty else { throw ReportsError.notFound(what: "lot", id: lot) }
        var result = stored
        let found = try await contacts(result.2.map { $0[0].description })
        // The uses name clients the same way as the contact list (a pseudonym for non-admins).
        result.1 = result.1.map { row in
            var row = row
            row[1] = .text((found[row[1].description] ?? ClientContact()).shownClient(row[1].description))
            return row
        }
        result.2 = result.2.map { row in
            var row = row
            let contact = found[row[0].description] ?? ClientContact()
            row[0] = .text(contact.shownClient(row[0].description))
            row[1] = .text(contact.shownName)
            row[2] = .text(contact.shownContact)
            return row
        }
        func field(_ name: String) -> String? { result.0?.values[name] ?? nil }
        var title = "Lot \(LotIdentity.number(of: lot))"
        if let kind = field("kind"), !kind.isEmpty {
            title += ": \(kind), \([field("manufacturer"), field("product"), field("shade")].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " "))"
            title += ", expires \(field("expiry") ?? "?"), received \(field("received_on") ?? "?") at \(field("clinic") ?? "?")"
        } else {
            title += " (never received)"
        }
        var notes = ["\(result.1.count) procedure\(result.1.count == 1 ? "" : "s") used it, on \(result.2.count) client\(result.2.count == 1 ? "" : "s")"]
        if let discarded = field("discarded_on") { notes.append("discarded on \(discarded)") }
        var sections = [ReportTable(title: title, columns: ["date", "client", "procedure", "clinic", "areas", "position"], rows: result.1, notes: notes)]
        if let recalled = field("recalled_on") {
            sections.append(ReportTable(
                title: "RECALLED on \(recalled) by \(field("authority") ?? "?") (\(field("notice") ?? "?")): \(field("reason") ?? "") — clients to contact",
                columns: ["client", "name", "contact", "clinic", "lastProcedure", "firstExposure"], rows: result.2,
                notes: ["\(result.2.count) client\(result.2.count == 1 ? "" : "s") to contact"]))
        }
        return Report(sections: sections, notice: notice)
    }

    /// What falls due around `on`: touch-ups falling due in the 30 days from it (last
    /// procedure + `touchUpMonths`), guarantees ending within 30 days, and courses overdue (last session
    /// more than 30 days before it and fewer sessions than planned).
    ///
    /// - Parameter clinic: only that clinic's clients (`nil`: the chain's).
    public func due(on day: Day, touchUpMonths: Int = ClinicReports.defaultTouchUpMonths, clinic: String? = nil) async throws -> Report {
        guard (1...240).contains(touchUpMonths) else {
            throw ReportsError.invalidArgument("the touch-up interval must be 1 to 240 months, not \(touchUpMonths)")
        }
        struct Client: Sendable {
            var id: String, clinic: String
            var planned: Int64, sessions: Int64, touchUps: Int64
            var lastSession: Day?, lastProcedure: Day?, guaranteeUsed: Bool
        }
        let (clients, notice) = try await read("due") { tables, db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM \(tables["clients"]) WHERE last_procedure_day IS NOT NULL AND (?1 IS NULL OR clinic = ?1) ORDER BY client", arguments: [clinic]
            ).map { row in
                Client(
                    id: row["client"], clinic: row["clinic"], planned: row["planned"],
                    sessions: row["sessions"], touchUps: row["touch_ups"],
                    lastSession: (row["last_session_day"] as Int?).map(Day.init(daysSinceEpoch:)),
                    lastProcedure: (row["last_procedure_day"] as Int?).map(Day.init(daysSinceEpoch:)), guaranteeUsed: row["guarantee_used"])
            }
        }
        let horizon = day.adding(days: Self.lookAheadDays)
        let found = try await contacts(clients.map(\.id))
        var touchUps: [(Day, [ReportValue])] = [], guarantees: [(Day, [ReportValue])] = [], overdue: [(Day, [ReportValue])] = []
        for client in clients {
            // Without a consultation's estimate, the usual course of 3 sessions (DOMAIN.md).
            let planned = client.planned > 0 ? client.planned : Self.usualCourse
            let courseDone = client.touchUps > 0 || client.sessions >= planned
            let contact = found[client.id] ?? ClientContact()
            let who: [ReportValue] = [
                .text(contact.shownClient(client.id)), .text(contact.shownName),
                .text(contact.erased ? "[erased]" : contact.pseudonym != nil ? "" : contact.phone), .text(client.clinic),
            ]
            if courseDone, let last = client.lastProcedure {
                let dueOn = last.adding(months: touchUpMonths)
                if day <= dueOn && dueOn <= horizon {
                    touchUps.append((dueOn, who + [.text(last.description), .text(dueOn.description), .int(Int64(dueOn.daysSinceEpoch - day.daysSinceEpoch))]))
                }
            }
            if courseDone, !client.guaranteeUsed, let last = client.lastSession {
                let ends = last.adding(months: Self.guaranteeMonths)
                if day <= ends && ends <= horizon {
                    guarantees.append((ends, who + [.text(last.description), .text(ends.description), .int(Int64(ends.daysSinceEpoch - day.daysSinceEpoch))]))
                }
            }
            if !courseDone, client.sessions > 0, let last = client.lastSession, last.adding(days: Self.courseOverdueDays) < day {
                overdue.append((last, who + [.text("\(client.sessions) of \(planned)"), .text(last.description),
                                             .int(Int64(day.daysSinceEpoch - last.daysSinceEpoch))]))
            }
        }
        func sorted(_ rows: [(Day, [ReportValue])]) -> [[ReportValue]] { rows.sorted { $0.0 < $1.0 }.map(\.1) }
        let sections = [
            ReportTable(title: "Touch-ups falling due \(day) to \(horizon) (last procedure + \(touchUpMonths) months)",
                        columns: ["client", "name", "phone", "clinic", "lastProcedure", "due", "daysFromNow"], rows: sorted(touchUps),
                        notes: ["\(touchUps.count) touch-up\(touchUps.count == 1 ? "" : "s") due"]),
            ReportTable(title: "Guarantees ending \(day) to \(horizon) (\(Self.guaranteeMonths) months after the course's last session, unused)",
                        columns: ["client", "name", "phone", "clinic", "lastSession", "ends", "daysLeft"], rows: sorted(guarantees),
                        notes: ["\(guarantees.count) guarantee\(guarantees.count == 1 ? "" : "s") ending"]),
            ReportTable(title: "Courses overdue on \(day) (last session over \(Self.courseOverdueDays) days ago, fewer sessions than planned)",
                        columns: ["client", "name", "phone", "clinic", "sessions", "lastSession", "daysSince"], rows: sorted(overdue),
                        notes: ["\(overdue.count) course\(overdue.count == 1 ? "" : "s") overdue"]),
        ]
        return Report(sections: sections, notice: notice)
    }
}
