import GRDB
import Treatment

/// Technician workload: procedures done per technician, clinic and ISO week (summed as
/// they come), and every booking with its fate (booked, done, cancelled, no-show).
public struct WorkloadProjection: Projection {
    public init() {}
    public var name: String { "workload" }
    /// 2: days are local to the clinic (ClinicTime), not UTC days. 3: typed amendments
    /// move a procedure's work to its corrected technician, clinic, week and length.
    public var version: Int { 3 }
    public var summary: String { "sessions, hours and bookings per technician, clinic and week" }
    public var reads: Set<String> {
        ["ClinicOpened", "SessionBooked", "SessionRescheduled", "SessionCancelled", "SessionNoShow", "SessionRecorded", "TouchUpRecorded", "RecordAmended"]
    }

    public func createTables(_ tables: TableNames, in db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE \(tables["weeks"]) (
                technician TEXT NOT NULL,
                clinic TEXT NOT NULL,
                week TEXT NOT NULL,
                week_start INTEGER NOT NULL,
                sessions INTEGER NOT NULL,
                touch_ups INTEGER NOT NULL,
                minutes INTEGER NOT NULL,
                PRIMARY KEY (technician, clinic, week)
            ) WITHOUT ROWID;
            CREATE INDEX \(tables["weeks_by_start"]) ON \(tables["weeks"]) (week_start);
            CREATE TABLE \(tables["bookings"]) (
                client TEXT NOT NULL,
                booking_id TEXT NOT NULL,
                clinic TEXT NOT NULL,
                technician TEXT NOT NULL,
                starts_at INTEGER NOT NULL,
                week TEXT NOT NULL,
                week_start INTEGER NOT NULL,
                minutes INTEGER NOT NULL,
                status TEXT NOT NULL,
                -- Booking ids are the clinic's, per client: two clients may both have a B1.
                PRIMARY KEY (client, booking_id)
            ) WITHOUT ROWID;
            CREATE INDEX \(tables["bookings_by_start"]) ON \(tables["bookings"]) (week_start);
            CREATE TABLE \(tables["clinics"]) (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
            """)
    }

    private struct WeekKey: Hashable {
        var technician: String, clinic: String, weekStart: Int
    }

    public func apply(_ events: ArraySlice<ProjectedEvent>, tables: TableNames, memory: ProjectionMemory, in db: Database) throws {
        // Done work is summed here and written once per (technician, clinic, week) per call.
        var done: [WeekKey: (sessions: Int64, touchUps: Int64, minutes: Int64)] = [:]
        // The weeks a correction moved work out of (emptied ones are deleted after the write).
        var corrected: Set<WeekKey> = []
        let bookings = tables["bookings"]
        func count(_ procedure: Procedure, _ sign: Int64) {
            let key = WeekKey(technician: procedure.technicianID, clinic: procedure.clinicID, weekStart: procedure.day.weekStart.daysSinceEpoch)
            var sums = done[key] ?? (0, 0, 0)
            if procedure.kind == .touchUp { sums.touchUps += sign } else { sums.sessions += sign }
            sums.minutes += sign * procedure.minutes
            done[key] = sums
        }
        func setBooking(_ id: String, of client: String, _ status: String) throws {
            guard !id.isEmpty else { return }
            try db.run("UPDATE \(bookings) SET status = ? WHERE client = ? AND booking_id = ?", [status, client, id])
        }
        for event in events {
            if let procedure = event.procedure {
                count(procedure, 1)
                try setBooking(procedure.bookingID, of: event.subject, "done")
                continue
            }
            if let correction = event.correction {
                corrected.insert(WeekKey(
                    technician: correction.before.technicianID, clinic: correction.before.clinicID,
                    weekStart: correction.before.day.weekStart.daysSinceEpoch))
                count(correction.before, -1)
                count(correction.after, 1)
                if correction.before.bookingID != correction.after.bookingID {
                    try setBooking(correction.before.bookingID, of: event.subject, "booked")
                    try setBooking(correction.after.bookingID, of: event.subject, "done")
                }
                continue
            }
            switch event.message {
            case let opened as Stipple_V1_ClinicOpened:
                try db.run("INSERT OR REPLACE INTO \(tables["clinics"]) (id, name) VALUES (?, ?)", [event.subject, opened.name])
            case let booked as Stipple_V1_SessionBooked:
                let day = event.clinicTime.day(of: booked.startsAt)
                try db.run("""
                    INSERT OR REPLACE INTO \(bookings) (booking_id, client, clinic, technician, starts_at, week, week_start, minutes, status)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked')
                    """, [booked.bookingID, event.subject, booked.clinicID, booked.technicianID, booked.startsAt.seconds,
                          day.isoWeek, day.weekStart.daysSinceEpoch, booked.expectedMinutes])
            case let moved as Stipple_V1_SessionRescheduled:
                let day = event.clinicTime.day(of: moved.startsAt)  // names no clinic: the chain's zone
                try db.run("UPDATE \(bookings) SET starts_at = ?, week = ?, week_start = ? WHERE client = ? AND booking_id = ?",
                           [moved.startsAt.seconds, day.isoWeek, day.weekStart.daysSinceEpoch, event.subject, moved.bookingID])
            case let cancelled as Stipple_V1_SessionCancelled:
                try db.run("UPDATE \(bookings) SET status = 'cancelled' WHERE client = ? AND booking_id = ?", [event.subject, cancelled.bookingID])
            case let noShow as Stipple_V1_SessionNoShow:
                try db.run("UPDATE \(bookings) SET status = 'no-show' WHERE client = ? AND booking_id = ?", [event.subject, noShow.bookingID])
            default:
                continue
            }
        }
        let upsert = try FastStatement(db, """
            INSERT INTO \(tables["weeks"]) (technician, clinic, week, week_start, sessions, touch_ups, minutes) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (technician, clinic, week) DO UPDATE SET
                sessions = sessions + excluded.sessions, touch_ups = touch_ups + excluded.touch_ups, minutes = minutes + excluded.minutes
            """)
        for (key, sums) in done {
            try upsert.run(db) { bind in
                bind(1, key.technician)
                bind(2, key.clinic)
                bind(3, Day(daysSinceEpoch: key.weekStart).isoWeek)
                bind(4, key.weekStart)
                bind(5, sums.sessions)
                bind(6, sums.touchUps)
                bind(7, sums.minutes)
            }
        }
        // A week a correction moved every procedure out of is no week of work (whether the
        // procedure came in this call or an earlier one: a rebuild and upkeep agree).
        for key in corrected {
            try db.run("DELETE FROM \(tables["weeks"]) WHERE technician = ? AND clinic = ? AND week = ? AND sessions = 0 AND touch_ups = 0",
                       [key.technician, key.clinic, Day(daysSinceEpoch: key.weekStart).isoWeek])
        }
    }
}
