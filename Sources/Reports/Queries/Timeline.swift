import Foundation
import SwiftProtobuf
import Treatment

/// One line of a client's timeline, in words: the event's own date and what it says.
enum Timeline {
    /// - Parameter clinicTime: the time of the clinic the event belongs to: dates and
    ///   times are local there.
    static func describe(_ message: any SwiftProtobuf.Message, in clinicTime: ClinicTime) -> (date: String, text: String) {
        func day(_ timestamp: Google_Protobuf_Timestamp) -> String { clinicTime.day(of: timestamp).description }
        func time(_ timestamp: Google_Protobuf_Timestamp) -> String { clinicTime.clock(timestamp.seconds) }
        switch message {
        case let registered as Stipple_V1_ClientRegistered:
            var text = "registered at \(registered.clinicID)"
            if !registered.referral.isEmpty { text += " (referral: \(registered.referral))" }
            return (day(registered.registeredAt), text)
        case let consultation as Stipple_V1_ConsultationRecorded:
            var parts = ["consultation at \(consultation.clinicID) by \(consultation.consultantID)"]
            parts.append(hairLoss(consultation.hairLossType))
            switch consultation.stage {
            case .norwoodStage(let stage)?: parts.append("Norwood \(stage)")
            case .ludwigStage(let stage)?: parts.append("Ludwig \(stage)")
            case nil: break
            }
            if consultation.fitzpatrickType > 0 { parts.append("Fitzpatrick \(consultation.fitzpatrickType)") }
            if !consultation.areas.isEmpty { parts.append("areas " + consultation.areas.map(Names.area).joined(separator: ", ")) }
            if consultation.estimatedSessions > 0 { parts.append("\(consultation.estimatedSessions) sessions estimated") }
            if !consultation.contraindications.isEmpty { parts.append("contraindications: " + consultation.contraindications.joined(separator: ", ")) }
            return (day(consultation.consultedAt), parts.joined(separator: "; "))
        case let consent as Stipple_V1_ConsentSigned:
            let scope = consent.scopes
            var text = "consent \(consent.formLabel) signed, covering \(scope.isEmpty ? "nothing" : scope.joined(separator: ", "))"
            if !consent.formSha256.isEmpty { text += "; text sha256 \(consent.formSha256)" }
            return (day(consent.signedAt), text)
        case let booked as Stipple_V1_SessionBooked:
            let what = booked.touchUp ? "touch-up" : "session \(booked.sessionNumber)"
            return (day(booked.startsAt), "\(what) booked (\(booked.bookingID)) at \(booked.clinicID) with \(booked.technicianID), \(time(booked.startsAt)), \(booked.expectedMinutes) min")
        case let moved as Stipple_V1_SessionRescheduled:
            return (day(moved.startsAt), "booking \(moved.bookingID) moved to \(day(moved.startsAt)) \(time(moved.startsAt))" + reason(moved.reason, moved.personal.reason))
        case let cancelled as Stipple_V1_SessionCancelled:
            let by = cancelled.cancelledBy == .client ? "by the client" : cancelled.cancelledBy == .clinic ? "by the clinic" : ""
            return ("", "booking \(cancelled.bookingID) cancelled \(by)" + reason(cancelled.reason, cancelled.personal.reason))
        case let noShow as Stipple_V1_SessionNoShow:
            return ("", "no-show for booking \(noShow.bookingID)")
        case let reaction as Stipple_V1_AdverseReactionReported:
            var text = "adverse reaction reported (\(reaction.severity))"
            if !reaction.lots.isEmpty { text += "; lots " + reaction.lots.joined(separator: ", ") }
            let actions = reaction.actionsTaken.isEmpty ? reaction.personal.actionsTaken : reaction.actionsTaken
            if !actions.isEmpty { text += "; actions: \(actions)" }
            return (day(reaction.reportedAt), text)
        case let amended as Stipple_V1_RecordAmended:
            let why = amended.reason.isEmpty ? amended.personal.reason : amended.reason
            var text = "record amended (\(amended.fields.joined(separator: ", ")))" + (why.isEmpty ? " (reason sealed)" : ": \(why)")
            if let values = Amendments.valuesText(amended) { text += "; corrected to \(values)" }
            if amended.disputed { text += " [disputed by the client]" }
            return ("", text)
        case let photo as Stipple_V1_PhotoAttached:
            let what = switch photo.moment {
            case .before: "photo (before)"
            case .after: "photo (after)"
            case .signature: "signature image"
            default: "photo (other)"
            }
            let size = photo.byteCount >= 1 << 20
                ? String(format: "%.1f MiB", Double(photo.byteCount) / Double(1 << 20)) : "\((photo.byteCount + 1_023) / 1_024) KiB"
            return (day(photo.takenAt), "\(what), \(photo.mediaType), \(size); sealed, sha256 \(photo.sealedSha256)")
        case let marked as Stipple_V1_ClientMarkedConfidential:
            return ("", "marked confidential" + (marked.reason.isEmpty ? "" : " (\(marked.reason))"))
        case let erased as Stipple_V1_ClientErased:
            return (day(erased.erasedAt), "personal data erased" + (erased.reason.isEmpty ? "" : " (\(erased.reason))"))
        case let lifted as Stipple_V1_ClientConfidentialityLifted:
            return ("", "confidentiality lifted" + (lifted.reason.isEmpty ? "" : " (\(lifted.reason))"))
        default:
            guard let procedure = Procedure(message, time: clinicTime) else { return ("", String(describing: type(of: message))) }
            return (procedure.day.description, describe(procedure, message: message, in: clinicTime))
        }
    }

    /// ` (why)`: a reason recorded in clear (before sealing existed) or opened; nothing when neither.
    static func reason(_ clear: String, _ opened: String) -> String {
        let why = clear.isEmpty ? opened : clear
        return why.isEmpty ? "" : " (\(why))"
    }

    static func describe(_ procedure: Procedure, message: any SwiftProtobuf.Message, in clinicTime: ClinicTime) -> String {
        var parts = ["\(procedure.label) at \(procedure.clinicID) by \(procedure.technicianID)"]
        if !procedure.supervisorID.isEmpty { parts[0] += " supervised by \(procedure.supervisorID)" }
        let hours = Double(procedure.endedAt - procedure.startedAt) / 3_600
        parts.append(clinicTime.clock(procedure.startedAt) + String(format: ", %.1f h", hours))
        parts.append("areas " + procedure.areaNames)
        if !procedure.pigments.isEmpty {
            parts.append("pigments " + procedure.pigments.map { pigment in
                let product = [pigment.brand, pigment.shade].filter { !$0.isEmpty }.joined(separator: " ")
                let about = [product, pigment.dilutionPercent > 0 ? "\(pigment.dilutionPercent)%" : ""].filter { !$0.isEmpty }
                return lot(pigment.lot) + (about.isEmpty ? "" : " (" + about.joined(separator: ", ") + ")")
            }.joined(separator: ", "))
        }
        if !procedure.cartridges.isEmpty {
            parts.append("cartridges " + procedure.cartridges.map { cartridge in
                let about = [cartridge.manufacturer, cartridge.configuration == .unspecified ? "" : Names.needle(cartridge.configuration),
                             cartridge.diameterMm > 0 ? String(format: "%.2f mm", cartridge.diameterMm) : ""].filter { !$0.isEmpty }
                return lot(cartridge.lot) + (about.isEmpty ? "" : " (" + about.joined(separator: " ") + ")")
            }.joined(separator: ", "))
        }
        if !procedure.legacyNeedleText.isEmpty { parts.append("needle as recorded: " + procedure.legacyNeedleText) }
        let depth = (message as? Stipple_V1_SessionRecordedV2)?.depthMm ?? (message as? Stipple_V1_TouchUpRecorded)?.depthMm ?? 0
        if depth > 0 { parts.append(String(format: "depth %.1f mm", depth)) }
        if let touchUp = message as? Stipple_V1_TouchUpRecorded {
            parts.append("reason " + reason(touchUp.reason) + (touchUp.underGuarantee ? " (under guarantee)" : ""))
        }
        return parts.joined(separator: "; ")
    }

    /// A lot number, or words saying it was not recorded (events written before lots were).
    static func lot(_ lot: String) -> String { lot.isEmpty ? "lot not recorded" : lot }

    static func hairLoss(_ type: Stipple_V1_HairLossType) -> String {
        switch type {
        case .androgenetic: return "androgenetic"
        case .alopeciaAreata: return "alopecia areata"
        case .alopeciaTotalis: return "alopecia totalis"
        case .alopeciaUniversalis: return "alopecia universalis"
        case .diffuseThinning: return "diffuse thinning"
        case .scar: return "scar"
        case .burn: return "burn"
        case .birthmark: return "birthmark"
        case .postTransplant: return "post-transplant"
        default: return "hair loss unspecified"
        }
    }

    static func reason(_ reason: Stipple_V1_TouchUpReason) -> String {
        switch reason {
        case .fading: return "fading"
        case .colourChange: return "colour change"
        case .scar: return "scar"
        case .guarantee: return "guarantee"
        default: return "unspecified"
        }
    }
}
