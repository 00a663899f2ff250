import EventLog
import Foundation
import Recording

/// Workload W1: each client stream gets 7 events of 250–400 bytes of canonical JSON —
/// registered, consultation, consent, 3 sessions, 1 touch-up — with realistic field
/// values (DOMAIN.md). Deterministic for a seed.
struct W1 {
    static let clinics = ["mississauga", "toronto", "richmond-hill", "brampton"]
    static let hairLoss = ["ANDROGENETIC", "ALOPECIA_AREATA", "DIFFUSE_THINNING", "SCAR", "POST_TRANSPLANT", "ALOPECIA_TOTALIS"]
    static let norwood = ["II", "III", "3V", "IV", "5A", "V", "VI", "VII"]
    /// Every event of W1 is valid JSON for its type's newest schema (protobuf's JSON mapping).
    static let areas = ["HAIRLINE", "TEMPLES", "CROWN", "DENSITY_FILL", "SCAR"]
    static let pigments = [("Perma Blend", "SMP Black"), ("Perma Blend", "SMP Dark Grey"), ("Scalp Aesthetics", "Charcoal"), ("Micro Ink", "Scalp Shade 3")]
    static let cartridges = [("Kwadron", "1RL", 0.20), ("Kwadron", "3RL", 0.25), ("Cheyenne", "1RL", 0.25), ("Emalla", "3RL", 0.30)]
    static let machines = ["FK Irons Spektra Flux", "Cheyenne Sol Nova", "Bishop Wand"]
    static let firstNames = ["Daniel", "Marcus", "Priya", "Owen", "Ahmed", "Lucas", "Sofia", "Wei", "Jordan", "Tomas"]
    static let lastNames = ["Reyes", "Campbell", "Singh", "Okafor", "Nguyen", "Kowalski", "Haddad", "Martin", "Brown", "Fraser"]

    var random: SplitMix64
    /// Ids are UUID v7 made in append order, as Stipple makes them: one millisecond apart.
    var clockMillis: UInt64 = 1_767_225_600_000

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// The 7 events of client `index`, ids time-ordered.
    mutating func client(_ index: Int) -> [NewEvent] {
        let stream = "client-" + pad(index, 7)
        let clinic = pick(Self.clinics)
        let registrar = "reception-" + pad(random.int(1...12), 2)
        let technician = pad(random.int(1...24), 3)
        let day0 = 19_700 + random.int(0...700)
        func date(_ day: Int) -> String { Self.isoDate(day) }
        func at(_ day: Int, _ hour: Int) -> String { Self.isoDate(day) + "T" + pad(hour, 2) + ":00:00Z" }
        var events: [NewEvent] = []
        func add(_ type: String, _ data: [String: JSONValue], actor: String) {
            clockMillis += 1
            events.append(NewEvent(
                id: UUID.v7(milliseconds: clockMillis, using: &random), stream: stream, type: type,
                expectedVersion: .exactly(Int64(events.count)), metadata: EventMetadata(actor: actor, clinic: clinic),
                payload: JSONValue.object(data).canonicalBytes))
        }
        let first = pick(Self.firstNames), last = pick(Self.lastNames)
        let clientID = pad(index, 7)
        add("ClientRegistered", [
            "clientId": .string(clientID), "clinicId": .string(clinic),
            "personal": .object([
                "name": .string("\(first) \(last)"), "dateOfBirth": .string(date(day0 - 365 * random.int(24...62))),
                "phone": .string("+1-416-555-" + pad(random.int(0...9999), 4)),
                "email": .string("\(first.lowercased()).\(last.lowercased())\(random.int(1...99))@example.com"),
            ]),
            "referral": .string(pick(["instagram", "google", "friend", "barber", "youtube"])),
            "registeredAt": .string(at(day0, 10)),
        ], actor: registrar)
        let sessions = random.int(3...4)
        add("ConsultationRecorded", [
            "clinicId": .string(clinic), "consultedAt": .string(at(day0, 11)), "consultantId": .string(technician),
            "hairLossType": .string("HAIR_LOSS_TYPE_" + pick(Self.hairLoss)), "norwoodStage": .string(pick(Self.norwood)),
            "fitzpatrickType": .int(Int64(random.int(1...6))),
            "areas": .array([.string("SCALP_AREA_HAIRLINE"), .string("SCALP_AREA_" + pick(Self.areas))]),
            "hairlineDesign": .string(pick(["soft-natural", "defined-edge", "receded-mature"])),
            "estimatedSessions": .int(Int64(sessions)),
            "quotedPriceCents": .int(Int64(random.int(18...45)) * 10_000), "currency": .string("CAD"),
            "personal": .object(["photoRefs": .array([.string("photo-\(random.next() % 1_000_000)")])]),
        ], actor: technician)
        add("ConsentSigned", [
            "formVersion": .string("smp-consent-v" + String(random.int(3...5))), "signedAt": .string(at(day0 + 2, 9)),
            "coversProcedure": .bool(true), "coversPhotos": .bool(random.int(0...9) > 1),
            "witnessId": .string(registrar), "clinicId": .string(clinic),
        ], actor: registrar)
        var day = day0 + random.int(5...14)
        for number in 1...3 {
            var session = procedure(clinic: clinic, technician: technician, day: day)
            session["sessionNumber"] = .int(Int64(number))
            add("SessionRecorded", session, actor: technician)
            day += random.int(10...21)
        }
        var touchUp = procedure(clinic: clinic, technician: technician, day: day + 365 * random.int(1...4))
        touchUp["reason"] = .string("TOUCH_UP_REASON_" + pick(["FADING", "COLOUR_CHANGE", "GUARANTEE", "SCAR"]))
        add("TouchUpRecorded", touchUp, actor: technician)
        return events
    }

    private mutating func procedure(clinic: String, technician: String, day: Int) -> [String: JSONValue] {
        let pigment = pick(Self.pigments)
        let cartridge = pick(Self.cartridges)
        let start = random.int(9...13)
        return [
            "clinicId": .string(clinic), "technicianId": .string(technician),
            "startedAt": .string(Self.isoDate(day) + "T" + pad(start, 2) + ":00:00Z"),
            "endedAt": .string(Self.isoDate(day) + "T" + pad(start + random.int(2...4), 2) + ":30:00Z"),
            "areas": .array([.string("SCALP_AREA_" + pick(Self.areas))]),
            "pigments": .array([.object([
                "brand": .string(pigment.0), "shade": .string(pigment.1),
                "lot": .string("PB-\(random.int(23...26))-" + pad(random.int(1...400), 4)),
                "expiry": .string(Self.isoDate(day + random.int(200...700))), "dilutionPercent": .int(Int64(random.int(1...6)) * 10),
            ])]),
            "cartridges": .array([.object([
                "manufacturer": .string(cartridge.0), "configuration": .string("NEEDLE_CONFIGURATION_" + cartridge.1),
                "diameterMm": .double(cartridge.2), "lot": .string("NC-" + pad(random.int(1...9999), 4)),
                "expiry": .string(Self.isoDate(day + random.int(300...900))),
            ])]),
            "depthMm": .double(Double(random.int(6...12)) / 10), "aftercareSheetVersion": .string("v4"),
        ]
    }

    private mutating func pick<T>(_ values: [T]) -> T { values[random.int(0...(values.count - 1))] }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// Days since 1970-01-01 as `YYYY-MM-DD`.
    static func isoDate(_ days: Int) -> String {
        var seconds = time_t(days * 86_400)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday)
    }
}
