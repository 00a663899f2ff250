import ArgumentParser
import EventLog
import Foundation
import StippleService
import SwiftProtobuf
import Treatment

// The clinicians' named commands. Each builds one event from its flags and records it
// through the same decisions as `stipple do` (every rule applies, exit 4 on refusal).

/// Records commands and prints the events, as `stipple do` does: each checked for the
/// token's user (role and clinic) and against the rules inside one transaction.
func record(_ commands: Command..., options: GlobalOptions) async throws {
    printRecorded(try await options.session().record(commands))
}

/// Personal data given as a JSON object, from a file or standard input, so that it shows
/// in neither the process list nor the shell history (flags do).
struct PersonalInput: ParsableArguments {
    @Option(name: .customLong("personal"), help: ArgumentHelp(
        "The personal data as a JSON object (e.g. {\"name\":…,\"phone\":…}), from this file or - for standard input: unlike flags, it shows in neither the process list nor the shell history.",
        valueName: "file"))
    var file: String?

    /// The flags' personal data, or the file's: one or the other.
    func message<M: SwiftProtobuf.Message>(_ flags: M, given: Bool) throws -> M {
        guard let file else { return flags }
        if given { throw ValidationError("Give the personal data with flags or with --personal, not both.") }
        let bytes = try readInput(file)
        do {
            _ = try JSONValue.parse(bytes)  // duplicate keys and bad UTF-8 named as such
            return try M(jsonUTF8Bytes: bytes)
        } catch let error as JSONValue.ParseError {
            throw ValidationError("--personal: \(error.description)")
        } catch {
            throw ValidationError("--personal: the object is not the personal data of this event (\(error))")
        }
    }
}

/// Records one fact that no rule across streams guards, its values checked.
func recordFact(_ message: any SwiftProtobuf.Message, type: String, stream: String, _ options: GlobalOptions) async throws {
    try await record(try Command.record(message, type: type, stream: stream), options: options)
}

/// Where a command's typed times are local: a clinic it names, the clinic of the client or
/// lot it is about, or none (its times must carry their offset).
enum TimeSource {
    case clinic(String)
    case client(String)
    case none
}

/// Records the command `make` builds with the command's clinic's time (times typed
/// without an offset are that clinic's local time).
func record(at source: TimeSource, options: GlobalOptions, _ make: (ClinicTime?) throws -> Command) async throws {
    let session = try await options.session()
    let time: ClinicTime?
    switch source {
    case .clinic(let clinic): time = try await session.clinicTime(clinic)
    case .client(let client): time = try await session.clinicTime(ofClient: client)
    case .none: time = nil
    }
    printRecorded(try await session.record([try make(time)]))
}

/// A lot as a command names it: a number (`--lot`), with its manufacturer where two
/// manufacturers' lots share it (`--manufacturer`), or a lot's id (`PB-1187~perma-blend`).
struct LotOptions: ParsableArguments {
    @Option(help: "Lot number, as printed (or the lot's id, e.g. PB-1187~perma-blend).") var lot: String
    @Option(help: "The lot's manufacturer, where two manufacturers' lots have this number.") var manufacturer: String?
}

/// Records the command `make` builds about a lot, given the lot's id (resolved from what
/// was typed) and the time of `clinic`, else of the clinic that received the lot (or none,
/// with `lotTime` false: a recall is no clinic's).
func record(
    about lot: LotOptions, clinic: String? = nil, lotTime: Bool = true, options: GlobalOptions,
    _ make: (ClinicTime?, String) throws -> Command
) async throws {
    let session = try await options.session()
    let id = try await session.lotID(lot.lot, manufacturer: lot.manufacturer ?? "")
    let time: ClinicTime?
    if let clinic { time = try await session.clinicTime(clinic) } else { time = lotTime ? try await session.clinicTime(ofLot: id) : nil }
    printRecorded(try await session.record([try make(time, id)]))
}

extension Stipple {
    struct Client: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a client's facts: registration, consultation, consent, bookings, sessions, touch-ups, reactions.",
            subcommands: [
                Register.self, Consult.self, Consent.self, Book.self, Reschedule.self, Cancel.self, NoShow.self,
                Session.self, TouchUp.self, Reaction.self, Amend.self, Photo.self, Confidential.self, Erase.self, Export.self,
            ])

        struct Register: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a client at a clinic.")
            @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id (the stream is client-<id>).") var client: String
            @Option(help: "The clinic.") var clinic: String
            @Option(help: "The client's name (personal data; or give it with --personal).") var name: String?
            @Option(help: "Phone (personal data).") var phone: String?
            @Option(help: "Email (personal data).") var email: String?
            @Option(name: .customLong("birth"), help: ArgumentHelp("Date of birth, e.g. 1984-06-30 (personal data).", valueName: "day")) var dateOfBirth: String?
            @Option(help: "Postal address (personal data).") var address: String?
            @Option(help: "How the client heard of the clinic (instagram, friend, barber …; not personal data).") var referral: String?
            @OptionGroup var personal: PersonalInput
            @Option(help: "When, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String

            func validate() throws {
                if name == nil && personal.file == nil { throw ValidationError("Give the client's name with --name, or their personal data with --personal.") }
            }

            func run() async throws {
                try await reportingFailures {
                    try await record(at: .clinic(clinic), options: options) { time in
                        var registered = Stipple_V1_ClientRegistered()
                        registered.clientID = client
                        registered.clinicID = clinic
                        registered.registeredAt = try TypedInput.instant(at, "--at", in: time)
                        var flags = Stipple_V1_ClientPersonal()
                        flags.name = name ?? ""
                        flags.phone = phone ?? ""
                        flags.email = email ?? ""
                        flags.dateOfBirth = try dateOfBirth.map { try TypedInput.day($0, "--birth").description } ?? ""
                        flags.address = address ?? ""
                        registered.referral = referral ?? ""
                        registered.personal = try personal.message(
                            flags, given: name != nil || phone != nil || email != nil || dateOfBirth != nil || address != nil)
                        return try Command.record(registered, type: "ClientRegistered", stream: Streams.client(client))
                    }
                }
            }
        }

        struct Consent: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a signed consent form.")
            @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
            @Option(help: ArgumentHelp("The consent form signed (its id, e.g. smp-consent; `stipple form list` shows them).", valueName: "form")) var form: String
            @Option(help: "The form's version signed (default: the version in force, published last).") var version: String?
            @Option(help: "The SHA-256 of the text the client read, if the signing screen shows it: a consent on another text is refused.") var sha256: String?
            @Option(help: "When it was signed, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String
            @Flag(inversion: .prefixedNo, help: "The consent covers the procedure (--no-procedure: a consent to photos or marketing only).") var procedure = true
            @Flag(help: "The consent covers photos.") var photos = false
            @Flag(help: "The consent covers marketing (photos shown outside the clinic, testimonials).") var marketing = false
            @Option(help: "The staff member who witnessed the signature.") var witness: String?
            @Option(help: "The clinic where it was signed.") var clinic: String?

            func run() async throws {
                try await reportingFailures {
                    try await record(at: .client(client), options: options) { time in
                        var consent = Stipple_V1_ConsentSigned()
                        consent.formID = form
                        consent.formVersion = version ?? ""
                        consent.formSha256 = sha256 ?? ""
                        consent.signedAt = try TypedInput.instant(at, "--at", in: time)
                        consent.coversProcedure = procedure
                        consent.coversPhotos = photos
                        consent.coversMarketing = marketing
                        consent.witnessID = witness ?? ""
                        consent.clinicID = clinic ?? ""
                        return try Command.record(consent, type: "ConsentSigned", stream: Streams.client(client))
                    }
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
        @Option(help: "The client's id.") var client: String
            @Option(help: "Number of the session in the course (1, 2, 3 …).") var number: Int32
            @Option(help: "The clinic.") var clinic: String
            @Option(help: "The technician's id.") var technician: String
            @Option(help: "The supervisor's id (for a trainee).") var supervisor: String?
            @Option(help: "Start, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var start: String
            @Option(help: "End, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var end: String
            @Option(help: "A scalp area (repeat): hairline, temples, crown, density-fill, scar, full-scalp.") var area: [String] = []
            @Option(help: "A pigment lot used, LOT or LOT:DILUTION (repeat).") var pigment: [String] = []
            @Option(help: "A needle cartridge used, LOT:1RL|3RL:DIAMETER (repeat).") var cartridge: [String] = []
            @Option(help: "Needle depth in mm (0.3–2.0).") var depth: Double
            @Option(help: "Machine used.") var machine: String?
            @Option(help: "Version of the aftercare sheet given.") var aftercare: String?
            @Option(help: "The booking this session fills (its id, e.g. B-3).") var booking: String?

            func run() async throws {
                try await reportingFailures {
                    try await record(at: .clinic(clinic), options: options) { time in
                        var session = Stipple_V1_SessionRecordedV2()
                        session.sessionNumber = number
                        session.clinicID = clinic
                        session.technicianID = technician
                        session.supervisorID = supervisor ?? ""
                        session.startedAt = try TypedInput.instant(start, "--start", in: time)
                        session.endedAt = try TypedInput.instant(end, "--end", in: time)
                        session.areas = try area.map { try TypedInput.areas.value($0, "--area") }
                        session.pigments = try pigment.map(TypedInput.pigment)
                        session.cartridges = try cartridge.map(TypedInput.cartridge)
                        session.depthMm = depth
                        session.machine = machine ?? ""
                        session.aftercareSheetVersion = aftercare ?? ""
                        session.bookingID = booking ?? ""
                        return Command(.session(client: client, session))
                    }
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
            @Option(help: "Lot number, as printed (no \"~\").") var lot: String
            @Option(help: "pigment or cartridge.") var kind: String
            @Option(help: "Manufacturer (with the number, the lot's identity: the stream is batch-<lot>~<manufacturer>).") var manufacturer: String
            @Option(help: "Expiry day, e.g. 2027-05-31.") var expiry: String
            @Option(help: "The clinic.") var clinic: String
            @Option(help: "Shade (pigments).") var shade: String?
            @Option(help: "The product's name, e.g. \"SMP Pro Pigment\" or \"Kwadron Optima\".") var product: String?
            @Option(help: "Configuration, 1RL or 3RL (cartridges).") var configuration: String?
            @Option(help: "Needle diameter in mm (cartridges).") var diameter: Double?
            @Option(help: "How many units.") var quantity: Int32 = 1
            @Option(help: "When, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String

            func run() async throws {
                try await reportingFailures {
                    try await record(at: .clinic(clinic), options: options) { time in
                        var batch = Stipple_V1_BatchReceived()
                        batch.lot = lot
                        batch.kind = try TypedInput.batchKinds.value(kind, "--kind")
                        batch.manufacturer = manufacturer
                        batch.expiry = try TypedInput.day(expiry, "--expiry").description
                        batch.clinicID = clinic
                        batch.shade = shade ?? ""
                        batch.product = product ?? ""
                        if let configuration {
                            batch.configuration = try TypedInput.needleConfigurations.value(configuration.uppercased(), "--configuration")
                        }
                        batch.diameterMm = diameter ?? 0
                        batch.quantity = quantity
                        batch.receivedAt = try TypedInput.instant(at, "--at", in: time)
                        return try Command.record(batch, type: "BatchReceived", stream: Streams.batch(lot: lot, manufacturer: manufacturer))
                    }
                }
            }
        }

        struct Recall: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a recall of a lot (once).")
            @OptionGroup var options: GlobalOptions
            @OptionGroup var lot: LotOptions
            @Option(help: "Authority, e.g. \"Health Canada\".") var authority: String
            @Option(help: "The notice's reference.") var notice: String
            @Option(help: "Reason given.") var reason: String
            @Option(help: "When, with its offset (this event is no clinic's): e.g. 2026-03-14T10:00-05:00 or 2026-03-14T15:00Z.") var at: String

            func run() async throws {
                try await reportingFailures {
                    try await record(about: lot, lotTime: false, options: options) { time, id in
                        var recall = Stipple_V1_BatchRecalled()
                        recall.authority = authority
                        recall.noticeReference = notice
                        recall.reason = reason
                        recall.recalledAt = try TypedInput.instant(at, "--at", in: time)
                        return Command(.recall(lot: id, recall))
                    }
                }
            }
        }
    }

    struct Tech: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record technicians' certifications and training.",
            subcommands: [Register.self, Assign.self, Certify.self, Renew.self, Suspend.self, Revoke.self, BBP.self, HepatitisB.self])

        struct Certify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a certification granted.")
            @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id (the stream is technician-<id>).") var technician: String
            @Option(help: "The certification's id.") var certification: String
            @Option(help: "trainee, certified, senior or trainer.") var level: String
            @Option(help: "Issued on, e.g. 2026-01-10.") var issued: String
            @Option(help: "Expires on.") var expires: String
            @Option(help: "Issuer.") var issuer: String = "Stipple Academy"
            @Option(help: "The technician (a trainer) who trained them, by id.") var trainer: String?

            func run() async throws {
                try await reportingFailures {
                    var granted = Stipple_V1_CertificationGranted()
                    granted.certificationID = certification
                    granted.level = try TypedInput.certificationLevels.value(level, "--level")
                    granted.issuedOn = try TypedInput.day(issued, "--issued").description
                    granted.expiresOn = try TypedInput.day(expires, "--expires").description
                    granted.issuer = issuer
                    granted.trainerID = trainer ?? ""
                    try await recordFact(granted, type: "CertificationGranted", stream: Streams.technician(technician), options)
                }
            }
        }

        struct Renew: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a certification renewed (not after a revocation).")
            @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id.") var technician: String
            @Option(help: "The certification's id.") var certification: String
            @Option(help: "Renewed on.") var renewed: String
            @Option(help: "New expiry.") var expires: String

            func run() async throws {
                try await reportingFailures {
                    var renewal = Stipple_V1_CertificationRenewed()
                    renewal.certificationID = certification
                    renewal.renewedOn = try TypedInput.day(renewed, "--renewed").description
                    renewal.expiresOn = try TypedInput.day(expires, "--expires").description
                    try await record(Command(.renew(technician: technician, renewal)), options: options)
                }
            }
        }

        struct BBP: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "bbp", abstract: "Record bloodborne-pathogens training completed (valid 12 months).")
            @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id.") var technician: String
            @Option(help: "Completed on.") var completed: String
            @Option(help: "Provider.") var provider: String = ""

            func run() async throws {
                try await reportingFailures {
                    var training = Stipple_V1_BloodbornePathogensTrainingRecorded()
                    training.completedOn = try TypedInput.day(completed, "--completed").description
                    training.provider = provider
                    try await recordFact(training, type: "BloodbornePathogensTrainingRecorded", stream: Streams.technician(technician), options)
                }
            }
        }

        struct HepatitisB: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "hepatitis-b", abstract: "Put a technician's hepatitis B status on file (the newest counts).",
                discussion: """
                    The audit reports every procedure by a technician with no status on file on its day. \
                    Only the status and its day are recorded; keep the document itself in the clinic's files.
                    """)
            @OptionGroup var options: GlobalOptions
            @Option(help: "The technician's id.") var technician: String
            @Option(help: "recorded (vaccination or immunity documented), declined (in writing) or exempt (medical exemption).") var status: String
            @Option(help: "On file from, e.g. 2026-01-10.") var on: String

            func run() async throws {
                try await reportingFailures {
                    var hepatitisB = Stipple_V1_HepatitisBStatusRecorded()
                    hepatitisB.status = try TypedInput.hepatitisBStatuses.value(status, "--status")
                    hepatitisB.onFileFrom = try TypedInput.day(on, "--on").description
                    try await recordFact(hepatitisB, type: "HepatitisBStatusRecorded", stream: Streams.technician(technician), options)
                }
            }
        }
    }
}
