import Discretion
import EventLog
import Foundation
import Recording
import Reports
import Treatment

/// A clinic's day at a glance: its bookings, the lots to use or lose soon, and the
/// technicians whose certification or bloodborne-pathogens training lapses soon.
public struct ClinicDay: Sendable {
    public struct Booking: Sendable, Hashable {
        public var booking: ClinicReports.Booking
        /// The client as this user may see them (a name, or a pseudonym).
        public var client: String
        public var contact: ClientContact
    }

    public struct Lapse: Sendable, Hashable {
        public var technician: String
        /// What lapses: a certification (with its id) or the training.
        public var what: String
        public var on: Day
    }

    public var clinic: String
    public var day: Day
    public var time: ClinicTime
    public var bookings: [Booking]
    /// On hand and expiring within 30 days (empty for a user who does not record there).
    public var lotsExpiring: [LotOnHand]
    /// Within 30 days (empty for a user who does not record there).
    public var lapses: [Lapse]
    /// Touch-ups and guarantees falling due and courses overdue among the clinic's clients
    /// (the due report for this clinic, by client id: no names), for those who read its reports.
    public var due: ClinicReports.Report?
    public var notice: String?
}

extension Session {
    /// Today at `clinic` (by the service's clock, in the clinic's zone; the chain's
    /// default zone for `nil`), for a front end's default dates.
    public func today(at clinic: String?) async throws(ServiceError) -> (day: Day, time: ClinicTime) {
        var time = ClinicTime.chainDefault
        if let clinic { time = try await clinicTime(clinic) }
        return (time.day(of: configuration.nowSeconds), time)
    }

    /// The day at `clinic` (today in its zone): bookings, with the clients' names for those
    /// who book there (a confidential client by pseudonym, every name shown logged as
    /// `clinic day`); for those who record there, the lots on hand expiring within 30 days
    /// and the technicians assigned there whose certification or training lapses within 30.
    ///
    /// - Throws: ``ServiceError`` (`denied` for a user who does not book at `clinic`).
    public func clinicDay(_ clinic: String) async throws(ServiceError) -> ClinicDay {
        try require(.recordBookings, clinic: clinic)
        let time = try await clinicTime(clinic)
        let today = time.day(of: configuration.nowSeconds)
        let start = time.start(of: today), end = time.start(of: today.adding(days: 1))
        let resolve = try await contacts(purpose: nil, use: .clinicDay)
        let reports = service.reports(contacts: resolve)
        try await catchUpForReading(reports)
        let (bookings, notice) = try await classified { try await reports.bookings(clinic: clinic, from: start, to: end) }
        let contacts = try await classified { try await resolve(Array(Set(bookings.map(\.client)))) }
        var day = ClinicDay(
            clinic: clinic, day: today, time: time,
            bookings: bookings.map { booking in
                let contact = contacts[booking.client] ?? ClientContact()
                return ClinicDay.Booking(booking: booking, client: contact.shownClient(booking.client), contact: contact)
            },
            lotsExpiring: [], lapses: [], due: nil, notice: notice)
        guard (try? AccessPolicy.check(principal, .recordClinical, clinic: clinic)) != nil else { return day }
        let soon = today.adding(days: 30)
        day.lotsExpiring = try await lotsOnHand(at: clinic).filter { $0.expiry <= soon }.sorted { ($0.expiry, $0.id) < ($1.expiry, $1.id) }
        var lapses: [ClinicDay.Lapse] = []
        for file in try await technicianFiles(on: today) where file.clinics.contains(where: { $0.clinic == clinic }) {
            for certification in file.certifications where certification.holds {
                if let expires = certification.expiresOn, expires <= soon {
                    lapses.append(ClinicDay.Lapse(technician: file.id, what: "certification \(certification.id)", on: expires))
                }
            }
            if let last = file.trainings.first(where: { $0 <= today }) {
                let lapse = last.adding(months: 12)
                if lapse > today && lapse <= soon { lapses.append(ClinicDay.Lapse(technician: file.id, what: "bloodborne-pathogens training", on: lapse)) }
            }
        }
        day.lapses = lapses.sorted { ($0.on, $0.technician) < ($1.on, $1.technician) }
        if may(.readReports, clinic: clinic) {
            // By client id, without names: a page opened many times a day must not add an
            // access entry per client due each time; opening a client from it is the access.
            // The tables were brought to the head above, for the bookings.
            let due = service.reports()
            day.due = try await classified { try await due.due(on: today, touchUpMonths: ClinicReports.defaultTouchUpMonths, clinic: clinic) }
        }
        return day
    }
}

