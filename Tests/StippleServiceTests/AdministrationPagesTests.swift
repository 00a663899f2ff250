import Discretion
import EventLog
import Foundation
import GRDB
import StippleService
import StippleTesting
import Recording
import Testing
import Treatment

/// What the admin pages call: invite links, background rebuilds followed live, and the
/// last verification that passed.
@Suite struct AdministrationPagesTests {
    static let phrase = "a phrase of my own choosing"

    static func chain(clock: TestClock = TestClock()) async throws -> TestChain {
        try await TestChain.make { configuration in
            configuration.clock = { clock.read() }
            configuration.signIn.passwordCost = 4
        }
    }

    @Test("a backup by name goes into the backup folder only: a path, a climb, a hidden or another kind of file is refused, nothing written")
    func backupsByNameStayInTheirFolder() async throws {
        let chain = try await Self.chain()
        let admin = try await chain.session(.admin)
        let folder = chain.configuration.resolvedBackupFolder
        #expect(folder == chain.folder.file("backups"), "default: beside the log")
        for name in ["/tmp/stipple.sqlite", "../stipple-copy.sqlite", "nested/copy.sqlite", ".hidden.sqlite", "copy.db", "copy .sqlite", "", "côpie.sqlite"] {
            let error = await serviceError({ _ = try await admin.backup(named: name) })
            #expect(error?.kind == .badInput, "\(name)")
            #expect(error?.message.contains("a backup is named by a file name of letters, digits") == true, "\(name): \(error?.message ?? "")")
        }
        #expect(!FileManager.default.fileExists(atPath: folder), "nothing made for a refused name")
        let (path, report) = try await admin.backup(named: "stipple-2026-12-02.sqlite")
        #expect(path == folder + "/stipple-2026-12-02.sqlite")
        #expect(report.isIntact && FileManager.default.fileExists(atPath: path))
        let mode = try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int
        #expect(mode == 0o700, "the folder is its owner's only")
        let again = await serviceError({ _ = try await admin.backup(named: "stipple-2026-12-02.sqlite") })
        #expect(again?.message.contains("it exists already") == true, "\(again?.message ?? "")")
        let clinician = await serviceError({ _ = try await chain.session(.clinician).backup(named: "mine.sqlite") })
        #expect(clinician?.kind == .denied)
        // A server's service refuses any path: its users name a file in the folder.
        let served = try await TestChain.make { $0.backupsByNameOnly = true }
        let anywhere = await serviceError({ _ = try await served.session(.admin).backup(to: served.folder.file("anywhere.sqlite")) })
        #expect(anywhere?.message.contains("only into its backup folder") == true, "\(anywhere?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: served.folder.file("anywhere.sqlite")))
    }

    @Test("a user's role and clinics change from their next request, in the chain: the users table still matches it")
    func aChangeOfRoleAndClinics() async throws {
        let chain = try await Self.chain()
        let admin = try await chain.session(.admin)
        #expect(try await chain.session(.otherClinician).history(client: "42").sections.isEmpty == false, "Toronto's client, to a Toronto clinician")
        try await admin.changeAccess(of: "dr-kim", role: .clinician, clinics: ["brampton", "brampton"])
        let moved = try await chain.session(.otherClinician)
        #expect(moved.principal.clinics == ["brampton"])
        let refused = await serviceError({ _ = try await moved.history(client: "42") })
        #expect(refused?.kind == .denied, "now another clinic's client")
        let events = try await admin.readStream("user-dr-kim").events
        #expect(events.last?.event.type == "UserAccessChanged")
        #expect(try events.last?.event.metadata().actor == "admin")
        #expect(try await admin.verify().isIntact, "the table's row is what the chain's events make")
        #expect(try await admin.users().first { $0.name == "dr-kim" }?.clinics == ["brampton"])

        let before = try await chain.head()
        let refusals: [(String, () async throws -> Void, ServiceError.Kind, String)] = [
            ("no change", { try await admin.changeAccess(of: "dr-kim", role: .clinician, clinics: ["brampton"]) }, .badInput, "has that role and those clinics already"),
            ("clinics for an auditor", { try await admin.changeAccess(of: "dr-kim", role: .auditor, clinics: ["toronto"]) }, .badInput, "works for the whole chain"),
            ("no clinic for reception", { try await admin.changeAccess(of: "dr-kim", role: .reception, clinics: []) }, .badInput, "works for named clinics"),
            ("a clinic that cannot be an id", { try await admin.changeAccess(of: "dr-kim", role: .clinician, clinics: ["to ronto"]) }, .badInput, "cannot be a clinic"),
            ("the last admin", { try await admin.changeAccess(of: "admin", role: .auditor, clinics: []) }, .badInput, "is the last enabled admin"),
            ("nobody", { try await admin.changeAccess(of: "dr-nobody", role: .auditor, clinics: []) }, .notFound, "there is no user dr-nobody"),
        ]
        for (what, attempt, kind, words) in refusals {
            let error = await serviceError(attempt)
            #expect(error?.kind == kind, "\(what)")
            #expect(error?.message.contains(words) == true, "\(what): \(error?.message ?? "")")
        }
        // A page session of the user ends: they sign in again under the new role's terms (an
        // admin needs a second factor, which a session begun as a clinician never showed).
        try await admin.setPassword(of: "dr-kim", to: Self.phrase)
        let signedIn = try await chain.service.signIn(user: "dr-kim", password: Self.phrase, from: "10.0.0.7")
        try await admin.changeAccess(of: "dr-kim", role: .admin, clinics: [])
        let ended = await serviceError({ _ = try await chain.service.resume(cookie: signedIn.cookie) })
        #expect(ended?.detail == .unauthenticated)
        let again = await serviceError({ _ = try await chain.service.signIn(user: "dr-kim", password: Self.phrase, from: "10.0.0.7") })
        #expect(again?.message.contains("second factor") == true || again?.message.contains("authenticator") == true, "\(again?.message ?? "")")
        try await admin.changeAccess(of: "dr-kim", role: .clinician, clinics: ["brampton"])
        let clinics = await serviceError({ try await admin.changeAccess(of: "dr-kim", role: .reception, clinics: []) })
        #expect(clinics?.detail == .field("clinics"), "a form shows it next to the clinics")
        try await admin.disableUser("dr-kim")
        let disabled = await serviceError({ try await admin.changeAccess(of: "dr-kim", role: .auditor, clinics: []) })
        #expect(disabled?.message.contains("dr-kim is disabled, and stays so") == true, "\(disabled?.message ?? "")")
        #expect(try await chain.session(.admin).stats().headPosition == (try await Self.position(before)) + 4,
                "the password, two changes and the disabling were recorded; no refusal was")
    }

    static func position(_ head: String) async throws -> Int64 { Int64(head.split(separator: " ")[0])! }

    @Test func anInviteLinkSetsThePersonsOwnPasswordOnceAndIsRecordedAsTheirs() async throws {
        let chain = try await Self.chain()
        let invite = try await chain.session(.admin).invite("dr-lee")
        #expect(try await chain.service.invitedUser(token: invite.token) == "dr-lee")
        let weak = await #expect(throws: ServiceError.self) { try await chain.service.acceptInvite(token: invite.token, password: "short") }
        #expect(weak?.kind == .badInput)
        #expect(try await chain.service.invitedUser(token: invite.token) == "dr-lee", "a refused password leaves the link working")
        #expect(try await chain.service.acceptInvite(token: invite.token, password: Self.phrase) == "dr-lee")
        let signedIn = try await chain.service.signIn(user: "dr-lee", password: Self.phrase, from: "10.0.0.1")
        #expect(signedIn.session.principal.user == "dr-lee")
        let again = await #expect(throws: ServiceError.self) { try await chain.service.acceptInvite(token: invite.token, password: "another phrase entirely") }
        #expect(again?.kind == .refused)
        #expect(again?.message.contains("not valid") == true)
        let events = try await chain.session(.admin).readStream("user-dr-lee").events
        let set = try #require(events.last).event
        #expect(set.type == "UserPasswordSet")
        #expect(try set.metadata().actor == "dr-lee", "the person set it, through the admin's link")
        let recorded = try #require(try Recorder.decode(set) as? Stipple_V1_UserPasswordSet)
        #expect(recorded.invitedBy == "admin", "whose link it was is in the chain")
    }

    @Test func aNewerLinkReplacesTheOlderAndLinksExpireAfter72Hours() async throws {
        let clock = TestClock()
        let chain = try await Self.chain(clock: clock)
        let admin = try await chain.session(.admin)
        let first = try await admin.invite("dr-lee")
        let second = try await admin.invite("dr-lee")
        let replaced = await #expect(throws: ServiceError.self) { try await chain.service.invitedUser(token: first.token) }
        #expect(replaced?.kind == .refused)
        #expect(second.expiresAt == clock.read().addingTimeInterval(72 * 3600))
        clock.advance(72 * 3600 + 1)
        let expired = await #expect(throws: ServiceError.self) { try await chain.service.acceptInvite(token: second.token, password: Self.phrase) }
        #expect(expired?.kind == .refused)
        let made = await #expect(throws: ServiceError.self) { try await chain.service.invitedUser(token: "made-up") }
        #expect(made?.message == expired?.message, "nothing tells a made-up link from an expired one")
    }

    @Test func onlyAdminsInviteAndNeverAnUnknownOrDisabledUser() async throws {
        let chain = try await Self.chain()
        let clinician = await #expect(throws: ServiceError.self) { try await chain.session(.clinician).invite("dr-kim") }
        #expect(clinician?.kind == .denied)
        let admin = try await chain.session(.admin)
        let unknown = await #expect(throws: ServiceError.self) { try await admin.invite("nobody") }
        #expect(unknown?.kind == .notFound)
        let link = try await admin.invite("dr-kim")
        try await admin.disableUser("dr-kim")
        let disabled = await #expect(throws: ServiceError.self) { try await admin.invite("dr-kim") }
        #expect(disabled?.kind == .refused)
        let late = await #expect(throws: ServiceError.self) { try await chain.service.acceptInvite(token: link.token, password: Self.phrase) }
        #expect(late?.kind == .refused, "a link made before the user was disabled no longer works")
    }

    @Test func theLinksTableKeepsOnlyDigests() async throws {
        let chain = try await Self.chain()
        let invite = try await chain.session(.admin).invite("dr-lee")
        try chain.service.close()
        let queue = try DatabaseQueue(path: chain.databasePath)
        let stored = try await queue.read { db in try String.fetchAll(db, sql: "SELECT digest FROM user_invites") }
        try queue.close()
        #expect(stored.count == 1)
        #expect(stored.first != invite.token && stored.first?.count == 64)
    }

    @Test func aBackgroundRebuildIsFollowedToItsEndAndOnlyByThoseWhoMayRebuild() async throws {
        let chain = try await Self.chain()
        let refused = await #expect(throws: ServiceError.self) { try await chain.session(.clinician).startRebuild(nil) }
        #expect(refused?.kind == .denied)
        let admin = try await chain.session(.admin)
        let id = try admin.startRebuild([ProjectionName(rawValue: "audit")!])
        var last: RebuildJob?
        for await state in try admin.followRebuild(id) { last = state }
        let job = try #require(last)
        #expect(job.finished && job.failure == nil)
        #expect(job.summaries.map(\.name) == ["audit"])
        #expect(job.percent == 100)
        #expect(try admin.rebuildJob(id) == job, "the page shows the same state after the end")
        let follower = await #expect(throws: ServiceError.self) { try await chain.session(.auditor).followRebuild(id) }
        #expect(follower?.kind == .denied)
        let unknown = await #expect(throws: ServiceError.self) { try admin.rebuildJob("no-such-job") }
        #expect(unknown?.kind == .notFound)
    }

    @Test func aPassedVerificationIsRememberedWithItsHead() async throws {
        let chain = try await Self.chain()
        let auditor = try await chain.session(.auditor)
        #expect(auditor.lastPassedVerification == nil)
        let verification = try await auditor.verifyAndRemember()
        let passed = try #require(auditor.lastPassedVerification)
        #expect(passed.head == verification.log.head)
        #expect(passed.by == "audit-1")
        #expect(passed.events == verification.log.eventCount)
    }

    @Test func aPasswordSetOtherwiseOrADisabledUserEndsTheirPendingLink() async throws {
        let chain = try await Self.chain()
        let admin = try await chain.session(.admin)
        let link = try await admin.invite("dr-lee")
        try await admin.setPassword(of: "dr-lee", to: Self.phrase)
        let afterPassword = await #expect(throws: ServiceError.self) { try await chain.service.invitedUser(token: link.token) }
        #expect(afterPassword?.kind == .refused)
        let second = try await admin.invite("dr-kim")
        try await admin.disableUser("dr-kim")
        let afterDisable = await #expect(throws: ServiceError.self) { try await chain.service.invitedUser(token: second.token) }
        #expect(afterDisable?.kind == .refused)
    }
}
