import ArgumentParser
import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

// The clinicians' named commands. Each builds one event from its flags and records it
// through the same decisions as `stipple do` (every rule applies, exit 4 on refusal).

/// Options every clinical command takes besides the log's (none today: who records an
/// event is the token's user, never a flag).
struct ClinicalOptions: ParsableArguments {
    /// The metadata the decisions start from; ``authorized(_:principal:)`` sets the actor.
    var metadata: EventMetadata { EventMetadata() }
}

/// Records decisions and prints the events, as `stipple do` does: each event is allowed
/// for the token's user (role and clinic) inside the transaction, and carries them as actor.
func record(_ decisions: [Recorder.Decision], options: GlobalOptions, target: String? = nil) async throws {
    let (log, principal) = try await options.open(for: .perEvent)
    EventJSON.printAppended(try await log.transact(try await recorded(decisions, principal: principal, options: options, log: log, target: target)))
    await catchUpAfterAppend(log)
}

/// Parsing of the values people type.
enum Typed {
    /// `2026-03-14T10:00`, `2026-03-14T10:00:00`, either with a final `Z`, or with a space
    /// for the `T`; always UTC.
    static func instant(_ text: String, _ flag: String) throws -> Google_Protobuf_Timestamp {
        var normalized = text.replacingOccurrences(of: " ", with: "T")
        if normalized.hasSuffix("Z") { normalized.removeLast() }
        let parts = normalized.split(separator: "T", omittingEmptySubsequences: false)
        let time = parts.count == 2 ? parts[1].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) } : []
        guard parts.count == 2, let day = Day(String(parts[0])), (2...3).contains(time.count),
              time.allSatisfy({ $0 != nil }), parts[1].allSatisfy({ $0.isNumber || $0 == ":" }),
              let hour = time[0], let minute = time[1], (0...23).contains(hour), (0...59).contains(minute),
              time.count == 2 || (0...59).contains(time[2] ?? -1)
        else { throw ValidationError("\(flag) must be a time such as 2026-03-14T10:00 (UTC), not \"\(text)\".") }
        var timestamp = Google_Protobuf_Timestamp()
        timestamp.seconds = Int64(day.daysSinceEpoch) * 86_400 + Int64(hour * 3_600 + minute * 60 + (time.count == 3 ? time[2]! : 0))
        return timestamp
    }

    static func day(_ text: String, _ flag: String) throws -> String {
        guard Day(text) != nil else { throw ValidationError("\(flag) must be a day such as 2026-03-14, not \"\(text)\".") }
        return text
    }

    static let areas: [String: Stipple_V1_ScalpArea] = [
        "hairline": .hairline, "temples": .temples, "crown": .crown, "density-fill": .densityFill, "scar": .scar, "full-scalp": .fullScalp,
    ]

    static func area(_ text: String) throws -> Stipple_V1_ScalpArea {
        guard let area = areas[text] else {
            throw ValidationError("--area must be one of \(areas.keys.sorted().joined(separator: ", ")), not \"\(text)\".")
        }
        return area
    }

    /// `LOT` or `LOT:DILUTION` (percent).
    static func pigment(_ text: String) throws -> Stipple_V1_PigmentUse {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var pigment = Stipple_V1_PigmentUse()
        pigment.lot = String(parts[0])
        pigment.dilutionPercent = 100
        if parts.count == 2, let dilution = Int32(parts[1]), !pigment.lot.isEmpty { pigment.dilutionPercent = dilution } else if parts.count != 1 || pigment.lot.isEmpty {
            throw ValidationError("--pigment must be LOT or LOT:DILUTION (percent), e.g. PB-1187:30, not \"\(text)\".")
        }
        return pigment
    }

    /// `LOT:CONFIGURATION:DIAMETER`, e.g. `NC-0412:3RL:0.25`.
    static func cartridge(_ text: String) throws -> Stipple_V1_CartridgeUse {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let diameter = Double(parts[2]), ["1RL", "3RL"].contains(parts[1].uppercased()) else {
            throw ValidationError("--cartridge must be LOT:1RL|3RL:DIAMETER, e.g. NC-0412:3RL:0.25, not \"\(text)\".")
        }
        var cartridge = Stipple_V1_CartridgeUse()
        cartridge.lot = parts[0]
        cartridge.configuration = parts[1].uppercased() == "1RL" ? .needleConfiguration1Rl : .needleConfiguration3Rl
        cartridge.diameterMm = diameter
        return cartridge
    }
}

extension Stipple {
    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a client's facts: registration, consultation, consent, bookings, sessions, touch-ups, reactions.",
            subcommands: [
                Register.self, Consult.self, Consent.self, Book.self, Reschedule.self, Cancel.self, NoShow.self,
                Session.self, TouchUp.self, Reaction.self, Amend.self, Confidential.self, Erase.self, Export.self,
            ])

        struct Register: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a client at a clinic.")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The client's id (the stream is client-<id>).") var client: String
            @Option(help: "The clinic.") var clinic: String
            @Option(help: "The client's name (personal data).") var name: String
            @Option(help: "Phone (personal data).") var phone: String?
            @Option(help: "Email (personal data).") var email: String?
            @Option(help: "When (UTC), e.g. 2026-03-14T10:00.") var at: String

            func run() async throws {
                try await reportingFailures {
                    var registered = Stipple_V1_ClientRegistered()
                    registered.clientID = client
                    registered.clinicID = clinic
                    registered.registeredAt = try Typed.instant(at, "--at")
                    registered.personal.name = name
                    registered.personal.phone = phone ?? ""
                    registered.personal.email = email ?? ""
                    let event = try Recorder.newEvent(
                        registered, type: "ClientRegistered", stream: Recorder.Streams.client(client), expected: .noStream, metadata: clinical.metadata)
                    try await record([try Recorder.checked(event)], options: options, target: event.stream)
                }
            }
        }

        struct Consent: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a signed consent form.")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The client's id.") var client: String
            @Option(help: "Version of the consent form.") var form: String
            @Option(help: "When it was signed (UTC).") var at: String
            @Flag(help: "The consent covers photos.") var photos = false

            func run() async throws {
                try await reportingFailures {
                    var consent = Stipple_V1_ConsentSigned()
                    consent.formVersion = form
                    consent.signedAt = try Typed.instant(at, "--at")
                    consent.coversProcedure = true
                    consent.coversPhotos = photos
                    let event = try Recorder.newEvent(
                        consent, type: "ConsentSigned", stream: Recorder.Streams.client(client), expected: .any, metadata: clinical.metadata)
                    try await record([try Recorder.checked(event)], options: options, target: event.stream)
                }
            }
        }

        struct Session: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record a session of a client's course; every rule is checked.",
                discussion: """
                    Example:
                      stipple client session --client 42 --number 2 --clinic toronto --technician 17 \\
                        --start 2026-03-14T10:00 --end 2026-03-14T13:00 --area hairline --area crown \\
                        --pigment PB-1187:30 --cartridge NC-0412:3RL:0.25 --depth 0.9
                    Refused (exit 4, every reason listed) without consent, with an uncertified technician, \
                    an expired or recalled lot, a wrong session number, …
                    """)
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The client's id.") var client: String
            @Option(help: "Number of the session in the course (1, 2, 3 …).") var number: Int32
            @Option(help: "The clinic.") var clinic: String
            @Option(help: "The technician's id.") var technician: String
            @Option(help: "The supervisor's id (for a trainee).") var supervisor: String?
            @Option(help: "Start (UTC), e.g. 2026-03-14T10:00.") var start: String
            @Option(help: "End (UTC).") var end: String
            @Option(help: "A scalp area (repeat): hairline, temples, crown, density-fill, scar, full-scalp.") var area: [String] = []
            @Option(help: "A pigment lot used, LOT or LOT:DILUTION (repeat).") var pigment: [String] = []
            @Option(help: "A needle cartridge used, LOT:1RL|3RL:DIAMETER (repeat).") var cartridge: [String] = []
            @Option(help: "Needle depth in mm (0.3–2.0).") var depth: Double
            @Option(help: "Machine used.") var machine: String?
            @Option(help: "Version of the aftercare sheet given.") var aftercare: String?

            func run() async throws {
                try await reportingFailures {
                    var session = Stipple_V1_SessionRecordedV2()
                    session.sessionNumber = number
                    session.clinicID = clinic
                    session.technicianID = technician
                    session.supervisorID = supervisor ?? ""
                    session.startedAt = try Typed.instant(start, "--start")
                    session.endedAt = try Typed.instant(end, "--end")
                    session.areas = try area.map(Typed.area)
                    session.pigments = try pigment.map(Typed.pigment)
                    session.cartridges = try cartridge.map(Typed.cartridge)
                    session.depthMm = depth
                    session.machine = machine ?? ""
                    session.aftercareSheetVersion = aftercare ?? ""
                    try await record([Recorder.session(client: client, session, metadata: clinical.metadata)], options: options, target: Recorder.Streams.client(client))
                }
            }
        }
    }

    struct Batch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record pigment and needle-cartridge lots: received, opened, recalled, discarded.",
            subcommands: [Receive.self, Open.self, Recall.self, Discard.self])

        struct Receive: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a lot received at a clinic.")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "Lot number (the stream is batch-<lot>).") var lot: String
            @Option(help: "pigment or cartridge.") var kind: String
            @Option(help: "Manufacturer.") var manufacturer: String
            @Option(help: "Expiry day, e.g. 2027-05-31.") var expiry: String
            @Option(help: "The clinic.") var clinic: String
            @Option(help: "Shade (pigments).") var shade: String?
            @Option(help: "Configuration, 1RL or 3RL (cartridges).") var configuration: String?
            @Option(help: "Needle diameter in mm (cartridges).") var diameter: Double?
            @Option(help: "How many units.") var quantity: Int32 = 1
            @Option(help: "When (UTC).") var at: String

            func run() async throws {
                try await reportingFailures {
                    var batch = Stipple_V1_BatchReceived()
                    batch.lot = lot
                    switch kind {
                    case "pigment": batch.kind = .pigment
                    case "cartridge": batch.kind = .cartridge
                    default: throw ValidationError("--kind must be pigment or cartridge, not \"\(kind)\".")
                    }
                    batch.manufacturer = manufacturer
                    batch.expiry = try Typed.day(expiry, "--expiry")
                    batch.clinicID = clinic
                    batch.shade = shade ?? ""
                    if let configuration {
                        batch.configuration = configuration.uppercased() == "1RL" ? .needleConfiguration1Rl
                            : configuration.uppercased() == "3RL" ? .needleConfiguration3Rl : .unspecified
                    }
                    batch.diameterMm = diameter ?? 0
                    batch.quantity = quantity
                    batch.receivedAt = try Typed.instant(at, "--at")
                    let event = try Recorder.newEvent(
                        batch, type: "BatchReceived", stream: Recorder.Streams.batch(lot), expected: .noStream, metadata: clinical.metadata)
                    try await record([try Recorder.checked(event)], options: options, target: event.stream)
                }
            }
        }

        struct Recall: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a recall of a lot (once).")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "Lot number.") var lot: String
            @Option(help: "Authority, e.g. \"Health Canada\".") var authority: String
            @Option(help: "The notice's reference.") var notice: String
            @Option(help: "Reason given.") var reason: String
            @Option(help: "When (UTC).") var at: String

            func run() async throws {
                try await reportingFailures {
                    var recall = Stipple_V1_BatchRecalled()
                    recall.authority = authority
                    recall.noticeReference = notice
                    recall.reason = reason
                    recall.recalledAt = try Typed.instant(at, "--at")
                    try await record([Recorder.recall(lot: lot, recall, metadata: clinical.metadata)], options: options, target: Recorder.Streams.batch(lot))
                }
            }
        }
    }

    struct Tech: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record technicians' certifications and training.",
            subcommands: [Register.self, Assign.self, Certify.self, Renew.self, Suspend.self, Revoke.self, BBP.self])

        struct Certify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a certification granted.")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The technician's id (the stream is technician-<id>).") var technician: String
            @Option(help: "The certification's id.") var certification: String
            @Option(help: "trainee, certified, senior or trainer.") var level: String
            @Option(help: "Issued on, e.g. 2026-01-10.") var issued: String
            @Option(help: "Expires on.") var expires: String
            @Option(help: "Issuer.") var issuer: String = "Stipple Academy"

            func run() async throws {
                try await reportingFailures {
                    var granted = Stipple_V1_CertificationGranted()
                    granted.certificationID = certification
                    let levels: [String: Stipple_V1_CertificationLevel] = ["trainee": .trainee, "certified": .certified, "senior": .senior, "trainer": .trainer]
                    guard let chosen = levels[level] else { throw ValidationError("--level must be trainee, certified, senior or trainer.") }
                    granted.level = chosen
                    granted.issuedOn = try Typed.day(issued, "--issued")
                    granted.expiresOn = try Typed.day(expires, "--expires")
                    granted.issuer = issuer
                    let event = try Recorder.newEvent(
                        granted, type: "CertificationGranted", stream: Recorder.Streams.technician(technician), expected: .any, metadata: clinical.metadata)
                    try await record([try Recorder.checked(event)], options: options, target: event.stream)
                }
            }
        }

        struct Renew: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a certification renewed (not after a revocation).")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The technician's id.") var technician: String
            @Option(help: "The certification's id.") var certification: String
            @Option(help: "Renewed on.") var renewed: String
            @Option(help: "New expiry.") var expires: String

            func run() async throws {
                try await reportingFailures {
                    var renewal = Stipple_V1_CertificationRenewed()
                    renewal.certificationID = certification
                    renewal.renewedOn = try Typed.day(renewed, "--renewed")
                    renewal.expiresOn = try Typed.day(expires, "--expires")
                    try await record([Recorder.renewal(technician: technician, renewal, metadata: clinical.metadata)], options: options, target: Recorder.Streams.technician(technician))
                }
            }
        }

        struct BBP: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "bbp", abstract: "Record bloodborne-pathogens training completed (valid 12 months).")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The technician's id.") var technician: String
            @Option(help: "Completed on.") var completed: String
            @Option(help: "Provider.") var provider: String = ""

            func run() async throws {
                try await reportingFailures {
                    var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
                    training.completedOn = try Typed.day(completed, "--completed")
                    training.provider = provider
                    let event = try Recorder.newEvent(
                        training, type: "BloodbornePathogensTrainingRecorded", stream: Recorder.Streams.technician(technician),
                        expected: .any, metadata: clinical.metadata)
                    try await record([try Recorder.checked(event)], options: options, target: event.stream)
                }
            }
        }
    }
}
