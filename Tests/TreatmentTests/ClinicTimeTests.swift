import Foundation
import SwiftProtobuf
import Testing
@testable import Treatment

/// Clinic time: local days, both daylight-saving changes of 2026 in America/Toronto
/// (8 March, clocks 02:00 → 03:00; 1 November, 02:00 → 01:00), and the rules on local days.
@Suite("Clinic time")
struct ClinicTimeTests {
    let toronto = ClinicTime.chainDefault

    /// Seconds of a local wall-clock time read as if it were UTC.
    static func local(_ day: String, _ hour: Int, _ minute: Int = 0) -> Int64 {
        Day(day)!.startSeconds + Int64(hour * 3_600 + minute * 60)
    }

    static func utc(_ text: String) -> Int64 {
        Int64(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970)
    }

    @Test("a local time is the instant the clinic's clock showed; offsets follow daylight saving time")
    func instants() throws {
        #expect(try toronto.instant(local: Self.local("2026-03-02", 10)) == Self.utc("2026-03-02T15:00:00Z"))
        #expect(try toronto.instant(local: Self.local("2026-07-02", 10)) == Self.utc("2026-07-02T14:00:00Z"))
        #expect(toronto.shown(Self.utc("2026-03-02T15:00:00Z")) == "2026-03-02 10:00 -05:00")
        #expect(toronto.shown(Self.utc("2026-07-02T14:00:00Z")) == "2026-07-02 10:00 -04:00")
        #expect(toronto.clock(Self.utc("2026-07-02T14:05:00Z")) == "10:05")
    }

    @Test("a session across either change of 2026 lasts the hours that passed, not the hours the clock moved")
    func acrossTheChanges() throws {
        // 8 March: 01:00 EST to 05:00 EDT is three hours.
        let springStart = try toronto.instant(local: Self.local("2026-03-08", 1))
        let springEnd = try toronto.instant(local: Self.local("2026-03-08", 5))
        #expect(springEnd - springStart == 3 * 3_600)
        // 1 November: 00:30 EDT to 03:30 EST is four hours.
        let fallStart = try toronto.instant(local: Self.local("2026-11-01", 0, 30))
        let fallEnd = try toronto.instant(local: Self.local("2026-11-01", 3, 30))
        #expect(fallEnd - fallStart == 4 * 3_600)
        // The local day of each change starts at its local midnight.
        #expect(toronto.start(of: Day("2026-03-08")!) == Self.utc("2026-03-08T05:00:00Z"))
        #expect(toronto.start(of: Day("2026-11-02")!) == Self.utc("2026-11-02T05:00:00Z"))
    }

    @Test("23:30 local is on its local day, which is the next day in UTC")
    func nearMidnight() throws {
        let lateWinter = try toronto.instant(local: Self.local("2026-03-02", 23, 30))
        #expect(Day(seconds: lateWinter) == Day("2026-03-03")!, "the next day in UTC")
        #expect(toronto.day(of: lateWinter) == Day("2026-03-02")!)
        let lateSummer = try toronto.instant(local: Self.local("2026-07-02", 23, 30))
        #expect(toronto.day(of: lateSummer) == Day("2026-07-02")!)
        #expect(toronto.day(of: Self.utc("2026-07-03T03:59:59Z")) == Day("2026-07-02")!)
        #expect(toronto.day(of: Self.utc("2026-07-03T04:00:00Z")) == Day("2026-07-03")!)
    }

    @Test("a time the clocks skip is refused with the reason; one they show twice needs its offset")
    func gapAndOverlap() {
        #expect(throws: LocalTimeError.skipped(shown: "2026-03-08 02:30", zone: "America/Toronto")) {
            try toronto.instant(local: Self.local("2026-03-08", 2, 30))
        }
        #expect(throws: LocalTimeError.ambiguous(shown: "2026-11-01 01:30", zone: "America/Toronto", offsets: ["-04:00", "-05:00"])) {
            try toronto.instant(local: Self.local("2026-11-01", 1, 30))
        }
        let skipped = LocalTimeError.skipped(shown: "2026-03-08 02:30", zone: "America/Toronto").description
        #expect(skipped.contains("does not exist in America/Toronto"))
        let ambiguous = LocalTimeError.ambiguous(shown: "2026-11-01 01:30", zone: "America/Toronto", offsets: ["-04:00", "-05:00"]).description
        #expect(ambiguous.contains("2026-11-01T01:30-04:00"), "\(ambiguous)")
        // The hours next to the changes are fine.
        #expect(throws: Never.self) { try toronto.instant(local: Self.local("2026-03-08", 3)) }
        #expect(throws: Never.self) { try toronto.instant(local: Self.local("2026-11-01", 2)) }
    }

    @Test("a clinic's zone is an IANA region or UTC; abbreviations and unknown names are refused")
    func zoneNames() {
        #expect(ClinicTime(identifier: "America/Toronto") != nil)
        #expect(ClinicTime(identifier: "America/Vancouver") != nil)
        #expect(ClinicTime(identifier: "UTC") != nil)
        for bad in ["", "EST", "GMT-5", "Mars/Olympus", "america/toronto", "Toronto"] {
            #expect(ClinicTime(identifier: bad) == nil, "\(bad)")
        }
        var opened = Stipple_V1_ClinicOpened()
        opened.timeZone = "Mars/Olympus"
        #expect(ValueRules.violations(opened).map(\.field) == ["timeZone"])
        opened.timeZone = "America/Toronto"
        #expect(ValueRules.violations(opened).isEmpty)
        var times = ClinicTimes()
        opened.timeZone = "America/Vancouver"
        times.apply(clinic: "richmond", opened)
        #expect(times["richmond"].zone.identifier == "America/Vancouver")
        #expect(times["toronto"] == .chainDefault, "a clinic without ClinicOpened counts in the chain's zone")
    }

    // MARK: - The rules on local days

    /// The fixture's session moved to local `start`–`end` hours on `day` (Toronto).
    static func session(_ fixture: inout Fixture, _ day: String, from start: (Int, Int), to end: (Int, Int)) throws {
        fixture.session.startedAt = Google_Protobuf_Timestamp(seconds: try ClinicTime.chainDefault.instant(local: local(day, start.0, start.1)))
        fixture.session.endedAt = Google_Protobuf_Timestamp(seconds: try ClinicTime.chainDefault.instant(local: local(day, end.0, end.1)))
    }

    @Test("one procedure a day counts the clinic's days: an evening and the next morning are two days, though one in UTC")
    func oneADayIsLocal() throws {
        var fixture = Fixture()
        // Session 1 on 13 March at 18:30 EDT is 14 March 00:30 UTC ...
        fixture.client.procedures = [ClientState.Procedure(
            number: 1, clinicID: "toronto", startedAt: try toronto.instant(local: Self.local("2026-03-13", 18, 30)))]
        // ... and session 2 on 14 March at 10:00: the same UTC day, another local day.
        try Self.session(&fixture, "2026-03-14", from: (10, 0), to: (13, 0))
        let decision = try SessionRules.decide(fixture.session, context: fixture.context).get()
        #expect(decision.flags == ["spacing-under-7-days"])
        // A second procedure on the evening of 14 March (the next UTC day) is the same local day.
        fixture.client.procedures = [ClientState.Procedure(number: 1, clinicID: "toronto", startedAt: try toronto.instant(local: Self.local("2026-03-14", 9, 0)))]
        try Self.session(&fixture, "2026-03-14", from: (20, 30), to: (23, 30))
        let refusal = try fixture.refusal()
        #expect(refusal.violations.map(\.rule) == [.oneSessionPerDay])
        #expect(refusal.violations.first?.message == "the client already had a procedure on 2026-03-14")
    }

    @Test("a certification that ends on a day still holds that evening, after midnight UTC")
    func certificationToTheEvening() throws {
        var fixture = Fixture()
        fixture.technician.certifications["C-1"] = TechnicianState.Certification(
            level: .certified, issuedOn: Day("2025-01-10")!, expiresOn: Day("2026-03-14")!)
        try Self.session(&fixture, "2026-03-14", from: (20, 0), to: (23, 0))
        #expect(Day(seconds: fixture.session.endedAt.seconds) == Day("2026-03-15")!, "past midnight UTC")
        #expect(throws: Never.self) { try SessionRules.decide(fixture.session, context: fixture.context).get() }
        try Self.session(&fixture, "2026-03-15", from: (9, 0), to: (12, 0))
        #expect(try fixture.refusal().violations.map(\.rule) == [.technicianCertified])
    }

    @Test("a session across the spring-forward change has its real duration for the 2–6 hours rule")
    func durationAcrossTheChange() throws {
        var fixture = Fixture()
        fixture.client.procedures = [Fixture.procedure(1, "2026-02-20")]
        // 00:30 to 02:00 EST, then the clock jumps: 00:30–03:15 on the clock is 1 h 45 min.
        try Self.session(&fixture, "2026-03-08", from: (0, 30), to: (3, 15))
        let refusal = try fixture.refusal()
        #expect(refusal.violations.map(\.field) == ["endedAt"])
        #expect(refusal.violations.first?.message.contains("this one 1.8") == true, "\(refusal.violations)")
    }
}
