import EventLog
import Foundation
import SwiftProtobuf
import Treatment

/// A realistic clinic chain, built through the commands so that every rule applies:
/// four clinics, twenty technicians (three trainees with supervisors, one whose
/// certification lapses after a year), pigment and cartridge lots every quarter (one
/// recalled part-way), and clients over several years with 3–4-session courses,
/// bookings, cancellations, no-shows, touch-ups, amendments and a few confidential
/// clients. Deterministic for a seed.
public struct DemoChain {
    public struct Options: Sendable {
        public var clients = 200
        public var seed: UInt64 = 1
        public var years = 3
        /// The first day of the chain's history.
        public var start = Day("2023-01-02")!
        public init() {}
    }

    public static let clinics = ["mississauga", "toronto", "richmond-hill", "brampton"]
    static let technicianCount = 20
    static let trainees: Set<Int> = [18, 19, 20]
    static let lapsing = 5

    let options: Options
    var random: SplitMix64
    var technicians: [Int: TechnicianState] = [:]
    var lots: [String: (kind: Stipple_V1_BatchKind, clinic: String, received: Day, expiry: Day, recalled: Day?)] = [:]
    let staff: EventMetadata

    public init(options: Options) {
        self.options = options
        random = SplitMix64(seed: options.seed)
        staff = EventMetadata(actor: "demo", extra: ["demo": .bool(true)])
    }

    /// The last day of clients' history.
    var end: Day { options.start.adding(days: options.years * 365) }
    /// The chain's set-up (certifications, training, lots) covers the longest history a
    /// demo may have, so that a later run with more years adds clients to the same chain.
    var horizon: Day { options.start.adding(days: Self.maximumYears * 365) }
    public static let maximumYears = 20

    /// Every transaction of the demo, in order: the chain's set-up (left out when
    /// `includeSetUp` is false: the chain exists already), then clients in groups of 25.
    /// Each element is one atomic batch of decisions.
    /// - Parameter includeConsentForm: publish the chain's consent form (left out when the
    ///   log has it already; kept apart from the set-up, for chains set up before forms).
    package mutating func transactions(includeSetUp: Bool = true, includeConsentForm: Bool = true) throws -> [[Recorder.Decision]] {
        let setUp = try setUp()
        var batches: [[Recorder.Decision]] = includeSetUp ? [setUp] : []
        if includeConsentForm { batches.insert([Recorder.plainEvents([try consentFormPublished()])], at: 0) }
        var group: [Recorder.Decision] = []
        for index in 0..<options.clients {
            group += try client(index)
            if (index + 1) % 25 == 0 {
                batches.append(group)
                group = []
            }
        }
        if !group.isEmpty { batches.append(group) }
        return batches
    }

    // MARK: - Set-up

    /// The chain's consent form, published in the set-up; every client signs it.
    package static let consentForm = "smp-consent"
    static let consentFormVersion = "v4"
    static let consentFormText = """
        I agree to scalp micropigmentation: pigment placed in the upper dermis of my scalp with a fine \
        needle, over several sessions. I was told of the risks (redness and swelling for a few days, \
        infection, an allergic reaction to the pigment, fading, a colour that changes with time, results \
        that differ from what I hoped) and of the aftercare. I told the clinic of my health, medicines and \
        allergies. I may withdraw this consent before any session.
        """

    /// The chain's consent form, as published by the demo.
    func consentFormPublished() throws -> NewEvent {
        let start = options.start
        var form = Stipple_V1_ConsentFormPublished()
        form.formID = Self.consentForm
        form.version = Self.consentFormVersion
        form.title = "Consent to scalp micropigmentation"
        form.text = Self.consentFormText
        form.textSha256 = Recorder.textSHA256(Self.consentFormText)
        form.coversProcedure = true
        form.coversPhotos = true
        form.coversMarketing = true
        form.publishedAt = timestamp(start.adding(days: -400), hour: 9)
        return try Recorder.newEvent(form, type: "ConsentFormPublished", stream: Recorder.Streams.form(Self.consentForm), expected: .noStream, metadata: staff)
    }

    mutating func setUp() throws -> [Recorder.Decision] {
        var events: [NewEvent] = []
        let start = options.start
        for clinic in Self.clinics {
            var opened = Stipple_V1_ClinicOpened()
            opened.name = "Stipple " + clinic.capitalized
            opened.openedOn = start.adding(days: -400).description
            opened.timeZone = "America/Toronto"
            events.append(try Recorder.newEvent(opened, type: "ClinicOpened", stream: Recorder.Streams.clinic(clinic), expected: .noStream, metadata: staff))
        }
        for tech in 1...Self.technicianCount {
            let stream = Recorder.Streams.technician(technicianID(tech))
            var messages: [(String, any SwiftProtobuf.Message)] = []
            var registered = Stipple_V1_TechnicianRegistered()
            registered.registeredAt = timestamp(start.adding(days: -60), hour: 9)
            registered.personal.name = "Technician \(tech)"
            messages.append(("TechnicianRegistered", registered))
            var assigned = Stipple_V1_TechnicianAssignedToClinic()
            assigned.clinicID = clinic(of: tech)
            assigned.fromDay = start.adding(days: -60).description
            messages.append(("TechnicianAssignedToClinic", assigned))
            var granted = Stipple_V1_CertificationGranted()
            granted.certificationID = "CERT-\(tech)"
            granted.level = Self.trainees.contains(tech) ? .trainee : (tech <= 2 ? .trainer : (tech <= 6 ? .senior : .certified))
            granted.issuer = "Stipple Academy"
            granted.issuedOn = start.adding(days: -30).description
            granted.expiresOn = (tech == Self.lapsing ? start.adding(days: 365) : horizon.adding(days: 60)).description
            messages.append(("CertificationGranted", granted))
            var hepatitisB = Stipple_V1_HepatitisBStatusRecorded()
            hepatitisB.status = tech % 7 == 3 ? .declined : .recorded
            hepatitisB.onFileFrom = start.adding(days: -30).description
            messages.append(("HepatitisBStatusRecorded", hepatitisB))
            var day = start.adding(days: -20)
            while day <= horizon {
                var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
                training.completedOn = day.description
                training.provider = "Red Cross"
                messages.append(("BloodbornePathogensTrainingRecorded", training))
                day = day.adding(months: 11)
            }
            var state = TechnicianState()
            for (type, message) in messages {
                state.apply(type: type, message: message, id: UUID())
                events.append(try Recorder.newEvent(message, type: type, stream: stream, expected: .any, metadata: staff))
            }
            technicians[tech] = state
        }
        // A pigment and a cartridge lot per clinic and quarter, each good for two years.
        var decisions: [Recorder.Decision] = [Recorder.plainEvents(events)]
        var quarter = 0
        var received = start.adding(days: -10)
        while received <= horizon {
            for clinic in Self.clinics {
                for kind in [Stipple_V1_BatchKind.pigment, .cartridge] {
                    let lot = (kind == .pigment ? "PB-" : "NC-") + "\(clinic.prefix(3).uppercased())-\(quarter)"
                    var batch = Stipple_V1_BatchReceived()
                    batch.lot = lot
                    batch.kind = kind
                    batch.manufacturer = kind == .pigment ? "Perma Blend" : "Kwadron"
                    batch.product = kind == .pigment ? "SMP Pigment" : "Cartridge"
                    batch.shade = kind == .pigment ? "SMP Dark Grey" : ""
                    batch.configuration = kind == .pigment ? .unspecified : .needleConfiguration3Rl
                    batch.diameterMm = kind == .pigment ? 0 : 0.25
                    batch.expiry = received.adding(days: 730).description
                    batch.quantity = 24
                    batch.clinicID = clinic
                    batch.receivedAt = timestamp(received, hour: 8)
                    // By lot id (LotIdentity): number and manufacturer.
                    let id = LotIdentity.id(lot: lot, manufacturer: batch.manufacturer)
                    lots[id] = (kind, clinic, received, received.adding(days: 730), nil)
                    let event = try Recorder.newEvent(batch, type: "BatchReceived", stream: Recorder.Streams.batch(id), expected: .noStream, metadata: staff)
                    decisions.append(Recorder.plain(event))
                }
            }
            quarter += 1
            received = received.adding(months: 3)
        }
        // One pigment lot is recalled 45 days into its second quarter.
        let recalledLot = LotIdentity.id(lot: "PB-TOR-1", manufacturer: "Perma Blend")
        if let lot = lots[recalledLot] {
            let day = lot.received.adding(days: 45)
            var recall = Stipple_V1_BatchRecalled()
            recall.authority = "Health Canada"
            recall.noticeReference = "RA-\(day.description.prefix(4))-0042"
            recall.reason = "microbial contamination found in the lot"
            recall.recalledAt = timestamp(day, hour: 9)
            lots[recalledLot]?.recalled = day
            decisions.append(Recorder.recall(lot: recalledLot, recall, metadata: staff))
        }
        return decisions
    }

    // MARK: - Clients

    /// The id of the demo's client `index` (from 0) for `seed`: `D<seed>-<index + 1>`.
    package static func clientID(seed: UInt64, index: Int) -> String { "D\(seed)-\(index + 1)" }

    mutating func client(_ index: Int) throws -> [Recorder.Decision] {
        let clientID = Self.clientID(seed: options.seed, index: index)
        let stream = Recorder.Streams.client(clientID)
        let clinic = Self.clinics[random.int(0...3)]
        let metadata = EventMetadata(actor: "reception", clinic: clinic, extra: ["demo": .bool(true)])
        var decisions: [Recorder.Decision] = []
        var plain: [NewEvent] = []
        let first = options.start.adding(days: random.int(0...max(1, options.years * 365 - 120)))

        var registered = Stipple_V1_ClientRegistered()
        registered.clientID = clientID
        registered.clinicID = clinic
        registered.registeredAt = timestamp(first, hour: 10)
        registered.referral = ["instagram", "google", "friend", "barber"][random.int(0...3)]
        registered.personal.name = "Demo Client \(index + 1)"
        registered.personal.phone = "+1-416-555-\(1000 + random.int(0...8999))"
        plain.append(try Recorder.newEvent(registered, type: "ClientRegistered", stream: stream, expected: .noStream, metadata: metadata))

        let sessions = random.int(3...4)
        var consultation = Stipple_V1_ConsultationRecorded()
        consultation.clinicID = clinic
        consultation.consultantID = technicianID(technicians(of: clinic).first ?? 7)
        consultation.consultedAt = timestamp(first, hour: 11)
        consultation.hairLossType = .androgenetic
        consultation.norwoodStage = ["III", "IV", "5A", "VI"][random.int(0...3)]
        consultation.fitzpatrickType = Int32(random.int(1...6))
        consultation.areas = [.hairline, .crown]
        consultation.estimatedSessions = Int32(sessions)
        consultation.quotedPriceCents = Int64(random.int(20...40)) * 10_000
        consultation.currency = "CAD"
        plain.append(try Recorder.newEvent(consultation, type: "ConsultationRecorded", stream: stream, expected: .any, metadata: metadata))

        // Signed on the chain's form in force, through its rules (its version and hash pinned
        // from what is published, whichever run published it).
        var consent = Stipple_V1_ConsentSigned()
        consent.formID = Self.consentForm
        consent.signedAt = timestamp(first.adding(days: random.int(0...3)), hour: 9)
        consent.coversProcedure = true
        consent.coversPhotos = random.int(0...9) > 1
        consent.clinicID = clinic
        decisions.append(Recorder.plainEvents(plain))
        plain = []
        decisions.append(try Recorder.checked(try Recorder.newEvent(consent, type: "ConsentSigned", stream: stream, expected: .any, metadata: metadata)))
        if random.int(0...49) == 0 {
            var confidential = Stipple_V1_ClientMarkedConfidential()
            confidential.reason = "public figure"
            plain.append(try Recorder.newEvent(confidential, type: "ClientMarkedConfidential", stream: stream, expected: .any, metadata: metadata))
        }
        decisions.append(Recorder.plainEvents(plain))

        var day = first.adding(days: random.int(7...14))
        var lastSession: Day?
        for number in 1...sessions where day < end {
            // A booking for the day; one in ten is cancelled by the client and one in thirty
            // is a no-show, and the clinic books again a week later.
            var bookings: [NewEvent] = []
            var attempt = 1
            while attempt < 3, random.int(0...9) == 0 || random.int(0...29) == 0 {
                let missed = booking(client: clientID, number: number, attempt: attempt, clinic: clinic, day: day)
                bookings.append(try Recorder.newEvent(missed, type: "SessionBooked", stream: stream, expected: .any, metadata: metadata))
                if random.int(0...2) == 0 {
                    var noShow = Stipple_V1_SessionNoShow()
                    noShow.bookingID = missed.bookingID
                    bookings.append(try Recorder.newEvent(noShow, type: "SessionNoShow", stream: stream, expected: .any, metadata: metadata))
                } else {
                    var cancelled = Stipple_V1_SessionCancelled()
                    cancelled.bookingID = missed.bookingID
                    cancelled.cancelledBy = .client
                    cancelled.reason = "schedule"
                    bookings.append(try Recorder.newEvent(cancelled, type: "SessionCancelled", stream: stream, expected: .any, metadata: metadata))
                }
                day = day.adding(days: 7)
                attempt += 1
            }
            guard day < end, var session = session(number: number, clinic: clinic, day: day) else {
                if !bookings.isEmpty { decisions.append(Recorder.plainEvents(bookings)) }
                break
            }
            var kept = booking(client: clientID, number: number, attempt: attempt, clinic: clinic, day: day)
            kept.technicianID = session.technicianID
            session.bookingID = kept.bookingID
            bookings.append(try Recorder.newEvent(kept, type: "SessionBooked", stream: stream, expected: .any, metadata: metadata))
            decisions.append(Recorder.plainEvents(bookings))
            decisions.append(Recorder.session(client: clientID, session, metadata: metadata))
            lastSession = day
            day = day.adding(days: random.int(10...21))
        }
        if lastSession != nil, random.int(0...19) == 0 {
            var amendment = Stipple_V1_RecordAmended()
            amendment.fields = ["aftercareSheetVersion"]
            amendment.session.aftercareSheetVersion = "v5"
            amendment.reason = "the client received aftercare sheet v5, not v4"
            decisions.append(amendmentOfLastSession(client: clientID, amendment, metadata: metadata))
        }
        if let lastSession, random.int(0...9) < 4 {
            // A third under the 12-month guarantee; the others years later.
            let guarantee = random.int(0...2) == 0
            let touchUpDay = guarantee
                ? lastSession.adding(days: random.int(60...330))
                : lastSession.adding(days: 365 * random.int(1...2) + random.int(0...60))
            if touchUpDay < end, var touchUp = touchUpProcedure(clinic: clinic, day: touchUpDay) {
                touchUp.reason = guarantee ? .guarantee : [.fading, .colourChange][random.int(0...1)]
                touchUp.underGuarantee = guarantee
                decisions.append(Recorder.touchUp(client: clientID, touchUp, metadata: metadata))
            }
        }
        return decisions
    }

    func booking(client: String, number: Int, attempt: Int, clinic: String, day: Day) -> Stipple_V1_SessionBooked {
        var booking = Stipple_V1_SessionBooked()
        booking.bookingID = "\(client)-B\(number)-\(attempt)"
        booking.clinicID = clinic
        booking.technicianID = technicianID(technicians(of: clinic).first ?? 7)
        booking.startsAt = timestamp(day, hour: 10)
        booking.expectedMinutes = 180
        booking.sessionNumber = Int32(number)
        return booking
    }

    /// An amendment of the client's newest session, found inside the transaction.
    func amendmentOfLastSession(client: String, _ amendment: Stipple_V1_RecordAmended, metadata: EventMetadata) -> Recorder.Decision {
        { reader in
            guard let target = try reader.read(stream: Recorder.Streams.client(client)).last(where: { $0.type == "SessionRecorded" }) else {
                return []
            }
            var amendment = amendment
            amendment.correctsEventID = target.id.uuidString
            return try Recorder.amendment(client: client, amendment, metadata: metadata)(reader)
        }
    }

    mutating func session(number: Int, clinic: String, day: Day) -> Stipple_V1_SessionRecordedV2? {
        guard let procedure = procedure(clinic: clinic, day: day) else { return nil }
        var session = Stipple_V1_SessionRecordedV2()
        session.sessionNumber = Int32(number)
        session.clinicID = clinic
        session.technicianID = procedure.technician
        session.supervisorID = procedure.supervisor
        session.startedAt = timestamp(day, hour: 10)
        session.endedAt = timestamp(day, hour: 10 + random.int(2...5))
        session.areas = [.hairline, [.crown, .temples, .densityFill][random.int(0...2)]]
        session.pigments = [procedure.pigment]
        session.cartridges = [procedure.cartridge]
        session.machine = "FK Irons Spektra Flux"
        session.depthMm = Double(random.int(6...12)) / 10
        session.aftercareSheetVersion = "v4"
        return session
    }

    mutating func touchUpProcedure(clinic: String, day: Day) -> Stipple_V1_TouchUpRecorded? {
        guard let procedure = procedure(clinic: clinic, day: day) else { return nil }
        var touchUp = Stipple_V1_TouchUpRecorded()
        touchUp.clinicID = clinic
        touchUp.technicianID = procedure.technician
        touchUp.supervisorID = procedure.supervisor
        touchUp.startedAt = timestamp(day, hour: 14)
        touchUp.endedAt = timestamp(day, hour: 16)
        touchUp.areas = [.hairline]
        touchUp.pigments = [procedure.pigment]
        touchUp.cartridges = [procedure.cartridge]
        touchUp.depthMm = 0.8
        touchUp.aftercareSheetVersion = "v4"
        return touchUp
    }

    /// A technician of the clinic certified that day (a trainee with a certified
    /// supervisor), and lots of the clinic usable that day.
    mutating func procedure(clinic: String, day: Day) -> (technician: String, supervisor: String, pigment: Stipple_V1_PigmentUse, cartridge: Stipple_V1_CartridgeUse)? {
        let staff = technicians(of: clinic)
        let certified = staff.filter { (technicians[$0]?.level(on: day)).map { $0 != .trainee } ?? false }
        let trainees = staff.filter { technicians[$0]?.level(on: day) == .trainee }
        let able = certified + (certified.isEmpty ? [] : trainees)
        guard !able.isEmpty else { return nil }
        let technician = able[random.int(0...(able.count - 1))]
        guard technicians[technician]?.bloodbornePathogensTrainingCurrent(on: day) == true else { return nil }
        let supervisor = trainees.contains(technician) ? certified[random.int(0...(certified.count - 1))] : nil
        func usable(_ kind: Stipple_V1_BatchKind) -> String? {
            lots.filter { $0.value.kind == kind && $0.value.clinic == clinic && $0.value.received <= day && day <= $0.value.expiry
                && ($0.value.recalled.map { day < $0 } ?? true) }
                .max { $0.value.received < $1.value.received }?.key
        }
        guard let pigmentLot = usable(.pigment), let cartridgeLot = usable(.cartridge) else { return nil }
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = LotIdentity.number(of: pigmentLot)
        pigment.batchID = pigmentLot
        pigment.brand = "Perma Blend"
        pigment.shade = "SMP Dark Grey"
        pigment.expiry = lots[pigmentLot]!.expiry.description
        pigment.dilutionPercent = Int32(random.int(2...5) * 10)
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = LotIdentity.number(of: cartridgeLot)
        cartridge.batchID = cartridgeLot
        cartridge.manufacturer = "Kwadron"
        cartridge.configuration = .needleConfiguration3Rl
        cartridge.diameterMm = 0.25
        cartridge.expiry = lots[cartridgeLot]!.expiry.description
        return (technicianID(technician), supervisor.map(technicianID) ?? "", pigment, cartridge)
    }

    func technicians(of clinic: String) -> [Int] {
        (1...Self.technicianCount).filter { self.clinic(of: $0) == clinic }
    }

    func clinic(of technician: Int) -> String { Self.clinics[(technician - 1) % Self.clinics.count] }

    func technicianID(_ technician: Int) -> String { String(format: "T%02d", technician) }

    func timestamp(_ day: Day, hour: Int) -> Google_Protobuf_Timestamp {
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = Int64(day.daysSinceEpoch) * 86_400 + Int64(hour) * 3_600
        return timestamp
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the same seed
/// gives the same numbers on every machine, for the demo chain, the benchmark's workload
/// and tests.
package struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    package mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

extension Recorder {
    /// Events with no rule across streams, as one decision.
    package static func plainEvents(_ events: [NewEvent]) -> Decision {
        { _ in events }
    }
}
