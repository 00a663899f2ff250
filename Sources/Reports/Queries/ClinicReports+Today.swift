import EventLog
import Foundation
import GRDB
import Treatment

extension ClinicReports {
    /// A booking as the workload projection holds it.
    public struct Booking: Sendable, Hashable {
        public var bookingID: String
        public var client: String
        public var technician: String
        /// Seconds since 1970.
        public var startsAt: Int64
        public var minutes: Int
        /// booked, done, cancelled or no-show.
        public var status: String
    }

    /// The bookings at `clinic` starting from `from` (inclusive) to `to` (exclusive),
    /// seconds since 1970, by start.
    public func bookings(clinic: String, from: Int64, to: Int64) async throws -> (bookings: [Booking], notice: String?) {
        try await read("workload") { tables, db in
            try Row.fetchAll(db, sql: """
                SELECT booking_id, client, technician, starts_at, minutes, status FROM \(tables["bookings"])
                WHERE clinic = ? AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, booking_id
                """, arguments: [clinic, from, to]).map { row in
                Booking(bookingID: row[0], client: row[1], technician: row[2], startsAt: row[3], minutes: row[4], status: row[5])
            }
        }
    }
}
