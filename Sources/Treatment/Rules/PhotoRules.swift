import Foundation

/// Rules of a client's photos (``Stipple_V1_PhotoAttached``); what the image bytes must
/// be (JPEG or PNG, the size limit, no metadata) is checked where they are read
/// (Discretion's `PhotoFile`).
public enum PhotoRules {
    /// The records a photo may belong to.
    public static let recordTypes: Set<String> = ["ConsultationRecorded", "SessionRecorded", "TouchUpRecorded", "AdverseReactionReported"]
    /// The record a signature image belongs to.
    public static let signatureType = "ConsentSigned"

    /// A photo of a registered client with a consent covering photos on file, of one of
    /// their own records; or the image of their signature on one of their own consents
    /// (part of the consent: it needs no photo consent).
    ///
    /// - Parameter targetType: the type of the client's event the photo names (`nil`
    ///   when it is none of theirs).
    public static func decide(_ photo: Stipple_V1_PhotoAttached, client: ClientState, targetType: String?) -> Result<Stipple_V1_PhotoAttached, Refusal> {
        var violations: [RuleViolation] = []
        if !client.registered { violations.append(RuleViolation(.clientRegistered, "the client is not registered")) }
        let signature = photo.moment == .signature
        if !client.photoConsent && !signature {
            violations.append(RuleViolation(
                .photoConsent, "the client has signed no consent that covers photos: record one (client consent --photos) before taking any"))
        }
        if UUID(uuidString: photo.attachedToEventID) == nil {
            violations.append(RuleViolation(.valueInRange, field: "attachedToEventId", "must be an event id (a UUID)"))
        } else if let targetType {
            if signature, targetType != signatureType {
                violations.append(RuleViolation(
                    .photoOfClientRecord, field: "attachedToEventId", "a signature belongs to a consent (ConsentSigned), not to a \(targetType)"))
            } else if !signature, targetType == signatureType {
                violations.append(RuleViolation(
                    .photoOfClientRecord, field: "attachedToEventId", "an image attached to a consent is its signature (moment signature), not a photo of the client"))
            } else if !signature, !recordTypes.contains(targetType) {
                violations.append(RuleViolation(
                    .photoOfClientRecord, field: "attachedToEventId",
                    "a photo belongs to a consultation, a session, a touch-up or an adverse reaction, not to a \(targetType)"))
            }
        } else {
            violations.append(RuleViolation(
                .photoOfClientRecord, field: "attachedToEventId", "event \(photo.attachedToEventID) is not an event of this client"))
        }
        if photo.moment == .unspecified || !Stipple_V1_PhotoMoment.allCases.contains(photo.moment) {
            violations.append(RuleViolation(.valueInRange, field: "moment", "must be before, after, other or signature"))
        }
        return violations.isEmpty ? .success(photo) : .failure(Refusal(violations))
    }
}
