import Discretion
import EventLog
import Foundation
import GRDB
import StippleService
import StippleTesting
import Synchronization
import Testing

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let now = Mutex(TestChain.now)
    func read() -> Date { now.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
}

/// People signing in to the pages: passwords, sessions, the idle lock, form tokens,
/// throttling, and the finding of clients by name.
@Suite struct PasswordSignInTests {
    static let password = "correct horse battery"

    /// A chain whose clock the test moves, with the cheapest bcrypt cost and dr-lee's password set.
    static func chain(clock: TestClock = TestClock()) async throws -> TestChain {
        let chain = try await TestChain.make { configuration in
            configuration.clock = { clock.read() }
            configuration.signIn.passwordCost = 4
        }
        try await chain.session(.admin).setPassword(of: "dr-lee", to: password)
        return chain
    }

    /// The chain closed, `sql` run on its file as an outsider would, and the chain opened again.
    static func reopened(_ chain: TestChain, after sql: String) async throws -> Service {
        try chain.service.close()
        let queue = try DatabaseQueue(path: chain.databasePath)
        try await queue.write { db in try db.execute(sql: sql) }
        try queue.close()
        var configuration = chain.configuration
        configuration.signIn.passwordCost = 4
        return try await Service.open(configuration)
    }

    @Test func aPasswordSignsInAndTheChainRecordsOnlyItsDigest() async throws {
        let chain = try await Self.chain()
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        #expect(signedIn.session.principal.user == "dr-lee")
        #expect(signedIn.session.principal.clinics == ["toronto"])
        let admin = try await chain.session(.admin)
        let events = try await admin.readStream("user-dr-lee").events
        #expect(events.map(\.event.type) == ["UserAdded", "UserPasswordSet"])
        #expect(!events[1].json.canonicalString.contains("$2b$"), "the bcrypt hash stays out of the chain")
        #expect(try await admin.verify().isIntact)
        #expect(try await admin.hasPassword("dr-lee"))
        #expect(try await !admin.hasPassword("dr-kim"))
    }

    @Test func wrongPasswordsUnknownNamesAndNoPasswordGetOneSentence() async throws {
        let chain = try await Self.chain()
        var messages: Set<String> = []
        for (user, password) in [("dr-lee", "not the password"), ("nobody", Self.password), ("dr-kim", Self.password), ("bad name!", "x")] {
            let error = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: user, password: password, from: "10.0.0.\(messages.count)") }
            #expect(error?.kind == .denied)
            #expect(error?.detail == .unauthenticated)
            messages.insert(error?.message ?? "")
        }
        #expect(messages == ["refused: the user name or the password is wrong"])
    }

    @Test(arguments: [
        ("short", "a password needs at least 12 characters"),
        (String(repeating: "é", count: 40), "at most 72 bytes"),
        ("dr-lee", "at least 12 characters"),
        ("DR-LEE-DR-LEE", "must not be the user name"),
        ("tab\there is long enough", "control characters"),
    ])
    func badPasswordsAreRefusedAndNothingIsRecorded(password: String, words: String) async throws {
        let chain = try await Self.chain()
        let name = password == "DR-LEE-DR-LEE" ? "dr-lee-dr-lee" : "dr-lee"
        if name != "dr-lee" { _ = try await chain.session(.admin).addUser(name, role: .clinician, clinics: ["toronto"]) }
        let before = try await chain.head()
        let error = await #expect(throws: ServiceError.self) { try await chain.session(.admin).setPassword(of: name, to: password) }
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains(words) == true, "\(error?.message ?? "")")
        #expect(try await chain.head() == before)
    }

    @Test func adminsAreRefusedOnThePagesUntilTheyHaveASecondFactorOnceThePasswordIsRight() async throws {
        let chain = try await Self.chain()
        try await chain.session(.admin).setPassword(of: "admin", to: "the admin's long phrase")
        let wrong = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "admin", password: "not the phrase", from: "10.0.0.1") }
        #expect(wrong?.message == "refused: the user name or the password is wrong")
        let refused = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "admin", password: "the admin's long phrase", from: "10.0.0.1") }
        #expect(refused?.kind == .denied)
        #expect(refused?.message == "refused: an admin signs in to the pages with a second factor: an admin gives admin one with `stipple user second-factor admin`")
    }

    @Test func aSecondFactorsCodeWorksOnceWithinAboutAMinuteAndTheChainHoldsOnlyItsDigest() async throws {
        let clock = TestClock()
        let chain = try await Self.chain(clock: clock)
        let admin = try await chain.session(.admin)
        try await admin.setPassword(of: "admin", to: "the admin's long phrase")
        let enrolment = try await admin.enrolSecondFactor(of: "admin")
        #expect(enrolment.url.hasPrefix("otpauth://totp/Stipple:admin?secret=\(enrolment.secret)"))
        let events = try await admin.readStream("user-admin").events
        #expect(events.last?.event.type == "UserSecondFactorSet")
        #expect(!events.contains { $0.json.canonicalString.contains(enrolment.secret) }, "the secret is not in the chain")
        let code = SecondFactors.code(key: enrolment.key, at: clock.read())
        for bad in ["", "000000", "12345", "abcdef"] where bad != code {
            let error = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "admin", password: "the admin's long phrase", code: bad, from: "10.0.0.2") }
            #expect(error?.message.contains("the code from the authenticator app is missing or wrong") == true)
        }
        let signedIn = try await chain.service.signIn(user: "admin", password: "the admin's long phrase", code: code, from: "10.0.0.2")
        #expect(signedIn.session.principal.role == .admin)
        let replayed = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "admin", password: "the admin's long phrase", code: code, from: "10.0.0.3") }
        #expect(replayed?.detail == .unauthenticated, "a code works once")
        clock.advance(30)
        _ = try await chain.service.signIn(user: "admin", password: "the admin's long phrase", code: SecondFactors.code(key: enrolment.key, at: clock.read()), from: "10.0.0.3")
        let stale = SecondFactors.code(key: enrolment.key, at: clock.read().addingTimeInterval(-120))
        let old = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "admin", password: "the admin's long phrase", code: stale, from: "10.0.0.4") }
        #expect(old?.detail == .unauthenticated, "a code of two minutes ago does not work")
    }

    @Test func aClinicianWithASecondFactorNeedsItsCodeAndOneWithoutDoesNot() async throws {
        let chain = try await Self.chain()
        let enrolment = try await chain.session(.admin).enrolSecondFactor(of: "dr-lee")
        let missing = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1") }
        #expect(missing?.detail == .unauthenticated)
        _ = try await chain.service.signIn(user: "dr-lee", password: Self.password, code: SecondFactors.code(key: enrolment.key, at: TestChain.now), from: "10.0.0.1")
        try await chain.session(.admin).setPassword(of: "dr-kim", to: "dr kims own password")
        _ = try await chain.service.signIn(user: "dr-kim", password: "dr kims own password", from: "10.0.0.1")
    }

    @Test func aSecondFactorRowChangedBehindTheLogsBackIsRefusedAndNamedByVerify() async throws {
        let chain = try await Self.chain()
        let lee = try await chain.session(.admin).enrolSecondFactor(of: "dr-lee")
        _ = try await chain.session(.admin).enrolSecondFactor(of: "dr-kim")
        let service = try await Self.reopened(chain, after: "UPDATE user_totp SET sealed = (SELECT sealed FROM user_totp WHERE name = 'dr-kim') WHERE name = 'dr-lee'")
        defer { try? service.close() }
        let error = await #expect(throws: ServiceError.self) {
            try await service.signIn(user: "dr-lee", password: Self.password, code: SecondFactors.code(key: lee.key, at: TestChain.now), from: "10.0.0.1")
        }
        #expect(error?.detail == .unauthenticated)
        let admin = try await service.authenticate(chain.tokens[.admin])
        #expect(try await admin.verify().userMismatches == ["dr-lee: the second factor in the table is not the one the log recorded"])
    }

    @Test func aSecondFactorSurvivesAMasterKeyRotation() async throws {
        let chain = try await Self.chain()
        let admin = try await chain.session(.admin)
        try await admin.setPassword(of: "admin", to: "the admin's long phrase")
        let enrolment = try await admin.enrolSecondFactor(of: "admin")
        _ = try await admin.rotateMasterKey()
        _ = try await chain.service.signIn(
            user: "admin", password: "the admin's long phrase", code: SecondFactors.code(key: enrolment.key, at: TestChain.now), from: "10.0.0.1")
    }

    @Test func onlyAdminsSetOthersPasswordsAndUsersChangeTheirOwnWithTheCurrentOne() async throws {
        let chain = try await Self.chain()
        let lee = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1").session
        let denied = await #expect(throws: ServiceError.self) { try await lee.setPassword(of: "dr-kim", to: "a new long password") }
        #expect(denied?.kind == .denied)
        let wrong = await #expect(throws: ServiceError.self) { try await lee.changeOwnPassword(current: "not it at all", new: "a new long password") }
        #expect(wrong?.message == "refused: the current password is wrong: nothing was changed")
        try await lee.changeOwnPassword(current: Self.password, new: "a new long password")
        _ = try await chain.service.signIn(user: "dr-lee", password: "a new long password", from: "10.0.0.1")
        await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1") }
        let unknown = await #expect(throws: ServiceError.self) { try await chain.session(.admin).setPassword(of: "nobody", to: "a new long password") }
        #expect(unknown?.kind == .notFound)
    }

    @Test func aSessionLocksWhenIdleAndOnlyItsUsersPasswordOpensItKeepingItsFormToken() async throws {
        let clock = TestClock()
        let chain = try await Self.chain(clock: clock)
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        clock.advance(9 * 60)
        _ = try await chain.service.resume(cookie: signedIn.cookie)
        clock.advance(9 * 60)
        _ = try await chain.service.resume(cookie: signedIn.cookie)
        clock.advance(10 * 60)
        let locked = await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }
        #expect(locked?.detail == .locked(user: "dr-lee"))
        let stillLocked = await #expect(throws: ServiceError.self) { try await chain.service.unlock(cookie: signedIn.cookie, formToken: signedIn.formToken, password: "not the password", from: "10.0.0.1") }
        #expect(stillLocked?.detail == .locked(user: "dr-lee"))
        let unlocked = try await chain.service.unlock(cookie: signedIn.cookie, formToken: signedIn.formToken, password: Self.password, from: "10.0.0.1")
        #expect(unlocked.cookie != signedIn.cookie, "a new cookie after the password")
        #expect(unlocked.formToken == signedIn.formToken, "the form typed before the lock can still be sent")
        let old = await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }
        #expect(old?.detail == .unauthenticated)
        #expect(try await chain.service.resume(cookie: unlocked.cookie).session.principal.user == "dr-lee")
    }

    @Test func anUnlockNeedsTheSessionsFormToken() async throws {
        let clock = TestClock()
        let chain = try await Self.chain(clock: clock)
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        clock.advance(11 * 60)
        for token in [nil, "forged"] {
            let error = await #expect(throws: ServiceError.self) {
                try await chain.service.unlock(cookie: signedIn.cookie, formToken: token, password: Self.password, from: "10.0.0.1")
            }
            #expect(error?.kind == .denied)
        }
        #expect(chain.service.formToken(ofSession: signedIn.cookie) == signedIn.formToken)
    }

    @Test func aPasswordSetByAnotherProcessEndsTheSessionsOpenedWithTheOldOne() async throws {
        let chain = try await Self.chain()
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        var configuration = chain.configuration
        configuration.signIn.passwordCost = 4
        let other = try await Service.open(configuration)
        try await other.authenticate(chain.tokens[.admin]).setPassword(of: "dr-lee", to: "set from the command line")
        try other.close()
        let error = await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }
        #expect(error?.detail == .unauthenticated)
        #expect(error?.message == "the password was changed since this session began: sign in again")
    }

    @Test func guessesSentAtOnceAreCountedBeforeTheyAreChecked() async throws {
        let chain = try await Self.chain()
        let outcomes = await withTaskGroup(of: ServiceError.Detail?.self) { group in
            for attempt in 0..<16 {
                group.addTask {
                    do {
                        _ = try await chain.service.signIn(user: "dr-lee", password: "guess \(attempt) at once", from: "10.0.1.\(attempt)")
                        return nil
                    } catch {
                        return (error as? ServiceError)?.detail
                    }
                }
            }
            var outcomes: [ServiceError.Detail?] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.filter { $0 == ServiceError.Detail.unauthenticated }.count == 5, "five guesses checked, the rest refused unchecked")
        #expect(outcomes.filter { if case .throttled = $0 { return true } else { return false } }.count == 11)
    }

    @Test(arguments: [("2001:db8:1:2:aaaa::1", "2001:db8:1:2:ffff::9"), ("::ffff:192.0.2.7", "192.0.2.7")])
    func addressesOfOneNetworkAreThrottledTogether(first: String, second: String) async throws {
        let chain = try await Self.chain()
        for attempt in 0..<20 {
            _ = try? await chain.service.signIn(user: "guess-\(attempt)", password: "a guessed password", from: first)
        }
        let error = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "dr-lee", password: Self.password, from: second) }
        #expect(error?.kind == .refused)
    }

    @Test func signOutEndsTheSessionWhereverItsCookieWasCopied() async throws {
        let chain = try await Self.chain()
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        chain.service.signOut(cookie: signedIn.cookie)
        let error = await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }
        #expect(error?.detail == .unauthenticated)
        for cookie in [nil, "", "made-up"] {
            let error = await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: cookie) }
            #expect(error?.detail == .unauthenticated)
        }
    }

    @Test func sessionsEndAfterTheirLifetimeAndWhenTheUserIsDisabledOrGivenANewPassword() async throws {
        let clock = TestClock()
        let chain = try await Self.chain(clock: clock)
        var signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        var resumed = 0
        for _ in 0..<100 {
            clock.advance(9 * 60)
            if (try? await chain.service.resume(cookie: signedIn.cookie)) == nil { break }
            resumed += 1
        }
        #expect(resumed == 79, "busy for 12 hours (79 × 9 minutes), then ended")
        await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }

        signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        try await chain.session(.admin).setPassword(of: "dr-lee", to: "another long password")
        await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }

        signedIn = try await chain.service.signIn(user: "dr-lee", password: "another long password", from: "10.0.0.1")
        try await chain.session(.admin).disableUser("dr-lee")
        // Disabling ends the user's sessions at once; signing in again says why.
        let ended = await #expect(throws: ServiceError.self) { try await chain.service.resume(cookie: signedIn.cookie) }
        #expect(ended?.detail == .unauthenticated)
        let disabled = await #expect(throws: ServiceError.self) {
            try await chain.service.signIn(user: "dr-lee", password: "another long password", from: "10.0.0.1")
        }
        #expect(disabled?.message == "refused: user dr-lee is disabled: ask an admin")
    }

    @Test func formsWithoutTheirSessionsTokenAreRefused() async throws {
        let chain = try await Self.chain()
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        try signedIn.checkForm(signedIn.formToken)
        for token in [nil, "", String(signedIn.formToken.dropLast()), signedIn.cookie] {
            let error = #expect(throws: ServiceError.self) { try signedIn.checkForm(token) }
            #expect(error?.kind == .denied)
        }
        let other = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.1")
        #expect(other.formToken != signedIn.formToken && other.cookie != signedIn.cookie, "every sign-in is a new session")
    }

    @Test func failedSignInsAreThrottledPerUserAndPerAddressAndThenAllowedAgain() async throws {
        let clock = TestClock()
        let chain = try await Self.chain(clock: clock)
        for attempt in 0..<5 {
            await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "dr-lee", password: "wrong \(attempt) password", from: "10.0.0.\(attempt)") }
        }
        let throttled = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.9") }
        #expect(throttled?.kind == .refused)
        #expect(throttled?.detail == .throttled(retryAfterSeconds: 900))
        #expect(throttled?.message == "too many failed sign-ins: try again in 15 minutes, or ask an admin to set a new password")
        clock.advance(901)
        _ = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "10.0.0.9")

        // One address trying many names.
        for attempt in 0..<20 {
            await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "guess-\(attempt)", password: "a guessed password", from: "192.0.2.7") }
        }
        let address = await #expect(throws: ServiceError.self) { try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "192.0.2.7") }
        #expect(address?.kind == .refused)
        _ = try await chain.service.signIn(user: "dr-lee", password: Self.password, from: "192.0.2.8")
    }

    @Test func aPasswordRowSwappedBehindTheLogsBackSignsNobodyIn() async throws {
        let chain = try await Self.chain()
        try await chain.session(.admin).setPassword(of: "dr-kim", to: "dr kims own password")
        // dr-kim's bcrypt row copied onto dr-lee: dr-kim's password would open dr-lee.
        let service = try await Self.reopened(chain, after: "UPDATE user_passwords SET bcrypt = (SELECT bcrypt FROM user_passwords WHERE name = 'dr-kim') WHERE name = 'dr-lee'")
        defer { try? service.close() }
        let error = await #expect(throws: ServiceError.self) { try await service.signIn(user: "dr-lee", password: "dr kims own password", from: "10.0.0.1") }
        #expect(error?.detail == .unauthenticated)
        let admin = try await service.authenticate(chain.tokens[.admin])
        #expect(try await admin.verify().userMismatches == ["dr-lee: the password in the table is not the one the log recorded"])
    }
}
