import EventLog
import Foundation
import GRDB
import Recording
import SwiftProtobuf
import Treatment

extension ClinicReports {
    /// A client's full timeline, oldest first: each event with its own date, what it says,
    /// who recorded it; an amendment names the event it corrects and the corrected event
    /// names its amendments.
    ///
    /// - Parameter asOf: only events recorded up to the end of that day (UTC).
    /// - Throws: ``ReportsError/notFound(what:id:)`` for a client the log does not hold.
    public func history(client: String, asOf: Day? = nil) async throws -> Report {
        let ((exists, positions), notice) = try await read("history") { tables, db in
            var sql = "SELECT position FROM \(tables["timeline"]) WHERE client = ?"
            var arguments: StatementArguments = [client]
            if let asOf {
                sql += " AND recorded_at < ?"
                arguments += [asOf.adding(days: 1).startSeconds * 1_000_000]
            }
            let exists = try Int64.fetchOne(db, sql: "SELECT 1 FROM \(tables["timeline"]) WHERE client = ? LIMIT 1", arguments: [client]) != nil
            return (exists, try Int64.fetchAll(db, sql: sql + " ORDER BY position", arguments: arguments))
        }
        guard exists else { throw ReportsError.notFound(what: "client", id: client) }
        let rows = try await log.events(at: positions).map { event in
            TimelineRow(
                position: event.position, id: event.id, type: event.type, recordedAt: event.recordedAtMicros,
                actor: ProjectedEvent.actor(in: event.metadataJSON), event: event)
        }
        let contact = try await contacts([client])[client]
        let who = contact.map { $0.erased ? " (personal data erased)" : $0.name.isEmpty ? "" : " (\($0.name))" } ?? ""
        var table = ReportTable(title: "History of client \(client)\(who)" + (asOf.map { " as of \($0)" } ?? ""),
                                columns: ["position", "recorded", "date", "event", "details", "actor"])
        var positionByID: [String: Int64] = [:]
        var amendments: [Int64: [Int64]] = [:]
        var decoded: [(TimelineRow, any SwiftProtobuf.Message)] = []
        for row in rows {
            let message = try await opener(row.event, try Recorder.decode(row.event))
            positionByID[row.id.uuidString] = row.position
            if let amended = message as? Stipple_V1_RecordAmended, let target = positionByID[amended.correctsEventID.uppercased()] {
                amendments[target, default: []].append(row.position)
            }
            decoded.append((row, message))
        }
        // Dates and times are local to the clinic each event names, else the client's.
        let times = try await DecodedPages.clinicTimes(Set(decoded.compactMap { Names.clinic(of: $0.1) }), in: log)
        let home = decoded.first.flatMap { Names.clinic(of: $0.1) }.map { times[$0] } ?? .chainDefault
        for (row, message) in decoded {
            let position = row.position
            let clinicTime = Names.clinic(of: message).map { times[$0] } ?? home
            var (date, text) = Timeline.describe(message, in: clinicTime)
            if let amended = message as? Stipple_V1_RecordAmended {
                text += positionByID[amended.correctsEventID.uppercased()].map { "; corrects event \($0)" } ?? "; corrects event \(amended.correctsEventID)"
            }
            if let photo = message as? Stipple_V1_PhotoAttached {
                text += positionByID[photo.attachedToEventID.uppercased()].map { "; of event \($0)" } ?? ""
            }
            if let by = amendments[position] { text += "; amended by event " + by.map(String.init).joined(separator: ", ") }
            let recorded = Int64((Double(row.recordedAt) / 1_000_000).rounded(.down))
            table.rows.append([.int(position), .text(home.shown(recorded)), .text(date), .text(row.type), .text(text), .text(row.actor)])
        }
        table.notes.append("\(table.rows.count) event\(table.rows.count == 1 ? "" : "s")")
        table.notes.append("dates and times are local to each clinic (\(home.zone.identifier) for this client's)")
        return Report(sections: [table], notice: notice)
    }
}

struct TimelineRow: Sendable {
    var position: Int64
    var id: UUID
    var type: String
    var recordedAt: Int64
    var actor: String
    var event: RecordedEvent
}

extension UUID {
    /// The UUID of 16 stored bytes.
    init(data: Data) {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { target in _ = data.prefix(16).copyBytes(to: target) }
        self.init(uuid: bytes)
    }
}

