import Discretion
import EventLog
import Foundation
import Recording
import Reports
import Treatment

/// A report a user asks for, with its parameters.
public enum ReportRequest: Sendable, Hashable {
    /// Per technician, clinic and ISO week (the whole weeks holding `from` through `to`).
    case workload(from: Day, to: Day, clinic: String?)
    /// Every procedure checked; violations first. Clients by pseudonym.
    case audit(from: Day?, to: Day?)
    /// Who received a lot; for a recalled lot, whom to contact.
    case lot(String)
    /// Touch-ups and guarantees falling due, courses overdue (at one clinic, or the chain's).
    case due(on: Day, touchUpMonths: Int, clinic: String? = nil)
    /// Consultations per clinic and how many went on to a first session.
    case conversion(from: Day, to: Day)
    /// The personal-service-settings record.
    case records(from: Day, to: Day)
    /// Who was shown a client's record (admins, auditors).
    case access(client: String)

    /// The report's name, as the CLI's subcommand and the API's path give it.
    public var name: ReportName {
        switch self {
        case .workload: return .workload
        case .audit: return .audit
        case .lot: return .lot
        case .due: return .due
        case .conversion: return .conversion
        case .records: return .records
        case .access: return .access
        }
    }
}

/// The reports, by name.
public enum ReportName: String, Sendable, Hashable, CaseIterable {
    case workload, audit, lot, due, conversion, records, access
}

/// A projection of this build, by name (`stipple rebuild NAME`).
public struct ProjectionName: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// `nil` for a name no projection of this build has.
    public init?(rawValue: String) {
        guard Self.all.contains(where: { $0.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    private init(known: String) { rawValue = known }

    /// Every projection, in the order `reports status` lists them.
    public static var all: [ProjectionName] { ClinicReports.projections.map { ProjectionName(known: $0.name) } }

    public var description: String { rawValue }

    /// The error for a name that is not one.
    public static func unknown(_ name: String) -> ServiceError {
        ServiceError(ReportsError.unknownProjection(name, known: all.map(\.rawValue)))
    }
}

/// How a rebuild cuts its work.
public struct RebuildOptions: Sendable {
    /// At most this many events per transaction (`nil`: as many as fit in about 40 ms with their commit).
    public var chunk: Int?
    /// A rest between transactions, leaving more room to clinicians' appends.
    public var pause: Duration?

    public init(chunk: Int? = nil, pause: Duration? = nil) {
        self.chunk = chunk
        self.pause = pause
    }
}

extension Session {
    /// Whether this user may read `report` at all (a clinic-scoped user: for one of their
    /// clinics, where the report is asked for one): for front ends' lists of reports.
    public func mayRead(_ report: ReportName) -> Bool {
        switch report {
        case .workload, .due, .lot: return mayAnywhere(.readReports)
        case .audit, .conversion, .records: return may(.readReports)
        case .access: return may(.readAccessLog)
        }
    }

    /// A client's full timeline, oldest first, disclosed through the read path (the
    /// access is logged before anything is read).
    ///
    /// - Parameter asOf: only events recorded up to the end of that day (UTC).
    /// - Throws: ``ServiceError``: `denied` (also for a client the user may not know
    ///   exists), `notFound` (for those who may), `denied` with a purpose required.
    public func history(client: String, asOf: Day? = nil, purpose: String? = nil) async throws(ServiceError) -> ClinicReports.Report {
        let id = Self.clientID(client)
        guard !id.isEmpty else { throw ServiceError.badInput("name the client") }
        // The permission first: a user who may not read a record learns nothing of it, not
        // even whether it exists (nor where, when the clinic comes from the record).
        let clinic = try await classified { try await EventAccess.registrationClinic(ofClient: id, log: log) }
        try requireWithoutRevealing(.readClinical, clinic: clinic)
        guard try await classified({ try await clientExists(id) }) else { throw ServiceError(ReportsError.notFound(what: "client", id: id)) }
        try await disclose(id, purpose: purpose, use: .history)
        let keys = try await classified { try await service.clientKeysIfAvailable() }
        let reports = service.reports(contacts: try await contacts(purpose: purpose, use: .history), opener: opener(keys: keys))
        try await catchUpForReading(reports)
        return try await classified { try await reports.history(client: id, asOf: asOf) }
    }

    /// A report, from its projection's live tables, brought up to date first (a report
    /// shows everything recorded before it was asked for).
    ///
    /// - Throws: ``ServiceError`` (`denied`, `notFound` for an unknown clinic, lot or
    ///   client, `badInput` for a reversed range).
    public func report(_ request: ReportRequest, purpose: String? = nil) async throws(ServiceError) -> ClinicReports.Report {
        var request = request
        // A lot is named by its number (or its id): the report is of the lot's id.
        if case .lot(let lot) = request { request = .lot(try await lotID(lot)) }
        switch request {
        case .access(let client): return try await accessReport(client: client)
        case .workload(_, _, let clinic): try requireWithoutRevealing(.readReports, clinic: clinic)
        case .due(_, _, let clinic?): try requireWithoutRevealing(.readReports, clinic: clinic)
        case .lot(let lot):
            // A lot's report is its receiving clinic's too (a recall's contact list is the
            // clinic's work); other clinics get the words an unknown lot gets.
            let clinic = try await classified { () -> String? in
                guard let first = try await log.read(stream: Recorder.Streams.batch(lot), limit: 1).first else { return nil }
                return EventAccess.clinic(of: try Recorder.decode(first)).flatMap { $0.isEmpty ? nil : $0 }
            }
            try requireWithoutRevealing(.readReports, clinic: clinic)
        default: try require(.readReports)
        }
        // What the report is about must exist; checked before anything is written.
        switch request {
        case .workload(_, _, let clinic?), .due(_, _, let clinic?):
            let known = try await classified {
                if try await log.streamVersion(Recorder.Streams.clinic(clinic)) > 0 { return true }
                return try await service.reports().clinicHasWork(clinic)
            }
            if !known { throw ServiceError(ReportsError.notFound(what: "clinic", id: clinic)) }
        case .lot(let lot):
            // A lot never received may still have been used (an import): then the
            // projection knows it; one neither received nor used is refused.
            let known = try await classified {
                if try await log.streamVersion(Recorder.Streams.batch(lot)) > 0 { return true }
                return try await service.reports().lotWasUsed(lot)
            }
            if !known { throw ServiceError(ReportsError.notFound(what: "lot", id: lot)) }
        default: break
        }
        let use: RecordUse
        switch request {
        case .lot: use = .lotReport
        case .due: use = .dueReport
        case .records: use = .recordsReport
        default: use = .report
        }
        let reports = service.reports(contacts: try await contacts(purpose: purpose, use: use))
        try await catchUpForReading(reports)
        return try await classified {
            switch request {
            case .workload(let from, let to, let clinic): return try await reports.workload(from: from, to: to, clinic: clinic)
            case .audit(let from, let to): return try await pseudonymous(try await reports.audit(from: from, to: to))
            case .lot(let lot): return try await reports.lot(lot)
            case .due(let on, let months, let clinic): return try await reports.due(on: on, touchUpMonths: months, clinic: clinic)
            case .conversion(let from, let to): return try await reports.conversion(from: from, to: to)
            case .records(let from, let to): return try await reports.serviceRecords(from: from, to: to)
            case .access: throw ServiceError.failure("the access report is read from the log")
            }
        }
    }

    /// The audit with its clients by pseudonym: it does not need to know who they are.
    func pseudonymous(_ audit: ClinicReports.Report) async throws -> ClinicReports.Report {
        guard let keys = try await service.clientKeysIfAvailable(), let column = audit.sections[0].columns.firstIndex(of: "client") else { return audit }
        let pseudonyms = try await keys.pseudonyms()
        var report = audit
        report.sections[0].rows = report.sections[0].rows.map { row in
            var row = row
            row[column] = .text(pseudonyms.pseudonym(for: row[column].description))
            return row
        }
        return report
    }

    /// Who was shown a client's record, when, why and through which use.
    func accessReport(client: String) async throws(ServiceError) -> ClinicReports.Report {
        try require(.readAccessLog)
        let id = Self.clientID(client)
        guard try await classified({ try await clientExists(id) }) else { throw ServiceError(ReportsError.notFound(what: "client", id: id)) }
        let rows: [[ReportValue]] = try await classified {
            try await log.read(stream: Recorder.Streams.access(id), limit: Int.max).compactMap { event in
                guard let accessed = try Recorder.decode(event) as? Stipple_V1_RecordAccessed else { return nil }
                // Who wrote the entry and when it was stored: the use case that showed the
                // record, as the same user, at the same moment (anything else is a forgery).
                let recordedBy = (try? event.metadata())?.actor
                return [.text(Timestamp.iso8601(seconds: accessed.accessedAt.seconds)), .text(accessed.actor), .text(accessed.role),
                        .text(accessed.purpose), .text(accessed.command), .int(event.position),
                        .text(String(Timestamp.iso8601(micros: event.recordedAtMicros).prefix(19)) + "Z"), .text(recordedBy ?? "")]
            }
        }
        let table = ReportTable(
            title: "Access log of client \(id)", columns: ["at", "actor", "role", "purpose", "command", "position", "recorded", "recordedBy"], rows: rows,
            notes: ["\(rows.count) access\(rows.count == 1 ? "" : "es")"])
        return ClinicReports.Report(sections: [table], notice: nil)
    }

    /// Brings the projections to the head before a report. A log this user cannot write is
    /// served as its tables stand (the report's notice says how far behind they are).
    func catchUpForReading(_ reports: ClinicReports) async throws(ServiceError) {
        if case .background(let wait) = configuration.projectionUpkeep {
            // Read-your-writes: the projections hold this user's last write (or the report
            // says how far behind they are, after `wait`).
            try await classified { try await service.waitForProjections(reaching: service.lastWrite(by: principal.user), within: wait) }
            return
        }
        do {
            try await reports.projector.catchUp(progress: configuration.catchUpProgress)
        } catch EventLogError.readOnly {
            return
        } catch {
            throw ServiceError(error)
        }
    }

    /// Where each projection stands: version, checkpoint, lag, whether a rebuild is pending.
    public func projectionsStatus() async throws(ServiceError) -> [ProjectionStatus] {
        try await classified { try await service.reports().projector.status() }
    }

    /// Compares every projection's live tables with a fold of the log from scratch (in a
    /// scratch copy beside the log, removed afterwards): report rows edited outside
    /// Stipple are found. Admins and auditors.
    public func checkReports(progress: Projector.ProgressHandler? = nil) async throws(ServiceError) -> [ProjectionCheck] {
        try require(.readReports)
        Self.removeScratchCopies(of: configuration.databasePath)
        let scratch = configuration.databasePath + Self.scratchMark + UUID().uuidString.prefix(8).lowercased()
        return try await classified { try await service.reports().projector.check(scratch: scratch, progress: progress) }
    }

    /// What names a check's scratch copy: `<db>.check-<8 hex>`, beside the log.
    static let scratchMark = ".check-"

    /// Removes the scratch copies an interrupted check left beside the log (they hold the
    /// log as it was, keys of clients erased since included). Only names of that shape.
    static func removeScratchCopies(of databasePath: String) {
        let url = URL(fileURLWithPath: databasePath)
        let folder = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + scratchMark
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let stem = rest.prefix(8)
            guard stem.count == 8, stem.allSatisfy(\.isHexDigit), ["", "-wal", "-shm"].contains(String(rest.dropFirst(8))) else { continue }
            unlink(folder + "/" + name)
        }
    }

    /// Rebuilds projections (all when `names` is `nil`) beside the live ones, then swaps
    /// them in; an interrupted rebuild goes on where it stopped.
    public func rebuild(
        _ names: [ProjectionName]?, options: RebuildOptions = RebuildOptions(), progress: Projector.ProgressHandler? = nil
    ) async throws(ServiceError) -> [Projector.RebuildSummary] {
        try require(.rebuildReports)
        var settings = Projector.Options()
        settings.maxEventsPerTransaction = options.chunk
        settings.pauseBetweenTransactions = options.pause
        return try await classified { try await service.reports(options: settings).projector.rebuild(names?.map(\.rawValue), progress: progress) }
    }
}
