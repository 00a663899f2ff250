import Foundation
import Reports
import StippleService
import StippleTesting
import Testing
import Treatment

/// Clinic time through the application layer: typed local times, and reports on the
/// clinic's days (a Sunday-evening session in Toronto is on Monday in UTC).
@Suite("Clinic time in recording and reports")
struct ClinicTimeServiceTests {
    /// Session 1 of client 42 on Sunday 15 March 2026, 21:00–24:00 EDT (Monday 01:00–04:00 UTC).
    static let sundayEvening = #"{"command":"session","client":"42","data":{"sessionNumber":1,"clinicId":"toronto","technicianId":"17","startedAt":"2026-03-16T01:00:00Z","endedAt":"2026-03-16T04:00:00Z","areas":["SCALP_AREA_HAIRLINE"],"pigments":[{"lot":"PB-1187","dilutionPercent":30}],"cartridges":[{"lot":"NC-0412","configuration":"NEEDLE_CONFIGURATION_3RL","diameterMm":0.25}],"depthMm":0.9}}"#

    @Test("the workload, the records and the history put a Sunday-evening session on its local Sunday and ISO week")
    func reportsOnLocalDays() async throws {
        let chain = try await TestChain.make()
        try await chain.record(Self.sundayEvening)
        let admin = try await chain.session(.admin)
        let workload = try await admin.report(.workload(from: Day("2026-03-09")!, to: Day("2026-03-22")!, clinic: "toronto")).sections[0]
        let week = workload.rows.indices.first { workload.value("technician", row: $0)?.description == "17" && workload.value("sessions", row: $0)?.description == "1" }
        let row = try #require(week, "\(workload.rows)")
        #expect(workload.value("week", row: row)?.description == "2026-W11", "the week of Sunday 15 March, not of Monday 16")
        let sunday = try await admin.report(.records(from: Day("2026-03-15")!, to: Day("2026-03-15")!)).sections[0]
        #expect(sunday.column("date").map(\.description) == ["2026-03-15"])
        let monday = try await admin.report(.records(from: Day("2026-03-16")!, to: Day("2026-03-16")!)).sections[0]
        #expect(monday.rows.isEmpty)
        let history = try await admin.history(client: "42").sections[0]
        let session = try #require(history.column("event").firstIndex { $0.description == "SessionRecorded" })
        #expect(history.value("date", row: session)?.description == "2026-03-15")
        #expect(history.value("details", row: session)?.description.contains("21:00, 3.0 h") == true)
        #expect(history.notes.contains("dates and times are local to each clinic (America/Toronto for this client's)"))
    }

    @Test("one procedure a day: the next morning in Toronto is another day, though the same day in UTC")
    func nextMorning() async throws {
        let chain = try await TestChain.make()
        try await chain.record(Self.sundayEvening)
        // Monday 16 March 10:00 EDT is 14:00 UTC, the UTC day of Sunday's session.
        let monday = Self.sundayEvening.replacingOccurrences(of: #""sessionNumber":1"#, with: #""sessionNumber":2"#)
            .replacingOccurrences(of: "2026-03-16T01:00:00Z", with: "2026-03-16T14:00:00Z").replacingOccurrences(of: "2026-03-16T04:00:00Z", with: "2026-03-16T17:00:00Z")
        let recorded = try await chain.record(monday)
        #expect(recorded.events.count == 1)
    }

    @Test("typed times are the clinic's local time unless they carry an offset; skipped and doubled times are refused")
    func typedTimes() throws {
        let toronto = ClinicTime.chainDefault
        #expect(try TypedInput.instant("2026-03-02T10:00", "--start", in: toronto).seconds == 1_772_463_600, "15:00 UTC")
        #expect(try TypedInput.instant("2026-03-02 10:00", "--start", in: toronto).seconds == 1_772_463_600)
        #expect(try TypedInput.instant("2026-03-02T15:00Z", "--start", in: toronto).seconds == 1_772_463_600)
        #expect(try TypedInput.instant("2026-03-02T07:00-08:00", "--start", in: toronto).seconds == 1_772_463_600)
        #expect(try TypedInput.instant("2026-03-02T20:30+05:30", "--start", in: nil).seconds == 1_772_463_600)
        for (text, time, message) in [
            ("2026-03-08T02:30", Optional(toronto), "--start: 2026-03-08 02:30 does not exist in America/Toronto"),
            ("2026-11-01T01:30", toronto, "--start: 2026-11-01 01:30 happens twice in America/Toronto (daylight saving time ends): add its offset, 2026-11-01T01:30-04:00 or …-05:00"),
            ("2026-03-02T10:00", nil, "--start must be a time with its offset, such as 2026-03-14T10:00-05:00 or 2026-03-14T15:00Z"),
            ("2026-03-02T10:00+25:00", toronto, "--start must be a time such as 2026-03-14T10:00 (America/Toronto time)"),
            ("2 March", toronto, "--start must be a time such as 2026-03-14T10:00 (America/Toronto time) or 2026-03-14T15:00Z, not \"2 March\"."),
        ] {
            do {
                _ = try TypedInput.instant(text, "--start", in: time)
                Issue.record("\(text) was read")
            } catch {
                #expect(error.kind == .badInput)
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
        #expect(try TypedInput.instant("2026-11-01T01:30-05:00", "--start", in: toronto).seconds == 1_793_514_600, "the second 01:30")
    }

    @Test("a clinic's time comes from its ClinicOpened; a client's and a lot's from their clinic, for those who may see them")
    func whoseTime() async throws {
        let chain = try await TestChain.make()
        try await chain.record(#"{"command":"record","stream":"clinic-richmond-hill","type":"ClinicOpened","data":{"name":"Stipple Richmond Hill","openedOn":"2026-02-01","timeZone":"America/Vancouver"}}"#)
        let admin = try await chain.session(.admin)
        #expect(try await admin.clinicTime("richmond-hill").zone.identifier == "America/Vancouver")
        #expect(try await admin.clinicTime("nowhere") == .chainDefault)
        try await chain.record("""
            {"command":"record","stream":"client-45","type":"ClientRegistered","data":{"clientId":"45","clinicId":"richmond-hill","personal":{"name":"D. Client"}}}
            {"command":"record","stream":"batch-RH-1","type":"BatchReceived","data":{"lot":"RH-1","kind":"BATCH_KIND_PIGMENT","expiry":"2027-05-31","clinicId":"richmond-hill"}}
            """)
        #expect(try await admin.clinicTime(ofClient: "45").zone.identifier == "America/Vancouver")
        #expect(try await admin.clinicTime(ofClient: "42") == .chainDefault)
        #expect(try await admin.clinicTime(ofLot: "RH-1").zone.identifier == "America/Vancouver")
        // A Toronto clinician learns nothing of another clinic's lot: the chain's zone.
        #expect(try await chain.session(.clinician).clinicTime(ofLot: "RH-1") == .chainDefault)
        let refused = await #expect(throws: ServiceError.self) {
            try await chain.record(#"{"command":"record","stream":"clinic-mars","type":"ClinicOpened","data":{"name":"Mars","openedOn":"2026-02-01","timeZone":"Mars/Olympus"}}"#)
        }
        #expect(refused?.message.contains(#"timeZone: must be an IANA time zone such as America/Toronto or America/Vancouver, not "Mars/Olympus""#) == true, "\(refused?.message ?? "")")
    }
}
