import Discretion
import Foundation
import StippleService

/// What a page template reads (Mustache reads it by reflection). One shape for every page:
/// a template uses the parts it needs; a missing part renders as nothing.
struct PageModel {
    var title: String
    var user: String?
    var role: String?
    /// The form token every form of the page carries.
    var formToken: String?
    /// A fresh id each time the page is shown, carried by its recording forms (their
    /// idempotency key, see `Form.idempotency`).
    var once: String?
    var idleSeconds = 600
    /// A sentence for the whole page (an error or what was done).
    var message: String?
    /// Set when `message` says what was done (not an error); on the sign-in page, the note itself.
    var success: String?
    var notice: String?
    /// Where to go after signing in or unlocking (one of the pages' own paths).
    var next: String?
    /// The lock page: whose session, and the form that was being sent.
    var lockedUser: String?
    var kept: KeptForm?
    var signInName: String?
    var search: SearchView?
    var client: ClientView?
    var purposeFor: String?
    var lots: LotsView?
    var lot: LotView?
    var today: TodayView?
    var reports: ReportsIndexView?
    var report: ReportView?
    var admin: AdminView?
    var users: UsersView?
    var invite: InviteView?
    var projections: ProjectionsView?
    var rebuild: RebuildView?
    var erasure: ErasureView?
    var technicians: TechniciansView?
    var technician: TechnicianView?
    var consentForm: ConsentFormView?
    /// The main links this user has (the pages they may use).
    var nav: NavigationView?

    init(title: String) { self.title = title }

    init(title: String, signedIn: SignedIn) {
        self.title = title
        user = signedIn.session.principal.user
        role = signedIn.session.principal.role.rawValue
        formToken = signedIn.formToken
        once = UUID().uuidString.lowercased()
        nav = NavigationView(signedIn.session)
    }
}

/// A form posted while the session was locked, kept in the lock page.
struct KeptForm {
    var action: String
    var fields: [KeptField]
}

struct KeptField {
    var name: String
    var value: String
}

struct SearchView {
    var query: String
    var results: [ResultRow]
    var count: Int
    /// How many more matched (`nil`: none).
    var more: Int?
    var searched: Bool
    /// Searched, and nothing found (stored: templates read stored properties only).
    var none: Bool

    init(query: String, results: [ResultRow], more: Int, searched: Bool) {
        self.query = query
        self.results = results
        count = results.count
        self.more = more > 0 ? more : nil
        self.searched = searched
        none = searched && results.isEmpty
    }
}

struct ResultRow {
    var client: String
    var clinic: String
    var name: String?
    var phone: String?
    var email: String?
    var pseudonym: String
    var confidential: Bool
    /// Whether the user may open the client's page (reception books, and reads no record).
    var openable: Bool
}

/// A client's page.
struct ClientView {
    var client: String
    var clinic: String
    /// `nil` when empty (Mustache shows a section for any string, even an empty one).
    var name: String?
    var phone: String?
    var email: String?
    var erased: Bool
    var pseudonym: String
    var confidential: Bool
    var purpose: String?
    var zone: String
    var sessionsDone: Int
    /// `nil` without a consultation's estimate.
    var estimatedSessions: Int32?
    /// Days between sessions (`nil` before a second one).
    var spacing: String?
    var nextBooking: String?
    var consents: [ConsentRow]
    var noConsent: Bool
    var timeline: [TimelineRow]
    var notice: String?
    var map: [MapArea]
    var form: SessionFormView?
    /// The other actions' forms (consultation, consent, booking …).
    var actions: [ActionForm] = []
    /// What the last action did ("Booking moved.").
    var done: String?
    /// Whether the user may erase the client's personal data (the link to the erasure page).
    var erasable = false
}

struct ConsentRow {
    var form: String
    /// The page of the form's text, when the consent names a published form.
    var link: String?
    var day: String
    var covers: String
}

/// A consent form's page: every version's text as published.
struct ConsentFormView {
    struct Version {
        var version: String
        var title: String
        var covers: String
        var sha256: String
        var published: String
        var withdrawn: String?
        var text: String
    }

    var id: String
    var versions: [Version]
}

struct TimelineRow {
    var position: String
    var date: String
    var event: String
    var details: String
    var actor: String
    var amendment: Bool
}

/// The areas as people read them.
enum AreaLabels {
    static let byName = ["hairline": "Hairline", "temples": "Temples", "crown": "Crown", "density-fill": "Density fill", "scar": "Scar", "full-scalp": "Full scalp"]
    static func label(_ area: String) -> String { byName[area] ?? area }
}

/// One area of the scalp map: its shape's name and how many procedures worked it.
struct MapArea {
    var area: String
    var label: String
    var count: Int
    /// 0 (never) to 3 (three or more), the shade class.
    var shade: Int
    /// The area's outline on a scalp seen from above, forehead at the top (SVG path data).
    var paths: [String]

    /// The outlines, in drawing order (the whole scalp first, under the others).
    static let shapes: [(area: String, paths: [String])] = [
        ("full-scalp", ["M100 15 C160 15 180 70 180 120 C180 185 145 225 100 225 C55 225 20 185 20 120 C20 70 40 15 100 15 Z"]),
        ("density-fill", ["M100 70 C135 70 150 95 150 125 C150 150 130 160 100 160 C70 160 50 150 50 125 C50 95 65 70 100 70 Z"]),
        ("hairline", ["M42 62 C70 22 130 22 158 62 L146 74 C122 44 78 44 54 74 Z"]),
        ("temples", ["M24 96 L46 84 L50 128 L26 136 Z", "M176 96 L154 84 L150 128 L174 136 Z"]),
        ("crown", ["M100 158 C122 158 134 170 134 186 C134 203 120 212 100 212 C80 212 66 203 66 186 C66 170 78 158 100 158 Z"]),
        ("scar", ["M58 206 C80 218 120 218 142 206 L142 211 C120 223 80 223 58 211 Z"]),
    ]
}

/// The session form: what was typed, the lots on hand, and each field's errors.
struct SessionFormView {
    var number: String
    var technician: String
    var supervisor: String
    var start: String
    var end: String
    var depth: String
    var dilution: String
    var machine: String
    var aftercare: String
    var areas: [Choice]
    var pigments: [Choice]
    var cartridges: [Choice]
    var clinic: String
    /// Each field's errors (templates read `errors.start`).
    var errors = FieldErrors()
    var formErrors: [String] = []
    var recorded: String?
    var hasErrors = false

    mutating func add(_ message: String, to field: String?) {
        hasErrors = true
        if let field, errors.add(message, to: field) { return }
        formErrors.append(message)
    }
}

struct Choice {
    var value: String
    var label: String
    var selected: Bool
}

/// Each field's errors, as lists that templates loop over.
struct FieldErrors {
    var number: [String] = []
    var technician: [String] = []
    var supervisor: [String] = []
    var start: [String] = []
    var end: [String] = []
    var areas: [String] = []
    var pigment: [String] = []
    var cartridge: [String] = []
    var depth: [String] = []
    var dilution: [String] = []

    /// Adds `message` to `field`'s errors; `false` for a field the form does not have.
    mutating func add(_ message: String, to field: String) -> Bool {
        let path: WritableKeyPath<FieldErrors, [String]>
        switch field {
        case "number": path = \.number
        case "technician": path = \.technician
        case "supervisor": path = \.supervisor
        case "start": path = \.start
        case "end": path = \.end
        case "areas": path = \.areas
        case "pigment": path = \.pigment
        case "cartridge": path = \.cartridge
        case "depth": path = \.depth
        case "dilution": path = \.dilution
        default: return false
        }
        self[keyPath: path].append(message)
        return true
    }
}

/// The main links: those of the pages this user may use (the session says which).
struct NavigationView {
    var reports: Bool
    var admin: Bool
    var technicians: Bool

    init(_ session: Session) {
        reports = session.mayAnywhere(.readReports) || session.mayAnywhere(.readAccessLog)
        admin = session.may(.manageUsers)
        technicians = session.mayAnywhere(.recordBookings) || session.may(.readReports)
    }
}
