import EventLog
import Foundation
import Testing
import Treatment
@testable import Reports

/// Each report on ``ClinicScenario``, with rows worked out by hand from the scenario.
@Suite("Clinic reports on a chain worked out by hand")
struct ClinicReportsTests {
    let scenario: ClinicScenario
    let reports: ClinicReports

    init() async throws {
        scenario = try await ClinicScenario()
        // "Now" for bookings ahead: 2026-03-25, when B5 (2026-04-06) is still to come.
        reports = ClinicReports(log: scenario.log, now: { Date(timeIntervalSince1970: Double(Day("2026-03-25")!.startSeconds)) })
        try await reports.projector.catchUp()
    }

    func texts(_ table: ReportTable, _ columns: [String]) -> [[String]] {
        table.rows.indices.map { row in columns.map { table.value($0, row: row)?.description ?? "?" } }
    }

    @Test("history: every event of the client in order, the amendment beside what it corrects, --as-of replays the past")
    func history() async throws {
        let report = try await reports.history(client: "42")
        let table = report.sections[0]
        #expect(report.notice == nil)
        #expect(table.column("event").map(\.description) == [
            "ClientRegistered", "ConsultationRecorded", "ConsentSigned", "SessionBooked", "SessionBooked", "SessionBooked",
            "SessionBooked", "SessionBooked", "SessionRecorded", "SessionRecorded", "SessionCancelled", "RecordAmended", "SessionNoShow",
        ])
        let session1 = scenario.positions["session1"]!, amendment = scenario.positions["amendment"]!
        let details = table.column("details").map(\.description)
        // Recorded at 10:00 UTC: 05:00 in Toronto, where the history shows it.
        #expect(details[8] == "session 1 at toronto by 17; 05:00, 3.0 h; areas hairline; pigments PB-1187 (Perma Blend SMP Dark Grey, 30%); "
            + "cartridges NC-0412 (Kwadron 3RL 0.25 mm); depth 0.9 mm; amended by event \(amendment)")
        #expect(details[9].hasPrefix("session 2 at toronto by 21 supervised by 17;"))
        #expect(details[11] == "record amended (depthMm): depth was 1.0 mm, not 0.9; corrected to {\"depthMm\":1.0}; corrects event \(session1)")
        #expect(table.value("date", row: 1) == "2026-02-20")
        #expect(table.value("recorded", row: 8) == "2026-03-02 09:00 -05:00", "14:00 UTC, in the client's clinic's time")
        #expect(table.value("actor", row: 0) == "admin-1")
        // As of 2026-03-11 the amendment and the no-show had not been recorded yet.
        let past = try await reports.history(client: "42", asOf: Day("2026-03-11")!).sections[0]
        #expect(past.rows.count == 11)
        #expect(!past.column("details").map(\.description)[8].contains("amended"))
        await #expect(throws: ReportsError.notFound(what: "client", id: "99")) { try await reports.history(client: "99") }
    }

    @Test("workload: sessions and hours per technician and week, bookings ahead, cancellations, no-shows")
    func workload() async throws {
        let table = try await reports.workload(from: Day("2026-03-02")!, to: Day("2026-04-12")!).sections[0]
        #expect(texts(table, ["technician", "clinic", "week", "sessions", "touchUps", "hoursDone", "bookingsAhead", "cancelled", "noShows"]) == [
            ["17", "toronto", "2026-W10", "1", "0", "3.0", "0", "0", "0"],
            ["17", "toronto", "2026-W12", "0", "0", "0.0", "0", "1", "0"],
            ["17", "toronto", "2026-W13", "0", "0", "0.0", "0", "0", "1"],
            ["17", "toronto", "2026-W15", "0", "0", "0.0", "1", "0", "0"],
            ["21", "toronto", "2026-W10", "1", "0", "3.0", "0", "0", "0"],
        ])
        // A range of one week, at one clinic.
        let week = try await reports.workload(from: Day("2026-03-04")!, to: Day("2026-03-04")!, clinic: "toronto").sections[0]
        #expect(week.rows.count == 2)
        await #expect(throws: ReportsError.notFound(what: "clinic", id: "ottawa")) {
            try await reports.workload(from: Day("2026-03-02")!, to: Day("2026-03-08")!, clinic: "ottawa")
        }
        await #expect(throws: ReportsError.invalidArgument("the range is reversed: --to 2026-03-01 is before --from 2026-03-08")) {
            try await reports.workload(from: Day("2026-03-08")!, to: Day("2026-03-01")!)
        }
    }

    @Test("audit: the recall and the suspension recorded later reach session 2, not session 1; violations first, then the clean count")
    func audit() async throws {
        let table = try await reports.audit().sections[0]
        #expect(texts(table, ["date", "client", "procedure", "technician", "supervisor", "rule", "finding"]) == [
            ["2026-03-05", "42", "session 2", "21", "17", "trainee-supervised", "supervisor 17 is not certified on 2026-03-05"],
            ["2026-03-05", "42", "session 2", "21", "17", "lot-not-recalled", "lot PB-1187 of Perma Blend was recalled on 2026-03-03 (Health Canada RA-2026-0042)"],
        ])
        #expect(table.notes == ["2 procedures checked: 1 with findings (2 in all), 1 clean"])
        // Limited to the first session's day: nothing to report.
        let first = try await reports.audit(from: Day("2026-03-01")!, to: Day("2026-03-02")!).sections[0]
        #expect(first.rows.isEmpty)
        #expect(first.notes == ["1 procedures checked: 0 with findings (0 in all), 1 clean"])
    }

    @Test("lot: where the recalled lot went and whom to contact")
    func lot() async throws {
        let report = try await reports.lot("PB-1187~perma-blend")
        #expect(report.sections[0].title == "Lot PB-1187: pigment, Perma Blend SMP Pigment SMP Dark Grey, expires 2027-05-31, received 2025-12-01 at toronto")
        #expect(texts(report.sections[0], ["date", "client", "procedure", "clinic", "areas"]) == [
            ["2026-03-02", "42", "session 1", "toronto", "hairline"],
            ["2026-03-05", "42", "session 2", "toronto", "hairline"],
        ])
        #expect(report.sections[1].title.hasPrefix("RECALLED on 2026-03-03 by Health Canada (RA-2026-0042): microbial contamination"))
        #expect(texts(report.sections[1], ["client", "name", "contact", "clinic", "lastProcedure", "firstExposure"]) == [
            ["42", "Ada Example", "+1-416-555-0142", "toronto", "2026-03-05", "2026-03-02"],
        ])
        // A lot never recalled has no contact list.
        #expect(try await reports.lot("NC-0412~kwadron").sections.count == 1)
        await #expect(throws: ReportsError.notFound(what: "lot", id: "XX-1")) { try await reports.lot("XX-1") }
    }

    /// Session 3 of client 42 on 2026-05-04, by a third technician (30: senior, trained,
    /// no hepatitis B status on file) with a new pigment lot, PB-2000.
    func finishTheCourse() async throws {
        scenario.clock.set("2026-05-01")
        var registered = Stipple_V1_TechnicianRegistered()
        registered.personal.name = "Technician 30"
        try await scenario.record(registered, "TechnicianRegistered", "technician-30")
        var granted = Stipple_V1_CertificationGranted()
        granted.certificationID = "C-30"
        granted.level = .senior
        granted.issuedOn = "2025-01-01"
        granted.expiresOn = "2028-01-01"
        try await scenario.record(granted, "CertificationGranted", "technician-30")
        var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
        training.completedOn = "2026-01-15"
        try await scenario.record(training, "BloodbornePathogensTrainingRecorded", "technician-30")
        var received = Stipple_V1_BatchReceived()
        received.lot = "PB-2000"
        received.kind = .pigment
        received.expiry = "2028-01-31"
        try await scenario.record(received, "BatchReceived", "batch-PB-2000")
        var third = scenario.session(3, on: "2026-05-04", by: "30", booking: "")
        third.pigments[0].lot = "PB-2000"
        try await scenario.recorder.recordSession(client: "42", third, metadata: scenario.staff)
        try await reports.projector.catchUp()
    }

    @Test("due: a course of 3 with 2 sessions is overdue 30 days after its last; touch-ups and guarantees follow a finished course")
    func due() async throws {
        let early = try await reports.due(on: Day("2026-03-20")!)
        #expect(early.sections.map(\.rows.count) == [0, 0, 0])
        let late = try await reports.due(on: Day("2026-05-01")!)
        #expect(texts(late.sections[2], ["client", "name", "sessions", "lastSession", "daysSince"]) == [
            ["42", "Ada Example", "2 of 3", "2026-03-05", "57"],
        ])
        // Once the course is finished (session 3 by a third technician with a new pigment
        // lot): a touch-up 12 months on (as told) and the guarantee ending a year on.
        try await finishTheCourse()
        let year = try await reports.due(on: Day("2027-04-20")!, touchUpMonths: 12)
        #expect(texts(year.sections[0], ["client", "lastProcedure", "due", "daysFromNow"]) == [["42", "2026-05-04", "2027-05-04", "14"]])
        #expect(texts(year.sections[1], ["client", "lastSession", "ends", "daysLeft"]) == [["42", "2026-05-04", "2027-05-04", "14"]])
        #expect(year.sections[2].rows.isEmpty)
        // With the default interval (36 months) no touch-up is due yet.
        #expect(try await reports.due(on: Day("2027-04-20")!).sections[0].rows.isEmpty)
        await #expect(throws: ReportsError.invalidArgument("the touch-up interval must be 1 to 240 months, not 0")) {
            try await reports.due(on: Day("2026-05-01")!, touchUpMonths: 0)
        }
    }

    @Test("audit: a technician with no hepatitis B status on file is a finding, until one dated on or before the day is put on file")
    func auditHepatitisB() async throws {
        try await finishTheCourse()
        func findings() async throws -> [[String]] {
            texts(try await reports.audit(from: Day("2026-05-04")!, to: Day("2026-05-04")!).sections[0], ["procedure", "technician", "rule", "finding"])
                .filter { $0[2] == "hepatitis-b-status" }
        }
        #expect(try await findings() == [["session 3", "30", "hepatitis-b-status", "technician 30 had no hepatitis B status on file on 2026-05-04 (recorded, declined or exempt)"]])
        var late = Stipple_V1_HepatitisBStatusRecorded()
        late.status = .recorded
        late.onFileFrom = "2026-05-05"
        try await scenario.record(late, "HepatitisBStatusRecorded", "technician-30")
        try await reports.projector.catchUp()
        #expect(try await findings().count == 1, "put on file after the day: the finding stays")
        var onTime = Stipple_V1_HepatitisBStatusRecorded()
        onTime.status = .exempt
        onTime.onFileFrom = "2026-05-01"
        try await scenario.record(onTime, "HepatitisBStatusRecorded", "technician-30")
        try await reports.projector.catchUp()
        #expect(try await findings().isEmpty, "the audit re-checked the technician's procedures from that day")
    }

    @Test("conversion: two consultations in February, one went on to a first session")
    func conversion() async throws {
        let table = try await reports.conversion(from: Day("2026-02-01")!, to: Day("2026-02-28")!).sections[0]
        #expect(texts(table, ["clinic", "consultations", "firstSessions", "percent"]) == [["toronto", "2", "1", "50.0"]])
        #expect(try await reports.conversion(from: Day("2026-03-01")!, to: Day("2026-03-31")!).sections[0].rows.isEmpty)
    }

    @Test("records: each procedure with the client's name and contact, provider, lots and their expiry")
    func records() async throws {
        let table = try await reports.serviceRecords(from: Day("2026-03-01")!, to: Day("2026-03-31")!).sections[0]
        #expect(texts(table, ["date", "client", "name", "contact", "procedure", "clinic", "provider", "pigmentLots", "cartridgeLots"]) == [
            ["2026-03-02", "42", "Ada Example", "+1-416-555-0142", "session 1", "toronto", "17 (Technician 17)",
             "PB-1187 Perma Blend (exp. 2027-05-31)", "NC-0412 Kwadron (exp. 2027-05-31)"],
            ["2026-03-05", "42", "Ada Example", "+1-416-555-0142", "session 2", "toronto", "21 (Technician 21), supervised by 17",
             "PB-1187 Perma Blend (exp. 2027-05-31)", "NC-0412 Kwadron (exp. 2027-05-31)"],
        ])
        // The correction of session 1 shows beside it; session 2 has none.
        let amendment = scenario.positions["amendment"]!
        #expect(table.column("amended") == [.text("depthMm: depth was 1.0 mm, not 0.9 (event \(amendment))"), .text("")])
    }

    /// Every report's tables, for comparing two ways of building them.
    func everyReport() async throws -> [ReportTable] {
        let from = Day("2026-01-01")!, to = Day("2026-12-31")!
        var tables: [ReportTable] = []
        for report in [
            try await reports.workload(from: from, to: to), try await reports.audit(), try await reports.lot("PB-1187~perma-blend"),
            try await reports.lot("NC-0412~kwadron"), try await reports.due(on: Day("2026-05-01")!), try await reports.serviceRecords(from: from, to: to),
            try await reports.conversion(from: from, to: to),
        ] { tables += report.sections }
        return tables
    }

    /// Records a typed correction of session 1 (its own values, over `fields`).
    func amendSession1(_ fields: [String], reason: String, _ correct: (inout Stipple_V1_SessionRecordedV2) -> Void) async throws {
        var amendment = Stipple_V1_RecordAmended()
        amendment.correctsEventID = try await scenario.log.readAll(from: scenario.positions["session1"]!, limit: 1)[0].id.uuidString
        amendment.fields = fields
        amendment.reason = reason
        var values = Stipple_V1_SessionRecordedV2()
        correct(&values)
        amendment.session = values
        try await scenario.recorder.amend(client: "42", amendment, metadata: scenario.staff)
        try await reports.projector.catchUp()
    }

    /// Session 1 corrected as in ``corrections()``: trainee 21's, four hours; then on the 9th.
    func correctSession1Twice() async throws {
        try await amendSession1(["technicianId", "endedAt"], reason: "recorded under the supervisor's name") {
            $0.technicianID = "21"
            $0.endedAt = ClinicScenario.at("2026-03-02", 14)
        }
        try await moveSession1ToThe9th()
    }

    /// Session 1 corrected: it was on 2026-03-09.
    func moveSession1ToThe9th() async throws {
        try await amendSession1(["startedAt", "endedAt"], reason: "the day was the 9th") {
            $0.startedAt = ClinicScenario.at("2026-03-09", 10)
            $0.endedAt = ClinicScenario.at("2026-03-09", 14)
        }
    }

    @Test("a session's technician and hours corrected: workload and audit move it, and a rebuild agrees with the reports kept current")
    func corrections() async throws {
        // Session 1 was trainee 21's, alone, and lasted four hours, not three.
        try await amendSession1(["technicianId", "endedAt"], reason: "recorded under the supervisor's name") {
            $0.technicianID = "21"
            $0.endedAt = ClinicScenario.at("2026-03-02", 14)
        }
        let workload = try await reports.workload(from: Day("2026-03-02")!, to: Day("2026-03-08")!).sections[0]
        #expect(texts(workload, ["technician", "clinic", "week", "sessions", "hoursDone"]) == [["21", "toronto", "2026-W10", "2", "7.0"]])
        let audit = try await reports.audit().sections[0]
        #expect(texts(audit, ["date", "procedure", "technician", "supervisor", "rule"]).contains(["2026-03-02", "session 1", "21", "", "trainee-supervised"]))
        #expect(audit.notes == ["2 procedures checked: 2 with findings (3 in all), 0 clean"])
        let records = try await reports.serviceRecords(from: Day("2026-03-02")!, to: Day("2026-03-02")!).sections[0]
        #expect(records.column("provider").map(\.description).first?.contains("21") == true)

        // Corrected again: it was on 2026-03-09 (week 11), and used pigment lot PB-2001.
        try await amendSession1(["startedAt", "endedAt"], reason: "the day was the 9th") {
            $0.startedAt = ClinicScenario.at("2026-03-09", 10)
            $0.endedAt = ClinicScenario.at("2026-03-09", 14)
        }
        let moved = try await reports.workload(from: Day("2026-03-02")!, to: Day("2026-03-15")!).sections[0]
        #expect(texts(moved, ["technician", "week", "sessions", "hoursDone"]).filter { $0[0] == "21" } == [
            ["21", "2026-W10", "1", "3.0"], ["21", "2026-W11", "1", "4.0"],
        ])
        let lot = try await reports.lot("PB-1187~perma-blend")
        #expect(texts(lot.sections[0], ["date", "procedure"]) == [["2026-03-05", "session 2"], ["2026-03-09", "session 1"]])
        #expect(texts(lot.sections[1], ["client", "lastProcedure", "firstExposure"]) == [["42", "2026-03-09", "2026-03-05"]])
        let due = try await reports.due(on: Day("2026-05-01")!)
        #expect(texts(due.sections[2], ["client", "sessions", "lastSession"]) == [["42", "2 of 3", "2026-03-09"]])

        // Built again from the log, every report is the same as kept current event by event.
        let current = try await everyReport()
        _ = try await reports.projector.rebuild()
        #expect(try await everyReport() == current)
    }

    @Test("report indexes kept current by their triggers hold the rows a rebuild fills in key order after its load")
    func triggersKeepReportIndexes() async throws {
        // The live generations were built at init; the corrections reach them through the
        // triggers (a day moved: an update; lots moved: a delete and an insert).
        try await correctSession1Twice()
        let kept = try await everyRow()
        let indexed = ["audit/procedures_by_day", "records/procedures_by_day", "conversion/consultations_by_day", "lots/uses_by_lot"]
        for table in indexed {
            #expect(kept[table]?.isEmpty == false, "\(table) holds the report index")
        }
        #expect(kept["audit/procedures_by_day"]?.contains { $0.contains("day:\(Day("2026-03-09")!.daysSinceEpoch)") } == true, "the moved day is indexed")
        _ = try await reports.projector.rebuild()
        #expect(try await everyRow() == kept)
    }

    @Test("a rebuild stopped while it fills the report indexes goes on after the last key copied, and ends as an uninterrupted one")
    func rebuildStoppedWhileIndexing() async throws {
        var options = Projector.Options()
        options.maxEventsPerTransaction = 1  // one index row per transaction too
        let stopping = ClinicReports(log: scenario.log, options: options)
        let stopped = Task {
            try await stopping.projector.rebuild(progress: { progress in
                if progress.phase.contains(": index "), progress.done < progress.total { withUnsafeCurrentTask { $0?.cancel() } }
            })
        }
        await #expect(throws: CancellationError.self) { try await stopped.value }
        // The stopped fill's sorted copy went with it, on whichever reader it ran.
        #expect(try await temporaryTablesOnReaders() == 0)
        let building = try await reports.projector.registry().filter { $0.state == .building }
        try #require(building.count == ClinicReports.projections.count)
        let indexing = building.filter { $0.indexPhase == .indexing }
        try #require(indexing.count == 1, "stopped in the index phase of one projection")
        // Events appended meanwhile are folded after the index phase, through the triggers.
        try await moveSession1ToThe9th()
        let resumed = try await reports.projector.rebuild()
        #expect(resumed.allSatisfy { $0.resumed })
        #expect(Dictionary(uniqueKeysWithValues: resumed.map { ($0.name, $0.generation) })
                == Dictionary(uniqueKeysWithValues: building.map { ($0.name, $0.generation) }))
        let afterResume = try await everyRow()
        let reportsAfterResume = try await everyReport()
        _ = try await reports.projector.rebuild()
        #expect(try await everyRow() == afterResume)
        #expect(try await everyReport() == reportsAfterResume)
    }

    @Test("a registry written before index phases existed reads as indexed and gains the column on the next catch-up")
    func registryBeforeIndexPhases() async throws {
        let before = try await everyReport()
        try await scenario.log.writeTables { db in try db.execute(sql: "ALTER TABLE report_projections DROP COLUMN index_phase") }
        let old = try await reports.projector.registry()
        #expect(!old.isEmpty && old.allSatisfy { $0.indexPhase == .indexed })
        #expect(try await everyReport() == before)
        try await reports.projector.catchUp()
        let migrated = try await scenario.log.readTables { db in try !Registry.needsMigration(in: db) }
        #expect(migrated)
        #expect(try await reports.projector.registry() == old)
    }

    /// The temporary tables on the log's readers: eight reads at once, each holding its
    /// connection a moment, so that every reader of the pool (five) answers.
    func temporaryTablesOnReaders() async throws -> Int {
        let log = scenario.log
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await log.readTables { db in
                        Thread.sleep(forTimeInterval: 0.1)
                        return try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_temp_master WHERE type = 'table'") ?? 0
                    }
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// Every row of the live generation of every projection, by projection and table
    /// (generations differ in their tables' names only).
    func everyRow() async throws -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for name in reports.projector.names {
            for (table, tableRows) in try await generationRows(try await reports.projector.source(name).tables, in: scenario.log) {
                rows[name + "/" + table] = tableRows
            }
        }
        return rows
    }

    @Test("every report and every row after a rebuild in full chunks are the same as built one event per transaction")
    func rebuildInChunksMatchesEventByEvent() async throws {
        // Corrections too: they re-read the client's stream and move rows already written.
        try await correctSession1Twice()
        var oneByOne = Projector.Options()
        oneByOne.maxEventsPerTransaction = 1
        let eventByEvent = ClinicReports(log: scenario.log, options: oneByOne)
        let built = try await eventByEvent.projector.rebuild()
        #expect(built.count == ClinicReports.projections.count)
        let reportsEventByEvent = try await everyReport()
        let rowsEventByEvent = try await everyRow()
        #expect(rowsEventByEvent.values.reduce(0) { $0 + $1.count } > 50, "the scenario fills the tables")

        let rebuilt = try await reports.projector.rebuild()
        #expect(zip(rebuilt, built).allSatisfy { $0.generation > $1.generation && $0.checkpoint == $1.checkpoint })
        #expect(try await everyReport() == reportsEventByEvent)
        #expect(try await everyRow() == rowsEventByEvent)
    }

    @Test("the audit is the same when every chunk starts with a fresh cache (as after a restart between chunks)")
    func auditFromFreshCaches() async throws {
        // Rebuild the audit one event per transaction, with a new runtime (no memory) each time.
        var options = Projector.Options()
        options.maxEventsPerTransaction = 1
        var rounds = 0
        while true {
            rounds += 1
            let projector = Projector(log: scenario.log, projections: [AuditProjection()], options: options)
            let rebuild = Task {
                try await projector.rebuild(["audit"], progress: { _ in withUnsafeCurrentTask { $0?.cancel() } })
            }
            if (try? await rebuild.value) != nil { break }
            try #require(rounds < 500)
        }
        #expect(rounds >= 13, "one round per event the audit reads")
        let table = try await ClinicReports(log: scenario.log).audit().sections[0]
        #expect(table.column("finding") == [
            .text("supervisor 17 is not certified on 2026-03-05"), .text("lot PB-1187 of Perma Blend was recalled on 2026-03-03 (Health Canada RA-2026-0042)"),
        ])
        #expect(table.notes == ["2 procedures checked: 1 with findings (2 in all), 1 clean"])
    }
}
