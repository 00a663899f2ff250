/// What a user may do, by role (issue 5): admins everything; auditors read everything,
/// run audits and replay histories but record nothing; clinicians record and read for
/// the clinics they belong to; reception books and registers clients for theirs and sees
/// no clinical detail.
public enum Role: String, Sendable, Hashable, CaseIterable {
    case admin, auditor, clinician, reception

    /// Whether the role acts for named clinics only.
    public var isClinicScoped: Bool { self == .clinician || self == .reception }
}

/// One thing a command may need, named as a refusal says it.
public enum Permission: String, Sendable, Hashable, CaseIterable {
    case manageUsers = "manage users"
    case manageKeys = "manage keys"
    case rebuildReports = "rebuild reports"
    case eraseClients = "erase clients"
    case backUp = "back up the log"
    case exportRecords = "export a client's whole record"
    case recordClinical = "record clinical events"
    case recordBookings = "record bookings and client registrations"
    case readClinical = "read clinical records"
    case readReports = "read reports"
    case readAccessLog = "read the access log"
    /// A technician's hepatitis B status (health information of an employee): admins and auditors.
    case readStaffHealth = "read technicians' health records"
    case manageStaff = "manage technicians and clinics"
    case importEvents = "import events"
    case maintainLog = "maintain the log"
    case manageConfidentiality = "mark clients confidential or erase their data"
}

/// A user as a valid token identifies them.
public struct Principal: Sendable, Hashable {
    public var user: String
    public var role: Role
    /// The clinics a clinician or reception user works for (ignored for other roles).
    public var clinics: Set<String>

    public init(user: String, role: Role, clinics: Set<String> = []) {
        self.user = user
        self.role = role
        self.clinics = clinics
    }
}

/// A command refused for a missing permission; says which, and for which clinic.
public struct AccessDenied: Error, Sendable, Hashable, CustomStringConvertible {
    public var user: String
    public var role: Role
    public var permission: Permission
    public var clinic: String?

    public init(user: String, role: Role, permission: Permission, clinic: String?) {
        self.user = user
        self.role = role
        self.permission = permission
        self.clinic = clinic
    }

    public var description: String {
        if let clinic {
            return "\(user) (\(role.rawValue)) may not \(permission.rawValue) for clinic \(clinic)"
        }
        return "\(user) (\(role.rawValue)) may not \(permission.rawValue)"
    }
}

/// The grants of each role, and the check every command makes before doing anything.
public enum AccessPolicy {
    /// What each role may do (clinic-scoped roles only for their clinics).
    package static let grants: [Role: Set<Permission>] = [
        .admin: Set(Permission.allCases),
        .auditor: [.readClinical, .readReports, .readAccessLog, .readStaffHealth],
        .clinician: [.recordClinical, .recordBookings, .readClinical, .readReports],
        .reception: [.recordBookings],
    ]

    /// Allows `permission` for `principal`, at `clinic` when the action concerns one.
    ///
    /// A clinic-scoped role needs the clinic named and among theirs: an action across the
    /// chain (no clinic) is refused to them.
    ///
    /// - Throws: ``AccessDenied`` naming the missing permission.
    package static func check(_ principal: Principal, _ permission: Permission, clinic: String? = nil) throws(AccessDenied) {
        let denied = AccessDenied(user: principal.user, role: principal.role, permission: permission, clinic: clinic)
        guard grants[principal.role]?.contains(permission) == true else { throw denied }
        if principal.role.isClinicScoped {
            guard let clinic, principal.clinics.contains(clinic) else { throw denied }
        }
    }
}
