import Foundation

/// Who may record what, on a ``TestChain``: the access policy as a table, one row per
/// event type (and per kind of target: a Toronto client, a Brampton one, a confidential
/// one), naming the users allowed; every other user is refused.
///
/// Each row is a `do` line, the format every front end takes (`stipple do`, the API's
/// `POST /v1/commands`), so a front end runs the same table as its own conformance suite
/// and only checks that it maps the outcome (recorded, or refused for access) to its own
/// exit code or status. The application layer's own suite runs it in-process.
public enum PolicyCases {
    /// One row: a command, and the users it is recorded for.
    public struct Case: Sendable, CustomStringConvertible {
        public var name: String
        public var line: String
        public var allowed: Set<TestUser>

        public var description: String { name }

        /// What `user` gets.
        public func expected(for user: TestUser) -> Outcome { allowed.contains(user) ? .recorded : .denied }
    }

    /// What a user gets for a row.
    public enum Outcome: Sendable, Hashable {
        case recorded
        /// Refused for access, before any rule ran and without naming the record's clinic.
        case denied
    }

    static let everyone = Set(TestUser.allCases)
    static let torontoClinical: Set<TestUser> = [.admin, .clinician, .otherClinician]
    static let torontoBookings: Set<TestUser> = torontoClinical.union([.reception])

    static func record(_ stream: String, _ type: String, _ data: String) -> String {
        #"{"command":"record","stream":"\#(stream)","type":"\#(type)","data":\#(data)}"#
    }

    public static let session = #"{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-02T10:00:00Z","endedAt":"2026-03-02T13:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}"#
    static let touchUp = #"{"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-03T10:00:00Z","endedAt":"2026-03-03T11:30:00Z","areas":["SCALP_AREA_CROWN"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.8,"reason":"TOUCH_UP_REASON_FADING"}"#
    static let consultation = #"{"clinicId":"toronto","consultantId":"17","consultedAt":"2026-02-21T10:00:00Z","hairLossType":"HAIR_LOSS_TYPE_ANDROGENETIC","norwoodStage":"IV","fitzpatrickType":3,"estimatedSessions":3}"#
    static let booking = #"{"bookingId":"B1","clinicId":"toronto","technicianId":"17","startsAt":"2026-03-09T10:00:00Z","expectedMinutes":180,"sessionNumber":1}"#

    /// Every event type on a Toronto record, then the rows that show clinic scope and the
    /// confidential client's care team.
    public static let recording: [Case] = [
        // Client events at Toronto: bookings and registrations are reception's; the rest clinical.
        Case(name: "ClientRegistered at Toronto", line: record("client-50", "ClientRegistered", #"{"clientId":"50","clinicId":"toronto","registeredAt":"2026-02-25T10:00:00Z","personal":{"name":"N. Ew"}}"#), allowed: torontoBookings),
        Case(name: "ConsultationRecorded", line: record("client-42", "ConsultationRecorded", consultation), allowed: torontoClinical),
        Case(name: "ConsentSigned", line: record("client-42", "ConsentSigned", #"{"formId":"smp-consent","formVersion":"v5","signedAt":"2026-02-25T10:00:00Z","coversProcedure":true}"#), allowed: torontoClinical),
        Case(name: "SessionBooked", line: record("client-42", "SessionBooked", booking), allowed: torontoBookings),
        Case(name: "SessionRescheduled", line: record("client-42", "SessionRescheduled", #"{"bookingId":"B1","startsAt":"2026-03-10T10:00:00Z"}"#), allowed: torontoBookings),
        Case(name: "SessionCancelled", line: record("client-42", "SessionCancelled", #"{"bookingId":"B1","cancelledBy":"CANCELLED_BY_CLIENT"}"#), allowed: torontoBookings),
        Case(name: "SessionNoShow", line: record("client-42", "SessionNoShow", #"{"bookingId":"B1"}"#), allowed: torontoBookings),
        Case(name: "session", line: #"{"command":"session","client":"42","data":\#(session)}"#, allowed: torontoClinical),
        Case(name: "touch-up", line: #"{"command":"touch-up","client":"42","data":\#(touchUp)}"#, allowed: torontoClinical),
        Case(name: "AdverseReactionReported", line: record("client-42", "AdverseReactionReported", #"{"reportedAt":"2026-02-26T10:00:00Z","severity":"mild","lots":["PB-1187"]}"#), allowed: torontoClinical),
        Case(name: "amend", line: #"{"command":"amend","client":"42","data":{"correctsEventId":"\#(TestChain.registrationOf42.uuidString.lowercased())","fields":["registeredAt"],"reason":"typo"}}"#, allowed: torontoClinical),
        Case(name: "ClientMarkedConfidential", line: record("client-42", "ClientMarkedConfidential", #"{"reason":"public figure"}"#), allowed: [.admin]),
        Case(name: "ClientConfidentialityLifted", line: record("client-44", "ClientConfidentialityLifted", #"{"reason":"no longer"}"#), allowed: [.admin]),
        // Lots: clinical, at the clinic that received them.
        Case(name: "BatchReceived at Toronto", line: record("batch-PB-3000~perma-blend", "BatchReceived", #"{"lot":"PB-3000","kind":"BATCH_KIND_PIGMENT","manufacturer":"Perma Blend","expiry":"2027-05-31","clinicId":"toronto","receivedAt":"2026-02-25T09:00:00Z"}"#), allowed: torontoClinical),
        Case(name: "BatchOpened", line: record("batch-PB-1187~perma-blend", "BatchOpened", #"{"openedAt":"2026-02-25T09:00:00Z","clinicId":"toronto"}"#), allowed: torontoClinical),
        Case(name: "recall", line: #"{"command":"recall","lot":"PB-1187","data":{"authority":"Health Canada","noticeReference":"RA-1","reason":"contamination","recalledAt":"2026-02-25T09:00:00Z"}}"#, allowed: torontoClinical),
        Case(name: "BatchDiscarded", line: record("batch-PB-1187~perma-blend", "BatchDiscarded", #"{"discardedAt":"2026-02-25T09:00:00Z","reason":"damaged"}"#), allowed: torontoClinical),
        Case(name: "ExposureIncidentRecorded at Toronto", line: record("incident-1", "ExposureIncidentRecorded", #"{"occurredAt":"2026-02-25T11:00:00Z","clinicId":"toronto","service":"session","bodyPart":"left index finger","providerId":"17"}"#), allowed: torontoClinical),
        // Staff and clinics: admins only.
        Case(name: "TechnicianRegistered", line: record("technician-30", "TechnicianRegistered", #"{"registeredAt":"2026-02-25T09:00:00Z","personal":{"name":"T. Thirty"}}"#), allowed: [.admin]),
        Case(name: "TechnicianAssignedToClinic", line: record("technician-17", "TechnicianAssignedToClinic", #"{"clinicId":"toronto","fromDay":"2025-01-10"}"#), allowed: [.admin]),
        Case(name: "CertificationGranted", line: record("technician-18", "CertificationGranted", #"{"certificationId":"C-9","level":"CERTIFICATION_LEVEL_TRAINEE","issuedOn":"2026-02-01","expiresOn":"2027-02-01","issuer":"Stipple Academy"}"#), allowed: [.admin]),
        Case(name: "renew", line: #"{"command":"renew","technician":"17","data":{"certificationId":"C-1","renewedOn":"2026-12-01","expiresOn":"2028-01-10"}}"#, allowed: [.admin]),
        Case(name: "CertificationSuspended", line: record("technician-17", "CertificationSuspended", #"{"certificationId":"C-1","suspendedOn":"2026-04-01","reason":"review"}"#), allowed: [.admin]),
        Case(name: "CertificationRevoked", line: record("technician-17", "CertificationRevoked", #"{"certificationId":"C-1","revokedOn":"2026-04-01","reason":"misconduct"}"#), allowed: [.admin]),
        Case(name: "BloodbornePathogensTrainingRecorded", line: record("technician-17", "BloodbornePathogensTrainingRecorded", #"{"completedOn":"2026-02-01"}"#), allowed: [.admin]),
        Case(name: "HepatitisBStatusRecorded", line: record("technician-17", "HepatitisBStatusRecorded", #"{"status":"HEPATITIS_B_STATUS_EXEMPT","onFileFrom":"2026-02-01"}"#), allowed: [.admin]),
        Case(name: "ConsentFormPublished", line: record("form-photo-release", "ConsentFormPublished", #"{"version":"v1","text":"I agree to before and after photos.","coversPhotos":true}"#), allowed: [.admin]),
        Case(name: "ConsentFormWithdrawn", line: record("form-smp-consent", "ConsentFormWithdrawn", #"{"version":"v4","reason":"replaced by v5"}"#), allowed: [.admin]),
        Case(name: "ClinicOpened", line: record("clinic-richmond-hill", "ClinicOpened", #"{"name":"Stipple Richmond Hill","openedOn":"2026-02-01","timeZone":"America/Toronto"}"#), allowed: [.admin]),
        // Another clinic's records: its own clinicians (and admins) only; naming one's own
        // clinic on another clinic's client grants nothing.
        Case(name: "ConsentSigned on a Brampton client", line: record("client-43", "ConsentSigned", #"{"formId":"smp-consent","formVersion":"v5","signedAt":"2026-02-25T10:00:00Z","coversProcedure":true}"#), allowed: [.admin, .bramptonClinician]),
        Case(name: "SessionBooked on a Brampton client, naming Toronto", line: record("client-43", "SessionBooked", booking), allowed: [.admin]),
        Case(name: "BatchOpened of a Brampton lot", line: record("batch-PB-2000~perma-blend", "BatchOpened", #"{"openedAt":"2026-02-25T09:00:00Z","clinicId":"brampton"}"#), allowed: [.admin, .bramptonClinician]),
        Case(name: "ClientRegistered at Brampton", line: record("client-51", "ClientRegistered", #"{"clientId":"51","clinicId":"brampton","registeredAt":"2026-02-25T10:00:00Z"}"#), allowed: [.admin, .bramptonClinician]),
        // A confidential client: admins and the clinicians already caring for them; nobody
        // joins the care team by recording.
        Case(name: "ConsultationRecorded of a confidential client", line: record("client-44", "ConsultationRecorded", consultation), allowed: [.admin, .clinician]),
        Case(name: "SessionBooked of a confidential client", line: record("client-44", "SessionBooked", booking), allowed: [.admin, .clinician]),
    ]
}
