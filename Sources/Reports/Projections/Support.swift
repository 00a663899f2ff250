import EventLog
import Foundation
import GRDB
import Recording
import SwiftProtobuf
import Treatment

extension Database {
    /// Runs a statement kept prepared for this connection (projections run the same few
    /// statements for every event).
    func run(_ sql: String, _ arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

/// The client-stream event types (history reads them all).
let clientEventTypes = Set(EventCatalogue.all.filter { $0.category == .client }.map(\.type))

/// What sessions and touch-ups share, read once from either message when the event is
/// decoded (on the reading side of the pipeline), with the values several projections
/// write already worked out, so the writer only binds them.
struct Procedure {
    var kind: Kind
    var clinicID: String
    var technicianID: String
    var supervisorID: String
    var startedAt: Int64
    var endedAt: Int64
    var areas: [Stipple_V1_ScalpArea]
    var pigments: [Stipple_V1_PigmentUse]
    var cartridges: [Stipple_V1_CartridgeUse]
    var bookingID: String
    var underGuarantee: Bool
    /// Its clinic's time, as in force at its position.
    let time: ClinicTime
    /// The local day it started, at its clinic.
    let day: Day
    /// `session 2` or `touch-up`.
    let label: String
    /// The scalp areas, in words.
    let areaNames: String
    /// The lot numbers used, each once, none empty.
    let lots: [String]
    /// `PB-1187 (exp. 2027-05-31); …` of pigments and of cartridges (the records' form).
    let pigmentRecord: String
    let cartridgeRecord: String
    /// An old session's needle text that did not read as a configuration and a diameter.
    let legacyNeedleText: String

    enum Kind: Equatable {
        case session(Int32)
        case touchUp
    }

    /// - Parameter time: its clinic's time (its day is a local day there).
    init?(_ message: any SwiftProtobuf.Message, time: ClinicTime) {
        switch message {
        case let session as Stipple_V1_SessionRecordedV2:
            kind = .session(session.sessionNumber)
            clinicID = session.clinicID
            technicianID = session.technicianID
            supervisorID = session.supervisorID
            startedAt = session.startedAt.seconds
            endedAt = session.endedAt.seconds
            areas = session.areas
            pigments = session.pigments
            cartridges = session.cartridges
            bookingID = session.bookingID
            underGuarantee = false
            legacyNeedleText = session.legacyNeedleText
        case let touchUp as Stipple_V1_TouchUpRecorded:
            kind = .touchUp
            clinicID = touchUp.clinicID
            technicianID = touchUp.technicianID
            supervisorID = touchUp.supervisorID
            startedAt = touchUp.startedAt.seconds
            endedAt = touchUp.endedAt.seconds
            areas = touchUp.areas
            pigments = touchUp.pigments
            cartridges = touchUp.cartridges
            bookingID = touchUp.bookingID
            underGuarantee = touchUp.underGuarantee
            legacyNeedleText = ""
        default:
            return nil
        }
        self.time = time
        day = time.day(of: startedAt)
        switch kind {
        case .session(let number): label = "session \(number)"
        case .touchUp: label = "touch-up"
        }
        areaNames = areas.map(Names.area).joined(separator: ", ")
        var seen = Set<String>()
        lots = (pigments.map(\.lotID) + cartridges.map(\.lotID)).filter { !$0.isEmpty && seen.insert($0).inserted }
        // A lot is its number and its manufacturer (LotIdentity): the record names both.
        func record(_ lot: String, _ manufacturer: String, _ expiry: String) -> String {
            "\(lot)\(manufacturer.isEmpty ? "" : " " + manufacturer) (exp. \(expiry.isEmpty ? "?" : expiry))"
        }
        pigmentRecord = pigments.map { $0.lot.isEmpty ? "lot not recorded" : record($0.lot, $0.brand, $0.expiry) }.joined(separator: "; ")
        // An old session's cartridge has no lot; its needle text, where it did not read, is shown as written.
        cartridgeRecord = (cartridges.map { $0.lot.isEmpty ? "lot not recorded" : record($0.lot, $0.manufacturer, $0.expiry) }
            + (legacyNeedleText.isEmpty ? [] : ["needle as recorded: \(legacyNeedleText)"])).joined(separator: "; ")
    }

    var minutes: Int64 { max(0, (endedAt - startedAt) / 60) }
    var sessionNumber: Int32 {
        if case .session(let number) = kind { return number }
        return 0
    }
}

/// People-facing names of the schemas' enums.
package enum Names {
    /// The clinic an event names, if it names one (a lot's receipt names its clinic).
    package static func clinic(of message: any SwiftProtobuf.Message) -> String? {
        let clinic: String
        switch message {
        case let m as Stipple_V1_ClientRegistered: clinic = m.clinicID
        case let m as Stipple_V1_ConsultationRecorded: clinic = m.clinicID
        case let m as Stipple_V1_ConsentSigned: clinic = m.clinicID
        case let m as Stipple_V1_SessionBooked: clinic = m.clinicID
        case let m as Stipple_V1_SessionRecordedV2: clinic = m.clinicID
        case let m as Stipple_V1_TouchUpRecorded: clinic = m.clinicID
        case let m as Stipple_V1_BatchReceived: clinic = m.clinicID
        case let m as Stipple_V1_BatchOpened: clinic = m.clinicID
        default: return nil
        }
        return clinic.isEmpty ? nil : clinic
    }

    static func area(_ area: Stipple_V1_ScalpArea) -> String {
        switch area {
        case .hairline: return "hairline"
        case .temples: return "temples"
        case .crown: return "crown"
        case .densityFill: return "density fill"
        case .scar: return "scar"
        case .fullScalp: return "full scalp"
        default: return "unspecified"
        }
    }

    static func needle(_ configuration: Stipple_V1_NeedleConfiguration) -> String {
        switch configuration {
        case .needleConfiguration1Rl: return "1RL"
        case .needleConfiguration3Rl: return "3RL"
        default: return "?"
        }
    }
}

/// A typed correction of a session or a touch-up (``Amendments``), as the reports fold it:
/// the procedure as it stood before the amendment (the original with every earlier
/// correction) and after it, and all the client's procedures as corrected. Worked out on
/// the reading side from the client's stream, so each projection only moves its rows from
/// `before` to `after` (or recounts the client from `procedures`).
struct Correction: Sendable {
    /// The position of the corrected event (projections key their rows by it).
    let target: Int64
    let before: Procedure
    let after: Procedure
    /// Every session and touch-up of the client up to the amendment, each as corrected
    /// through it, in log order.
    let procedures: [Procedure]

    /// The correction `amendment` makes, from `earlier` (its client's events before it);
    /// `nil` when it corrects nothing the reports fold (a note, a disputed record, another type).
    ///
    /// Every version of a procedure counts its day in its clinic's zone as in force at the
    /// procedure's own position, so one correction's `after` is the next one's `before`.
    static func of(_ amendment: Stipple_V1_RecordAmended, earlier: [RecordedEvent], times: ClinicTimes) throws -> Correction? {
        guard !amendment.disputed, amendment.corrected != nil, let id = UUID(uuidString: amendment.correctsEventID) else { return nil }
        // The client's sessions and touch-ups, each with the typed corrections before this one.
        let relevant = earlier.filter { ["SessionRecorded", "TouchUpRecorded", "RecordAmended"].contains($0.type) }
        let folded = Amendments.folded(try relevant.map { (id: $0.id, message: try Recorder.decode($0)) })
        var messages = zip(relevant, folded).compactMap { stored, message -> (position: Int64, id: UUID, message: any SwiftProtobuf.Message)? in
            stored.type == "RecordAmended" ? nil : (stored.position, stored.id, message)
        }
        guard let index = messages.firstIndex(where: { $0.id == id }) else { return nil }
        func procedure(_ message: any SwiftProtobuf.Message, at position: Int64) -> Procedure? {
            let time = Names.clinic(of: message).map { times.time(of: $0, at: position) } ?? .chainDefault
            return Procedure(message, time: time)
        }
        let target = messages[index]
        guard let before = procedure(target.message, at: target.position) else { return nil }
        messages[index].message = Amendments.corrected(target.message, by: amendment)
        guard let after = procedure(messages[index].message, at: target.position) else { return nil }
        return Correction(target: target.position, before: before, after: after,
                          procedures: messages.compactMap { procedure($0.message, at: $0.position) })
    }

    /// Sets the correction of every typed amendment among `events`, reading their clients'
    /// streams in `db` (a snapshot or the writer's transaction; amendments are rare).
    static func resolve(_ events: inout [ProjectedEvent], log: EventLog, times: ClinicTimes, in db: Database) throws {
        for index in events.indices {
            guard let amendment = events[index].message as? Stipple_V1_RecordAmended, amendment.corrected != nil else { continue }
            let earlier = try log.events(stream: events[index].stream, before: events[index].position, in: db)
            do {
                events[index].correction = try of(amendment, earlier: earlier, times: times)
            } catch {
                throw ReportsError.undecodable(position: events[index].position, type: events[index].type, reason: "its corrected event: \(error)")
            }
        }
    }
}
