import ArgumentParser
import EventLog
import Foundation
import Recording
import SwiftProtobuf
import Treatment

extension Stipple.Client {
    struct TouchUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "touch-up", abstract: "Record a touch-up; the session's rules are checked.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The supervisor's id (for a trainee).") var supervisor: String?
        @Option(help: "Start (UTC).") var start: String
        @Option(help: "End (UTC).") var end: String
        @Option(help: "A scalp area (repeat).") var area: [String] = []
        @Option(help: "A pigment lot used, LOT or LOT:DILUTION (repeat).") var pigment: [String] = []
        @Option(help: "A needle cartridge used, LOT:1RL|3RL:DIAMETER (repeat).") var cartridge: [String] = []
        @Option(help: "Needle depth in mm.") var depth: Double
        @Option(help: "fading, colour-change, scar or guarantee.") var reason: String
        @Flag(help: "Done under the clinic's guarantee.") var guarantee = false

        func run() async throws {
            try await reportingFailures {
                let reasons: [String: Stipple_V1_TouchUpReason] = ["fading": .fading, "colour-change": .colourChange, "scar": .scar, "guarantee": .guarantee]
                guard let why = reasons[reason] else { throw ValidationError("--reason must be fading, colour-change, scar or guarantee.") }
                var touchUp = Stipple_V1_TouchUpRecorded()
                touchUp.clinicID = clinic
                touchUp.technicianID = technician
                touchUp.supervisorID = supervisor ?? ""
                touchUp.startedAt = try Typed.instant(start, "--start")
                touchUp.endedAt = try Typed.instant(end, "--end")
                touchUp.areas = try area.map(Typed.area)
                touchUp.pigments = try pigment.map(Typed.pigment)
                touchUp.cartridges = try cartridge.map(Typed.cartridge)
                touchUp.depthMm = depth
                touchUp.reason = why
                touchUp.underGuarantee = guarantee
                try await record([Recorder.touchUp(client: client, touchUp, metadata: clinical.metadata)], options: options)
            }
        }
    }

    struct Amend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a correction of one of the client's events (nothing is edited in place).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The id of the event corrected.") var event: String
        @Option(help: "A field corrected, in the event's JSON name (repeat).") var field: [String] = []
        @Option(help: "Why.") var reason: String
        @Flag(help: "The client disputes the record and it stays as it was.") var disputed = false

        func run() async throws {
            try await reportingFailures {
                var amendment = Stipple_V1_RecordAmended()
                amendment.correctsEventID = event
                amendment.fields = field
                amendment.reason = reason
                amendment.disputed = disputed
                try await record([Recorder.amendment(client: client, amendment, metadata: clinical.metadata)], options: options)
            }
        }
    }

    struct Book: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Book a session or a touch-up.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The booking's id.") var booking: String
        @Option(help: "The clinic.") var clinic: String
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "Start (UTC).") var start: String
        @Option(help: "Expected length in minutes (60–480).") var minutes: Int32 = 180
        @Option(help: "Number of the session in the course (omit for a touch-up).") var number: Int32?

        func run() async throws {
            try await reportingFailures {
                var booked = Stipple_V1_SessionBooked()
                booked.bookingID = booking
                booked.clinicID = clinic
                booked.technicianID = technician
                booked.startsAt = try Typed.instant(start, "--start")
                booked.expectedMinutes = minutes
                booked.sessionNumber = number ?? 0
                booked.touchUp = number == nil
                try await recordPlain(booked, type: "SessionBooked", stream: Recorder.Streams.client(client), clinical, options)
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a booking.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The client's id.") var client: String
        @Option(help: "The booking's id.") var booking: String
        @Option(help: "client or clinic.") var by: String
        @Option(help: "Why.") var reason: String = ""

        func run() async throws {
            try await reportingFailures {
                var cancelled = Stipple_V1_SessionCancelled()
                cancelled.bookingID = booking
                switch by {
                case "client": cancelled.cancelledBy = .client
                case "clinic": cancelled.cancelledBy = .clinic
                default: throw ValidationError("--by must be client or clinic.")
                }
                cancelled.reason = reason
                try await recordPlain(cancelled, type: "SessionCancelled", stream: Recorder.Streams.client(client), clinical, options)
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
            @OptionGroup var clinical: ClinicalOptions
            @Option(help: "The clinic's id, e.g. toronto.") var clinic: String
            @Option(help: "Its name.") var name: String
            @Option(help: "Opened on, e.g. 2021-05-01.") var opened: String
            @Option(help: "IANA time zone.") var timeZone: String = "America/Toronto"

            func run() async throws {
                try await reportingFailures {
                    var message = Stipple_V1_ClinicOpened()
                    message.name = name
                    message.openedOn = try Typed.day(opened, "--opened")
                    message.timeZone = timeZone
                    let event = try Recorder.newEvent(
                        message, type: "ClinicOpened", stream: Recorder.Streams.clinic(clinic), expected: .noStream, metadata: clinical.metadata)
                    try await record([try Recorder.checked(event)], options: options)
                }
            }
        }
    }
}

extension Stipple.Tech {
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a technician joining the chain.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "Name (personal data).") var name: String
        @Option(help: "When (UTC).") var at: String

        func run() async throws {
            try await reportingFailures {
                var registered = Stipple_V1_TechnicianRegistered()
                registered.registeredAt = try Typed.instant(at, "--at")
                registered.personal.name = name
                try await recordPlain(registered, type: "TechnicianRegistered", stream: Recorder.Streams.technician(technician), clinical, options)
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a certification suspended from a day on.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The certification's id.") var certification: String
        @Option(help: "From which day.") var from: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                var suspended = Stipple_V1_CertificationSuspended()
                suspended.certificationID = certification
                suspended.suspendedOn = try Typed.day(from, "--from")
                suspended.reason = reason
                try await recordPlain(suspended, type: "CertificationSuspended", stream: Recorder.Streams.technician(technician), clinical, options)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a certification revoked for good.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var clinical: ClinicalOptions
        @Option(help: "The technician's id.") var technician: String
        @Option(help: "The certification's id.") var certification: String
        @Option(help: "On which day.") var on: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await reportingFailures {
                var revoked = Stipple_V1_CertificationRevoked()
                revoked.certificationID = certification
                revoked.revokedOn = try Typed.day(on, "--on")
                revoked.reason = reason
                try await recordPlain(revoked, type: "CertificationRevoked", stream: Recorder.Streams.technician(technician), clinical, options)
            }
        }
    }
}

/// Records one event that no rule across streams guards, its values checked.
func recordPlain(
    _ message: any SwiftProtobuf.Message, type: String, stream: String, _ clinical: ClinicalOptions, _ options: GlobalOptions
) async throws {
    let event = try Recorder.newEvent(message, type: type, stream: stream, expected: .any, metadata: clinical.metadata)
    try await record([try Recorder.checked(event)], options: options)
}
