import EventLog
import Foundation
import GRDB
import Treatment

/// The reports clinics read, each from its projection's live tables (never by scanning
/// the log per request).
///
/// ```swift
/// let reports = ClinicReports(log: log)
/// try await reports.projector.catchUp()
/// let history = try await reports.history(client: "C-1001")
/// ```
public struct ClinicReports: Sendable {
    /// Every projection of this build, in the order `stipple reports status` lists them.
    public static let projections: [any Projection] = [
        HistoryProjection(), WorkloadProjection(), AuditProjection(), LotProjection(), DueProjection(),
        ConversionProjection(), ServiceRecordsProjection(),
    ]

    /// Months from a client's last procedure to the next touch-up, unless a report is told
    /// otherwise (clinics quote 3 to 15 years before fading shows; 36 months is the
    /// chain's default reminder).
    public static let defaultTouchUpMonths = 36
    /// Days a course may rest after a session before it counts as overdue.
    public static let courseOverdueDays = 30
    /// The guarantee: 12 months from the course's last session, one touch-up.
    public static let guaranteeMonths = 12
    /// Sessions in a course when no consultation estimated them (DOMAIN.md: usually 3).
    public static let usualCourse: Int64 = 3
    /// How far ahead `due` looks for touch-ups and guarantees ending.
    public static let lookAheadDays = 30

    public let projector: Projector
    public var log: EventLog { projector.log }
    /// The clock the reports read "now" from (bookings still ahead).
    let now: @Sendable () -> Date
    /// Where names and contacts come from when a report shows them (the projections keep
    /// none): by default the registrations as stored; the CLI opens sealed ones.
    let contacts: ContactResolver
    /// Opens the sealed free text a history shows (by default nothing is opened: a sealed
    /// reason is left out).
    let opener: EventOpener

    public init(
        log: EventLog, options: Projector.Options = Projector.Options(), now: @escaping @Sendable () -> Date = { Date() },
        contacts: ContactResolver? = nil, opener: EventOpener? = nil
    ) {
        projector = Projector(log: log, projections: Self.projections, options: options)
        self.now = now
        self.contacts = contacts ?? Self.storedContacts(log)
        self.opener = opener ?? { _, message in message }
    }

    public init(
        projector: Projector, now: @escaping @Sendable () -> Date = { Date() }, contacts: ContactResolver? = nil, opener: EventOpener? = nil
    ) {
        self.projector = projector
        self.now = now
        self.contacts = contacts ?? Self.storedContacts(projector.log)
        self.opener = opener ?? { _, message in message }
    }

    /// A report's sections and the notice to show beside them.
    public struct Report: Sendable, Hashable {
        public var sections: [ReportTable]
        /// Set when the tables are not current (a rebuild is pending); print it.
        public var notice: String?

        public init(sections: [ReportTable], notice: String?) {
            self.sections = sections
            self.notice = notice
        }
    }

    /// Checks a date range given by a person.
    ///
    /// - Throws: ``ReportsError/invalidArgument(_:)`` when `to` is before `from`.
    static func checkRange(_ from: Day, _ to: Day) throws(ReportsError) {
        if to < from { throw .invalidArgument("the range is reversed: --to \(to) is before --from \(from)") }
    }

    /// Reads from a projection's live tables.
    /// Reads from a projection's live tables, found in the same snapshot as the rows.
    func read<T: Sendable>(_ name: String, _ body: @escaping @Sendable (TableNames, Database) throws -> T) async throws -> (T, String?) {
        let projection = try projector.projection(named: name)
        return try await log.readTables { db in
            let source = try Projector.source(projection, in: db)
            return (try body(source.tables, db), source.notice)
        }
    }
}

extension ClinicReports {
    /// Whether the live lot projection (as it stands, without catching up) shows `lot` used.
    public func lotWasUsed(_ lot: String) async throws -> Bool {
        // Not built yet: nothing is known to have used it.
        (try? await read("lots") { tables, db in
            try Int64.fetchOne(db, sql: "SELECT 1 FROM \(tables["uses_by_lot"]) WHERE lot = ? LIMIT 1", arguments: [lot]) != nil
        })?.0 ?? false
    }

    /// Whether the live workload projection (as it stands) holds work or bookings at `clinic`.
    public func clinicHasWork(_ clinic: String) async throws -> Bool {
        (try? await read("workload") { tables, db in
            try Int64.fetchOne(db, sql: """
                SELECT 1 FROM \(tables["weeks"]) WHERE clinic = ?1 UNION ALL SELECT 1 FROM \(tables["bookings"]) WHERE clinic = ?1 LIMIT 1
                """, arguments: [clinic]) != nil
        })?.0 ?? false
    }
}
