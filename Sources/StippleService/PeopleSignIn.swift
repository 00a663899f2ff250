import Crypto
import Discretion
import Foundation
import Synchronization

/// How people sign in to the pages: how long a session lives, when an idle one locks,
/// how many wrong passwords are allowed.
public struct SignInPolicy: Sendable {
    /// A session idle this long locks: the same person's password opens it again without
    /// losing what they were typing (clinic tablets are shared).
    public var idleLock: Duration = .seconds(600)
    /// A session ends this long after its sign-in, however busy.
    public var lifetime: Duration = .seconds(12 * 3_600)
    /// Failed sign-ins allowed per user, and per address, within `failureWindow`; more are
    /// refused (a right password too) until the oldest failure is that old.
    public var failuresPerUser = 5
    public var failuresPerAddress = 20
    public var failureWindow: Duration = .seconds(900)
    /// bcrypt's cost for passwords set from now on (tests use the minimum, 4).
    public var passwordCost: UInt8 = Passwords.defaultCost
    /// The most sessions held at once (the oldest idle ones go first).
    public var maxSessions = 10_000

    public init() {}
}

/// A person's signed-in session, as a page request finds it.
public struct SignedIn: Sendable {
    /// The user's session: every use case, checked against their role and clinics.
    public let session: Session
    /// The value of the session cookie: set on sign-in and unlock, never shown elsewhere.
    public let cookie: String
    /// The token every form of this session carries.
    public let formToken: String

    /// Refuses a form that does not carry this session's token (a form posted from
    /// another site: CSRF).
    ///
    /// - Throws: ``ServiceError`` of kind `denied`.
    public func checkForm(_ token: String?) throws(ServiceError) {
        try Self.check(token, against: formToken)
    }

    /// Refuses `token` unless it is `expected` (a session's form token).
    static func check(_ token: String?, against expected: String) throws(ServiceError) {
        guard let token, sameBytes(token, expected) else {
            throw ServiceError(.denied, "refused: this form is out of date or was not sent by Stipple's page; open the page again and resend it")
        }
    }

    /// Compares in time that depends on the length only.
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The sessions of the people signed in to the pages, held in the server's memory only
/// (a restart signs everyone out), by the SHA-256 of their cookie; and the failed
/// sign-ins of the last window, by user and by address.
final class PeopleSessions: Sendable {
    struct Entry {
        var user: String
        /// The digest of the password the session was opened with: a password set since
        /// (by any process) ends the session.
        var passwordDigest: String?
        var formToken: String
        var signedInAt: Date
        var lastSeen: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let failures = Mutex<[String: [Date]]>([:])

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func key(_ cookie: String) -> String { SHA256.hash(data: Array(cookie.utf8)).hexString }

    /// A new session for `user`: its cookie and form token.
    /// - Parameter formToken: the token to keep (an unlocked session keeps its forms valid).
    func start(
        user: String, passwordDigest: String?, at now: Date, policy: SignInPolicy, formToken: String? = nil, signedInAt: Date? = nil
    ) -> (cookie: String, formToken: String) {
        let cookie = Self.random(), formToken = formToken ?? Self.random()
        entries.withLock { entries in
            if entries.count >= policy.maxSessions, let oldest = entries.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                entries[oldest] = nil
            }
            entries[Self.key(cookie)] = Entry(user: user, passwordDigest: passwordDigest, formToken: formToken, signedInAt: signedInAt ?? now, lastSeen: now)
        }
        return (cookie, formToken)
    }

    enum Found {
        case active(Entry)
        case locked(Entry)
        case none
    }

    /// The session of `cookie`; an active one is marked seen now.
    func find(_ cookie: String, at now: Date, policy: SignInPolicy, touch: Bool) -> Found {
        let key = Self.key(cookie)
        return entries.withLock { entries in
            guard var entry = entries[key] else { return .none }
            if now.timeIntervalSince(entry.signedInAt) >= policy.lifetime.seconds {
                entries[key] = nil
                return .none
            }
            if now.timeIntervalSince(entry.lastSeen) >= policy.idleLock.seconds { return .locked(entry) }
            if touch {
                entry.lastSeen = now
                entries[key] = entry
            }
            return .active(entry)
        }
    }

    private let steps = Mutex<[String: Int64]>([:])

    /// Whether `step` is later than the last code step `user` signed in with (and notes it).
    func useStep(_ step: Int64, of user: String) -> Bool {
        steps.withLock { steps in
            if let last = steps[user], last >= step { return false }
            steps[user] = step
            return true
        }
    }

    func end(_ cookie: String) { _ = entries.withLock { $0.removeValue(forKey: Self.key(cookie)) } }

    /// Ends every session of `user` (a password set by an admin, a disabled user).
    func end(user: String) { entries.withLock { $0 = $0.filter { $0.value.user != user } } }

    // MARK: - Throttling

    /// Counts an attempt against `keys` before its password is checked, in one step with
    /// the check of the limits (attempts sent at once cannot all pass before any is
    /// counted): `nil` when it may go on, else the seconds until it may. A right password
    /// takes its count back (``succeeded(_:at:)``).
    func attempt(_ keys: [(key: String, limit: Int)], at now: Date, policy: SignInPolicy) -> Int? {
        failures.withLock { failures in
            var longest: Double?
            for (key, limit) in keys {
                let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < policy.failureWindow.seconds }
                failures[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first {
                    longest = max(longest ?? 0, policy.failureWindow.seconds - now.timeIntervalSince(oldest))
                }
            }
            if let longest { return max(1, Int(longest.rounded(.up))) }
            if failures.count > 100_000 {
                // Bounded memory: attempts older than the window go first, never the recent ones.
                failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < policy.failureWindow.seconds } }
            }
            for (key, _) in keys { failures[key, default: []].append(now) }
            return nil
        }
    }

    /// A right password: the user's count starts again; the address's attempt is taken back.
    func succeeded(_ keys: (user: String?, address: String), at now: Date) {
        failures.withLock { failures in
            if let user = keys.user { failures[user] = nil }
            if var list = failures[keys.address], let index = list.lastIndex(of: now) {
                list.remove(at: index)
                failures[keys.address] = list.isEmpty ? nil : list
            }
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

// Sign-in of people (the pages); tokens stay for the API and the CLI.
extension Service {
    /// Signs a person in with their name and password: a new session (never one the
    /// browser brought: no fixation), its cookie and its form token.
    ///
    /// - Parameter address: where the attempt comes from, for throttling.
    /// - Throws: ``ServiceError``: `denied` + ``ServiceError/Detail/unauthenticated`` with
    ///   one sentence for an unknown name, no password or a wrong one; `refused` +
    ///   ``ServiceError/Detail/throttled(retryAfterSeconds:)`` after too many failures (a
    ///   right password too); `denied` for a disabled user (once the password was right).
    /// - Parameter code: the code of the user's authenticator app, for a user with a second
    ///   factor (admins must have one).
    public func signIn(user: String, password: String, code: String? = nil, from address: String) async throws(ServiceError) -> SignedIn {
        let (principal, digest) = try await checkPassword(user: user, password: password, code: code ?? "", from: address)
        let (cookie, formToken) = people.start(user: principal.user, passwordDigest: digest, at: configuration.clock(), policy: configuration.signIn)
        return SignedIn(session: Session(service: self, principal: principal), cookie: cookie, formToken: formToken)
    }

    /// The session a page request's cookie names, marked seen now.
    ///
    /// - Throws: ``ServiceError`` of kind `denied`: ``ServiceError/Detail/unauthenticated``
    ///   for no cookie, an unknown, ended or expired one, or a user disabled since;
    ///   ``ServiceError/Detail/locked(user:)`` for a session idle past the lock.
    public func resume(cookie: String?) async throws(ServiceError) -> SignedIn {
        guard let cookie, !cookie.isEmpty else { throw Self.signedOut }
        switch people.find(cookie, at: configuration.clock(), policy: configuration.signIn, touch: true) {
        case .none:
            throw Self.signedOut
        case .locked(let entry):
            throw ServiceError(.denied, "this session was locked after \(Int(configuration.signIn.idleLock.seconds / 60)) idle minutes: \(entry.user)'s password opens it again", detail: .locked(user: entry.user))
        case .active(let entry):
            let principal: Principal
            do {
                principal = try await classified { try await Users(log: log).principal(named: entry.user) }
                guard try await classified({ try await Passwords(log: log).digest(of: entry.user) }) == entry.passwordDigest else {
                    throw ServiceError(.denied, "the password was changed since this session began: sign in again", detail: .unauthenticated)
                }
            } catch {
                people.end(cookie)
                throw ServiceError(.denied, ServiceError(error).message, detail: .unauthenticated)
            }
            return SignedIn(session: Session(service: self, principal: principal), cookie: cookie, formToken: entry.formToken)
        }
    }

    /// Opens a locked session again with its user's password (another person signs out
    /// and in instead). The session gets a new cookie; its form token stays, so a form
    /// typed before the lock can still be sent.
    ///
    /// - Throws: ``ServiceError``: `denied` + ``ServiceError/Detail/locked(user:)`` for a
    ///   wrong password (the session stays locked), `denied` + `unauthenticated` for a
    ///   session that has ended, `refused` + `throttled` as ``signIn(user:password:from:)``.
    public func unlock(cookie: String?, formToken: String?, password: String, from address: String) async throws(ServiceError) -> SignedIn {
        guard let cookie, !cookie.isEmpty else { throw Self.signedOut }
        let now = configuration.clock()
        let entry: PeopleSessions.Entry
        switch people.find(cookie, at: now, policy: configuration.signIn, touch: false) {
        case .none: throw Self.signedOut
        case .locked(let found), .active(let found): entry = found
        }
        // The lock's form carries the session's token like every form (no unlock, and no
        // form kept in it, from another site).
        try SignedIn.check(formToken, against: entry.formToken)
        let principal: Principal, digest: String?
        do {
            (principal, digest) = try await checkPassword(user: entry.user, password: password, code: nil, from: address)
        } catch where error.detail == .unauthenticated {
            // A wrong password leaves the session as it was: locked.
            throw ServiceError(.denied, error.message, detail: .locked(user: entry.user))
        }
        people.end(cookie)
        // The new cookie keeps the session's sign-in time: its 12 hours are not renewed.
        let renewed = people.start(
            user: principal.user, passwordDigest: digest, at: now, policy: configuration.signIn, formToken: entry.formToken, signedInAt: entry.signedInAt)
        return SignedIn(session: Session(service: self, principal: principal), cookie: renewed.cookie, formToken: renewed.formToken)
    }

    /// The form token of the session `cookie` names, locked or not (`nil`: none): the lock
    /// page's forms carry it, as every page's do.
    public func formToken(ofSession cookie: String?) -> String? {
        guard let cookie, !cookie.isEmpty else { return nil }
        switch people.find(cookie, at: configuration.clock(), policy: configuration.signIn, touch: false) {
        case .none: return nil
        case .locked(let entry), .active(let entry): return entry.formToken
        }
    }

    /// Whether the session of `cookie` is signed in and not locked (it is not marked seen:
    /// a page following something is no one using it).
    func isActive(cookie: String) -> Bool {
        if case .active = people.find(cookie, at: configuration.clock(), policy: configuration.signIn, touch: false) { return true }
        return false
    }

    /// Ends the session of `cookie` (its cookie is refused from now on, wherever it was copied).
    public func signOut(cookie: String?) {
        if let cookie { people.end(cookie) }
    }

    static let signedOut = ServiceError(.denied, "please sign in", detail: .unauthenticated)

    /// The key attempts from `address` count under: the address, or an IPv6 address's /64
    /// (one machine gets a whole /64 and could rotate through it).
    static func throttleKey(address: String) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard address.contains(":"), inet_pton(AF_INET6, address, &bytes) == 1 else { return "address " + address }
        if bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return "address " + bytes.suffix(4).map(String.init).joined(separator: ".")
        }
        return "address " + bytes.prefix(8).hexString + "::/64"
    }

    /// - Parameter code: `nil` where no second factor is asked (an unlock, a password change:
    ///   the session passed it at sign-in); else the code, checked for users who have one.
    func checkPassword(user: String, password: String, code: String?, from address: String) async throws(ServiceError) -> (principal: Principal, digest: String?) {
        let policy = configuration.signIn
        // A name that no user can have is not counted under its own key (unbounded, made-up
        // names would fill the memory): the address's count still holds it.
        let userKey = Users.isValidUserName(user) ? "user " + user.lowercased() : nil
        let addressKey = Self.throttleKey(address: address)
        let now = configuration.clock()
        var keys = [(addressKey, policy.failuresPerAddress)]
        if let userKey { keys.append((userKey, policy.failuresPerUser)) }
        if let wait = people.attempt(keys, at: now, policy: policy) {
            let minutes = (wait + 59) / 60
            throw ServiceError(
                .refused, "too many failed sign-ins: try again in \(minutes) minute\(minutes == 1 ? "" : "s"), or ask an admin to set a new password",
                detail: .throttled(retryAfterSeconds: wait))
        }
        let passwords = Passwords(log: log)
        let principal: Principal
        do {
            principal = try await passwords.signIn(user, password: password, cost: policy.passwordCost)
        } catch let error as PasswordError {
            throw ServiceError(error)
        } catch {
            // The password was right (a disabled user, a tampered row) or the log failed: not a guess.
            people.succeeded((nil, addressKey), at: now)
            throw ServiceError(error)
        }
        if let code {
            // The second factor: a wrong code counts as a wrong password; an admin without
            // one is refused (not a guess).
            let keys = try await classified { try await clientKeysIfAvailable() }
            guard let keys else { throw ServiceError.failure("second factors cannot be checked without the master key file (\(configuration.masterKeyPath))") }
            switch try await classified({ try await SecondFactors(log: log, keys: keys).check(principal.user, code: code, at: now) }) {
            case .notEnrolled:
                if principal.role == .admin {
                    people.succeeded((nil, addressKey), at: now)
                    throw ServiceError(.denied, "refused: " + SecondFactorError.required(principal.user).description)
                }
            case .wrong:
                throw ServiceError(.denied, "refused: " + SecondFactorError.wrongCode.description, detail: .unauthenticated)
            case .right(let step):
                // Each code once: a code seen (or an earlier one) is refused.
                guard people.useStep(step, of: principal.user) else {
                    throw ServiceError(.denied, "refused: " + SecondFactorError.wrongCode.description, detail: .unauthenticated)
                }
            }
        }
        people.succeeded((userKey, addressKey), at: now)
        return (principal, try await classified { try await passwords.digest(of: principal.user) })
    }
}

// Passwords.
extension Session {
    /// Sets `user`'s password for the pages (admins, for anyone). Their sessions end.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `badInput` for a password too short, too long,
    ///   equal to the name or with control characters; `notFound` for an unknown user).
    public func setPassword(of user: String, to password: String) async throws(ServiceError) {
        try require(.manageUsers)
        try await storePassword(of: user, password)
    }

    /// Changes the signed-in user's own password, given the current one.
    ///
    /// - Throws: ``ServiceError`` (`denied` for a wrong current password; `badInput` as
    ///   ``setPassword(of:to:)``).
    public func changeOwnPassword(current: String, new password: String) async throws(ServiceError) {
        do {
            _ = try await service.checkPassword(user: principal.user, password: current, code: nil, from: "session of \(principal.user)")
        } catch where error.detail == .unauthenticated {
            throw ServiceError(PasswordError.wrongCurrentPassword)
        }
        try await storePassword(of: principal.user, password)
    }

    /// Gives `user` a new second factor for the pages (admins need one); returns the secret
    /// and URL to show once. Their sessions end.
    ///
    /// - Throws: ``ServiceError`` (`denied`; `notFound` for an unknown user; `failure`
    ///   without the master key file).
    public func enrolSecondFactor(of user: String) async throws(ServiceError) -> SecondFactors.Enrolment {
        try require(.manageUsers)
        let keys = try await classified { try await service.clientKeysIfAvailable() }
        guard let keys else { throw ServiceError.failure("a second factor is sealed with the master key: the master key file (\(configuration.masterKeyPath)) is needed") }
        let enrolment = try await classified {
            let (enrolment, decision) = try await SecondFactors(log: log, keys: keys).enrolling(user, at: configuration.clock())
            _ = try await append([decision])
            return enrolment
        }
        service.people.end(user: user)
        return enrolment
    }

    private func storePassword(of user: String, _ password: String) async throws(ServiceError) {
        do { try Passwords.check(password, user: user) } catch { throw ServiceError(error) }
        let bcrypt = await Passwords.hash(password, cost: configuration.signIn.passwordCost)
        try await classified { _ = try await append([Passwords.setting(user, bcrypt: bcrypt, at: configuration.clock())]) }
        service.people.end(user: user)
    }

    /// Whether `user` has a password for the pages.
    public func hasPassword(_ user: String) async throws(ServiceError) -> Bool {
        try require(.manageUsers)
        return try await classified { try await Passwords(log: log).hasPassword(user) }
    }
}
