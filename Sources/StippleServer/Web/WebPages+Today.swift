import Foundation
import HTTPTypes
import Hummingbird
import StippleService

/// Today at a clinic: its bookings, lots expiring and technicians' lapses within 30 days.
extension WebPages {
    func addTodayRoutes(to router: Router<StippleRequestContext>) {
        let pages = self
        router.get("/today") { request, _ in
            try await pages.signedIn(request) { signedIn in try await pages.todayPage(signedIn, clinic: request.uri.queryParameters["clinic"].map(String.init)) }
        }
    }

    func todayPage(_ signedIn: SignedIn, clinic: String?) async throws -> Response {
        let session = signedIn.session
        let clinics = try await Self.clinics(of: session)
        let chosen = clinic.flatMap { clinics.contains($0) ? $0 : nil } ?? clinics.first
        var model = PageModel(title: "Today", signedIn: signedIn)
        guard let chosen else {
            model.message = "There is no clinic yet."
            return render("message", model)
        }
        do {
            let day = try await session.clinicDay(chosen)
            let openable = session.principal.role != .reception
            model.today = TodayView(
                clinic: chosen, day: day.day.description, zone: day.time.zone.identifier,
                clinics: clinics.map { Choice(value: $0, label: $0, selected: $0 == chosen) },
                bookings: day.bookings.map { entry in
                    TodayBooking(
                        time: String(day.time.shown(entry.booking.startsAt).dropFirst(11).prefix(5)), client: entry.booking.client,
                        shown: entry.contact.pseudonym ?? (entry.contact.erased ? "[erased]" : entry.contact.name.isEmpty ? entry.client : entry.contact.name),
                        phone: entry.contact.pseudonym == nil ? entry.contact.phone : "", technician: entry.booking.technician,
                        minutes: entry.booking.minutes, status: entry.booking.status, openable: openable)
                },
                noBookings: day.bookings.isEmpty,
                lots: day.lotsExpiring.map { TodayLot(id: $0.id, lot: $0.lot, description: "\($0.manufacturer) \($0.description)", expiry: $0.expiry.description) },
                lapses: day.lapses.map { TodayLapse(technician: $0.technician, what: $0.what, on: $0.on.description) },
                noLots: day.lotsExpiring.isEmpty, noLapses: day.lapses.isEmpty,
                recordsHere: session.may(.recordClinical, clinic: chosen),
                due: day.due?.sections.map { ReportTableView($0, linkingClients: openable) } ?? [])
        } catch {
            model.message = Self.sentence(ServiceError(error).message)
        }
        return render("today", model)
    }
}

struct TodayView {
    var clinic: String
    var day: String
    var zone: String
    var clinics: [Choice]
    var bookings: [TodayBooking]
    var noBookings: Bool
    var lots: [TodayLot]
    var lapses: [TodayLapse]
    var noLots: Bool
    var noLapses: Bool
    /// Lots and lapses are shown to those who record at the clinic.
    var recordsHere: Bool
    /// Touch-ups and guarantees due, courses overdue (for those who read the clinic's reports).
    var due: [ReportTableView]
}

struct TodayBooking {
    var time: String
    var client: String
    var shown: String
    var phone: String
    var technician: String
    var minutes: Int
    var status: String
    var openable: Bool
}

struct TodayLot {
    var id: String
    var lot: String
    var description: String
    var expiry: String
}

struct TodayLapse {
    var technician: String
    var what: String
    var on: String
}
