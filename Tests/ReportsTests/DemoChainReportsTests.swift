import EventLog
import Foundation
import Recording
import SwiftProtobuf
import StippleTesting
import Testing
import Treatment
@testable import Reports

/// The reports on a demo chain, each checked against rows the test works out itself from
/// the log's events (decoded here, without the projections' code).
@Suite("Reports on the demo chain agree with the log")
struct DemoChainReportsTests {
    struct Done {
        var client: String, label: String, day: Day, clinic: String, technician: String, minutes: Int64, areas: String
        var lots: Set<String>
        var touchUp: Bool
    }

    @Test("workload, lot trace, history, conversion, records, due and audit, row by row")
    func agree() async throws {
        let folder = try TemporaryFolder("stipple-demo-reports")
        let log = try EventLog.create(at: folder.file("log.sqlite"))
        var options = DemoChain.Options()
        options.seed = 11
        options.clients = 80
        options.years = 2
        var chain = DemoChain(options: options)
        for batch in try chain.transactions() { try await log.transact(batch) }
        let reports = ClinicReports(log: log)
        try await reports.projector.catchUp()

        // The oracle: one pass over the log.
        var done: [Done] = []
        var cancelled = 0, noShows = 0
        var streams: [String: [String]] = [:]
        var consultations: [String: [(client: String, day: Day)]] = [:]
        var firstSession: [String: Day] = [:]
        var planned: [String: Int32] = [:]
        var names: [String: (String, String)] = [:]
        var recalledLot: String?
        for try await event in log.events(pageSize: 1_000) {
            let message = try Recorder.decode(event)
            streams[event.stream, default: []].append(event.type)
            let client = String(event.stream.dropFirst("client-".count))
            switch message {
            case let registered as Stipple_V1_ClientRegistered: names[client] = (registered.personal.name, registered.personal.phone)
            case let consultation as Stipple_V1_ConsultationRecorded:
                consultations[consultation.clinicID, default: []].append((client, Day(consultation.consultedAt)))
                planned[client] = consultation.estimatedSessions
            case is Stipple_V1_SessionCancelled: cancelled += 1
            case is Stipple_V1_SessionNoShow: noShows += 1
            case is Stipple_V1_BatchRecalled: recalledLot = String(event.stream.dropFirst("batch-".count))
            case let session as Stipple_V1_SessionRecordedV2:
                if firstSession[client] == nil { firstSession[client] = Day(session.startedAt) }
                done.append(Done(
                    client: client, label: "session \(session.sessionNumber)", day: Day(session.startedAt), clinic: session.clinicID,
                    technician: session.technicianID, minutes: (session.endedAt.seconds - session.startedAt.seconds) / 60,
                    areas: session.areas.map { "\($0)" }.joined(), lots: Set(session.pigments.map(\.lotID) + session.cartridges.map(\.lotID)), touchUp: false))
            case let touchUp as Stipple_V1_TouchUpRecorded:
                done.append(Done(
                    client: client, label: "touch-up", day: Day(touchUp.startedAt), clinic: touchUp.clinicID,
                    technician: touchUp.technicianID, minutes: (touchUp.endedAt.seconds - touchUp.startedAt.seconds) / 60,
                    areas: "", lots: Set(touchUp.pigments.map(\.lotID) + touchUp.cartridges.map(\.lotID)), touchUp: true))
            default: break
            }
        }
        let first = done.map(\.day).min()!, last = done.map(\.day).max()!

        // Workload over everything: the sums of the log's procedures and booking outcomes.
        // Bookings missed before the first procedure count too: a range around the whole chain.
        let workload = try await reports.workload(from: first.adding(days: -60), to: last.adding(days: 60)).sections[0]
        func sum(_ column: String) -> Double {
            workload.column(column).reduce(0) { total, value in
                switch value {
                case .int(let number): return total + Double(number)
                case .number(let number, _): return total + number
                default: return total
                }
            }
        }
        #expect(Int(sum("sessions")) == done.filter { !$0.touchUp }.count)
        #expect(Int(sum("touchUps")) == done.filter(\.touchUp).count)
        #expect(abs(sum("hoursDone") - Double(done.map(\.minutes).reduce(0, +)) / 60) < 0.5)
        #expect(Int(sum("cancelled")) == cancelled, "report \(sum("cancelled")) log \(cancelled)")
        #expect(cancelled > 0)
        #expect(Int(sum("noShows")) == noShows)
        // One technician-week, worked out from the procedures.
        let sample = done[done.count / 2]
        let week = done.filter { $0.technician == sample.technician && $0.clinic == sample.clinic && $0.day.isoWeek == sample.day.isoWeek }
        let row = try #require(workload.rows.firstIndex { $0[0] == .text(sample.technician) && $0[1] == .text(sample.clinic) && $0[2] == .text(sample.day.isoWeek) })
        #expect(workload.value("sessions", row: row) == .int(Int64(week.filter { !$0.touchUp }.count)))
        #expect(workload.value("touchUps", row: row) == .int(Int64(week.filter(\.touchUp).count)))

        // The recalled lot: every procedure that used it, and each of its clients once.
        let lot = try #require(recalledLot)
        let trace = try await reports.lot(lot)
        let used = done.filter { $0.lots.contains(lot) }.sorted { $0.day < $1.day }
        #expect(!used.isEmpty)
        #expect(trace.sections[0].column("client") == used.map { .text($0.client) })
        #expect(trace.sections[0].column("date") == used.map { .text($0.day.description) })
        #expect(trace.sections[0].column("procedure") == used.map { .text($0.label) })
        let contacts = try #require(trace.sections.last)
        #expect(Set(contacts.column("client")) == Set(used.map { .text($0.client) }))
        #expect(contacts.column("name").count == Set(used.map(\.client)).count)
        for (index, client) in contacts.column("client").enumerated() {
            let id = client.description
            #expect(contacts.value("name", row: index) == .text(names[id]!.0))
            #expect(contacts.value("lastProcedure", row: index) == .text(done.filter { $0.client == id }.map(\.day).max()!.description))
        }

        // History: each client's events, in its stream's order.
        for stream in streams.keys.filter({ $0.hasPrefix("client-") }).sorted().prefix(5) {
            let history = try await reports.history(client: String(stream.dropFirst("client-".count))).sections[0]
            #expect(history.column("event") == streams[stream]!.map { .text($0) })
        }

        // Conversion per clinic over the first year.
        let yearEnd = options.start.adding(days: 364)
        let conversion = try await reports.conversion(from: options.start, to: yearEnd).sections[0]
        for (clinic, list) in consultations {
            let inRange = list.filter { $0.day >= options.start && $0.day <= yearEnd }
            guard let index = conversion.column("clinic").firstIndex(of: .text(clinic)) else {
                #expect(inRange.isEmpty)
                continue
            }
            #expect(conversion.value("consultations", row: index) == .int(Int64(inRange.count)))
            let converted = inRange.filter { consultation in firstSession[consultation.client].map { $0 >= consultation.day } ?? false }
            #expect(conversion.value("firstSessions", row: index) == .int(Int64(converted.count)))
        }

        // Records of one month: one row per procedure, with the client's name.
        let month = (sample.day.adding(days: -15), sample.day.adding(days: 15))
        let records = try await reports.serviceRecords(from: month.0, to: month.1).sections[0]
        let inMonth = done.filter { $0.day >= month.0 && $0.day <= month.1 }
        #expect(records.rows.count == inMonth.count)
        #expect(Set(records.column("name")) == Set(inMonth.map { .text(names[$0.client]!.0) }))

        // Due, on a day mid-way: courses overdue, worked out from planned and done sessions.
        let on = options.start.adding(days: 300)
        var expectedOverdue: [String] = []
        for client in Set(done.map(\.client)) {
            let mine = done.filter { $0.client == client }
            let sessions = mine.filter { !$0.touchUp }
            let count = sessions.compactMap { Int32($0.label.dropFirst("session ".count)) }.max() ?? 0
            // The latest consultation's estimate, or the usual 3 without one.
            let plan = planned[client].flatMap { $0 > 0 ? $0 : nil } ?? 3
            let courseDone = mine.contains(where: \.touchUp) || count >= plan
            if !courseDone, count > 0, let lastSession = sessions.map(\.day).max(), lastSession.adding(days: 30) < on {
                expectedOverdue.append(client)
            }
        }
        let due = try await reports.due(on: on)
        #expect(Set(due.sections[2].column("client")) == Set(expectedOverdue.map { .text($0) }))

        // The audit: every procedure was recorded through the rules, so all are clean.
        let audit = try await reports.audit().sections[0]
        #expect(audit.rows.isEmpty)
        #expect(audit.notes == ["\(done.count) procedures checked: 0 with findings (0 in all), \(done.count) clean"])
    }
}
