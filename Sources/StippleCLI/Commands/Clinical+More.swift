import ArgumentParser
import Foundation
import StippleService
import SwiftProtobuf
import Treatment

extension Stipple.Client {
    struct TouchUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "touch-up", abstract: "Record a touch-up; the session's rules are checked.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The supervisor's id (for a trainee).") var supervisor: String?
        @Option(help: "Start, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var start: String
        @Option(help: "End, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var end: String
        @Option(help: "A scalp area (repeat).") var area: [String] = []
        @Option(help: "A pigment lot used, LOT or LOT:DILUTION (repeat; LOT is the number, or the lot's id, e.g. PB-1187~perma-blend, where two manufacturers share it).") var pigment: [String] = []
        @Option(help: "A needle cartridge used, LOT:1RL|3RL:DIAMETER (repeat).") var cartridge: [String] = []
        @Option(help: "Needle depth in mm.") var depth: Double
        @Option(help: "fading, colour-change, scar or guarantee.") var reason: String
        @Flag(help: "Done under the clinic's guarantee.") var guarantee = false
        @Option(help: "Machine used.") var machine: String?
        @Option(help: "Version of the aftercare sheet given.") var aftercare: String?
        @Option(help: "The booking this touch-up fills (its id).") var booking: String?

        func run() async throws {
            try await reportingFailures {
                try await record(at: .clinic(clinic), options: options) { time in
                    let why = try TypedInput.touchUpReasons.value(reason, "--reason")
                    var touchUp = Stipple_V1_TouchUpRecorded()
                    touchUp.clinicID = clinic
                    touchUp.technicianID = technician
                    touchUp.supervisorID = supervisor ?? ""
                    touchUp.startedAt = try TypedInput.instant(start, "--start", in: time)
                    touchUp.endedAt = try TypedInput.instant(end, "--end", in: time)
                    touchUp.areas = try area.map { try TypedInput.areas.value($0, "--area") }
                    touchUp.pigments = try pigment.map(TypedInput.pigment)
                    touchUp.cartridges = try cartridge.map(TypedInput.cartridge)
                    touchUp.depthMm = depth
                    touchUp.reason = why
                    touchUp.underGuarantee = guarantee
                    touchUp.machine = machine ?? ""
                    touchUp.aftercareSheetVersion = aftercare ?? ""
                    touchUp.bookingID = booking ?? ""
                    return Command(.touchUp(client: client, touchUp))
                }
            }
        }
    }

    struct Amend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a correction of one of the client's events (nothing is edited in place).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The id of the event corrected.") var event: String
        @Option(help: ArgumentHelp(
            "A field corrected, in the event's JSON name (repeat): technicianId, endedAt, pigments, personal.notes …",
            discussion: "A repeated field (pigments, cartridges, areas) is replaced whole."))
        var field: [String] = []
        @Option(help: ArgumentHelp(
            "The corrected values, as a JSON object in the event's own JSON names, e.g. '{\"technicianId\":\"21\"}'.",
            discussion: "A session's or touch-up's clear fields are stored typed and every report folds them; personal ones "
                + "(personal.notes) and other events' values are sealed with the client's key and shown beside the event."))
        var values: String?
        @Option(help: "Why.") var reason: String
        @Flag(help: "The client disputes the record and it stays as it was (give no values).") var disputed = false

        func run() async throws {
            try await reportingFailures {
                var amendment = Stipple_V1_RecordAmended()
                amendment.correctsEventID = event
                amendment.fields = field
                amendment.reason = reason
                amendment.disputed = disputed
                if let values { amendment.personal.correctedValuesJson = values }
                try await record(Command(.amend(client: client, amendment)), options: options)
            }
        }
    }

    struct Book: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Book a session or a touch-up.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The booking's id.") var booking: String
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "Start, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var start: String
        @Option(help: "Expected length in minutes (60–480).") var minutes: Int32 = 180
        @Option(help: "Number of the session in the course (omit for a touch-up).") var number: Int32?

        func run() async throws {
            try await reportingFailures {
                try await record(at: .clinic(clinic), options: options) { time in
                    var booked = Stipple_V1_SessionBooked()
                    booked.bookingID = booking
                    booked.clinicID = clinic
                    booked.technicianID = technician
                    booked.startsAt = try TypedInput.instant(start, "--start", in: time)
                    booked.expectedMinutes = minutes
                    booked.sessionNumber = number ?? 0
                    booked.touchUp = number == nil
                    return try Command.record(booked, type: "SessionBooked", stream: Streams.client(client))
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a booking.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The booking's id.") var booking: String
        @Option(help: "client or clinic.") var by: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            try await reportingFailures {
                var cancelled = Stipple_V1_SessionCancelled()
                cancelled.bookingID = booking
                cancelled.cancelledBy = try TypedInput.cancelledBy.value(by, "--by")
                cancelled.reason = reason
                try await recordFact(cancelled, type: "SessionCancelled", stream: Streams.client(client), options)
            }
        }
    }
}

extension Stipple {
    struct Clinic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the chain's clinics.", subcommands: [Open.self])

        struct Open: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Record a clinic opened (stream clinic-<id>).")
            @OptionGroup var options: GlobalOptions
        @Option(help: "The clinic's id, e.g. toronto.") var clinic: String
            @Option(help: "Its name.") var name: String
            @Option(help: "Opened on, e.g. 2021-05-01.") var opened: String
            @Option(help: "Its IANA time zone: its days, and the times typed for its events, are local there.") var timeZone: String = "America/Toronto"

            func run() async throws {
                try await reportingFailures {
                    var message = Stipple_V1_ClinicOpened()
                    message.name = name
                    message.openedOn = try TypedInput.day(opened, "--opened").description
                    message.timeZone = timeZone
                    try await recordFact(message, type: "ClinicOpened", stream: Streams.clinic(clinic), options)
                }
            }
        }
    }
}

extension Stipple.Tech {
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a technician joining the chain.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "Name (stored in clear: technicians' names are not sealed).") var name: String
        @Option(help: "When, with its offset (this event is no clinic's): e.g. 2026-03-14T10:00-05:00 or 2026-03-14T15:00Z.") var at: String

        func run() async throws {
            try await reportingFailures {
                try await record(at: .none, options: options) { time in
                    var registered = Stipple_V1_TechnicianRegistered()
                    registered.registeredAt = try TypedInput.instant(at, "--at", in: time)
                    registered.personal.name = name
                    return try Command.record(registered, type: "TechnicianRegistered", stream: Streams.technician(technician))
                }
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a certification suspended from a day on.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The certification's id.") var certification: String
        @Option(help: "From which day.") var from: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                var suspended = Stipple_V1_CertificationSuspended()
                suspended.certificationID = certification
                suspended.suspendedOn = try TypedInput.day(from, "--from").description
                suspended.reason = reason
                try await recordFact(suspended, type: "CertificationSuspended", stream: Streams.technician(technician), options)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a certification revoked for good.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The certification's id.") var certification: String
        @Option(help: "On which day.") var on: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                var revoked = Stipple_V1_CertificationRevoked()
                revoked.certificationID = certification
                revoked.revokedOn = try TypedInput.day(on, "--on").description
                revoked.reason = reason
                try await recordFact(revoked, type: "CertificationRevoked", stream: Streams.technician(technician), options)
            }
        }
    }
}

extension Stipple.Client {
    struct Consult: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a consultation.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "The consulting technician's id.") var consultant: String
        @Option(help: "When, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String
        @Option(help: "Hair-loss type: androgenetic, alopecia-areata, alopecia-totalis, alopecia-universalis, diffuse-thinning, scar, burn, birthmark, post-transplant.")
        var hairLoss: String
        @Option(help: "Norwood stage (men): I … VII, 3V, 5A …") var norwood: String?
        @Option(help: "Ludwig stage (women): I, II, III.") var ludwig: String?
        @Option(help: "Fitzpatrick skin type, 1–6.") var fitzpatrick: Int32
        @Option(help: "A scalp area planned (repeat).") var area: [String] = []
        @Option(help: "A contraindication (repeat).") var contraindication: [String] = []
        @Option(help: "Estimated sessions, 1–7.") var sessions: Int32
        @Option(help: "Quoted price in cents.") var priceCents: Int64 = 0
        @Option(help: "Currency.") var currency: String = "CAD"
        @Option(help: "Hairline design.") var hairline: String = ""
        @Option(help: "Notes (personal data; or give them with --personal).") var notes: String?
        @OptionGroup var personal: PersonalInput

        func validate() throws {
            if (norwood == nil) == (ludwig == nil) { throw ValidationError("Give either --norwood (men) or --ludwig (women).") }
        }

        func run() async throws {
            try await reportingFailures {
                try await record(at: .clinic(clinic), options: options) { time in
                    let type = try TypedInput.hairLossTypes.value(hairLoss, "--hair-loss")
                    var consultation = Stipple_V1_ConsultationRecorded()
                    consultation.clinicID = clinic
                    consultation.consultantID = consultant
                    consultation.consultedAt = try TypedInput.instant(at, "--at", in: time)
                    consultation.hairLossType = type
                    if let norwood { consultation.norwoodStage = norwood }
                    if let ludwig { consultation.ludwigStage = ludwig }
                    consultation.fitzpatrickType = fitzpatrick
                    consultation.areas = try area.map { try TypedInput.areas.value($0, "--area") }
                    consultation.contraindications = contraindication
                    consultation.estimatedSessions = sessions
                    consultation.quotedPriceCents = priceCents
                    consultation.currency = currency
                    consultation.hairlineDesign = hairline
                    var flags = Stipple_V1_ConsultationPersonal()
                    flags.notes = notes ?? ""
                    consultation.personal = try personal.message(flags, given: notes != nil)
                    return try Command.record(consultation, type: "ConsultationRecorded", stream: Streams.client(client))
                }
            }
        }
    }

    struct Reschedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a booking to another time.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The booking's id.") var booking: String
        @Option(help: "New start, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var start: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            try await reportingFailures {
                try await record(at: .client(client), options: options) { time in
                    var moved = Stipple_V1_SessionRescheduled()
                    moved.bookingID = booking
                    moved.startsAt = try TypedInput.instant(start, "--start", in: time)
                    moved.reason = reason
                    return try Command.record(moved, type: "SessionRescheduled", stream: Streams.client(client))
                }
            }
        }
    }

    struct NoShow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "no-show", abstract: "Record that the client did not come to a booking.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The booking's id.") var booking: String

        func run() async throws {
            try await reportingFailures {
                var noShow = Stipple_V1_SessionNoShow()
                noShow.bookingID = booking
                try await recordFact(noShow, type: "SessionNoShow", stream: Streams.client(client), options)
            }
        }
    }

    struct Reaction: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record an adverse reaction the client reported.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "When reported, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String
        @Option(help: "mild, moderate or severe.") var severity: String
        @Option(help: "A lot suspected (repeat).") var lot: [String] = []
        @Option(help: "The procedure's event id, if known.") var procedure: String = ""
        @Option(help: "What was done.") var actions: String = ""
        @Option(help: "What the client describes (personal data; or give it with --personal).") var description: String?
        @OptionGroup var personal: PersonalInput

        func run() async throws {
            try await reportingFailures {
                try await record(at: .client(client), options: options) { time in
                    let severity = try TypedInput.severities.value(severity, "--severity")
                    var reaction = Stipple_V1_AdverseReactionReported()
                    reaction.reportedAt = try TypedInput.instant(at, "--at", in: time)
                    reaction.severity = severity
                    reaction.lots = lot
                    reaction.procedureEventID = procedure
                    reaction.actionsTaken = actions
                    var flags = Stipple_V1_ReactionPersonal()
                    flags.description_p = description ?? ""
                    reaction.personal = try personal.message(flags, given: description != nil)
                    return try Command.record(reaction, type: "AdverseReactionReported", stream: Streams.client(client))
                }
            }
        }
    }

    struct Confidential: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a client's record confidential, or lift the mark with --lift.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "Why.") var reason: String
        @Flag(help: "Lift the mark instead.") var lift = false

        func run() async throws {
            try await reportingFailures {
                let stream = Streams.client(client)
                if lift {
                    var lifted = Stipple_V1_ClientConfidentialityLifted()
                    lifted.reason = reason
                    try await recordFact(lifted, type: "ClientConfidentialityLifted", stream: stream, options)
                } else {
                    var marked = Stipple_V1_ClientMarkedConfidential()
                    marked.reason = reason
                    try await recordFact(marked, type: "ClientMarkedConfidential", stream: stream, options)
                }
            }
        }
    }
}

extension Stipple.Batch {
    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a bottle or box of a lot opened.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var lot: LotOptions
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "When, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String

        func run() async throws {
            try await reportingFailures {
                try await record(about: lot, clinic: clinic, options: options) { time, id in
                    var opened = Stipple_V1_BatchOpened()
                    opened.openedAt = try TypedInput.instant(at, "--at", in: time)
                    opened.clinicID = clinic
                    return try Command.record(opened, type: "BatchOpened", stream: Streams.batch(id))
                }
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a lot thrown away (no procedure may use it after).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var lot: LotOptions
        @Option(help: "When, e.g. 2026-03-14T10:00: the clinic's local time (add Z or an offset such as -05:00 for another).") var at: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                try await record(about: lot, options: options) { time, id in
                    var discarded = Stipple_V1_BatchDiscarded()
                    discarded.discardedAt = try TypedInput.instant(at, "--at", in: time)
                    discarded.reason = reason
                    return try Command.record(discarded, type: "BatchDiscarded", stream: Streams.batch(id))
                }
            }
        }
    }
}

extension Stipple.Tech {
    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a technician to a clinic from a day on.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "From which day.") var from: String

        func run() async throws {
            try await reportingFailures {
                var assigned = Stipple_V1_TechnicianAssignedToClinic()
                assigned.clinicID = clinic
                assigned.fromDay = try TypedInput.day(from, "--from").description
                try await recordFact(assigned, type: "TechnicianAssignedToClinic", stream: Streams.technician(technician), options)
            }
        }
    }
}
