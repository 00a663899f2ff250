import Foundation

/// A consent form's versions, folded from its stream (`form-<id>`).
public struct ConsentFormState: Sendable, Hashable {
    public struct Version: Sendable, Hashable {
        public var published: Stipple_V1_ConsentFormPublished
        public var withdrawn: Stipple_V1_ConsentFormWithdrawn?
    }

    /// By version name, as published.
    public var versions: [String: Version] = [:]
    /// The version names in the order they were published.
    public var order: [String] = []

    public init() {}

    public mutating func apply(_ message: Any) {
        switch message {
        case let published as Stipple_V1_ConsentFormPublished:
            if versions[published.version] == nil { order.append(published.version) }
            versions[published.version] = Version(published: published)
        case let withdrawn as Stipple_V1_ConsentFormWithdrawn:
            versions[withdrawn.version]?.withdrawn = withdrawn
        default:
            break
        }
    }

    /// The versions in force (published, not withdrawn), oldest first.
    public var inForce: [String] { order.filter { versions[$0]?.withdrawn == nil } }
}

/// Rules of consent forms and of the consents signed on them (DOMAIN.md: a signed
/// consent must say, years later, what exactly was agreed).
public enum ConsentRules {
    /// A new version of a form: a name not published before, a text, what it covers, its
    /// hash (the text's, worked out by the caller: `textSHA256`) pinned or checked.
    public static func decidePublication(
        _ form: Stipple_V1_ConsentFormPublished, formID: String, state: ConsentFormState, textSHA256: String
    ) -> Result<Stipple_V1_ConsentFormPublished, Refusal> {
        var violations: [RuleViolation] = []
        func check(_ condition: Bool, _ field: String, _ text: String) {
            if !condition { violations.append(RuleViolation(.consentForm, field: field, text)) }
        }
        check(form.formID.isEmpty || form.formID == formID, "formId", "is \(form.formID), but the stream is form-\(formID): leave it out or make them agree")
        check(!ValueRules.isBlank(form.version), "version", "name the version (e.g. v5)")
        check(state.versions[form.version] == nil, "version", "version \(form.version) of form \(formID) is published already: a published text never changes; publish a new version")
        check(!ValueRules.isBlank(form.text), "text", "the form's full text is missing")
        check(form.coversProcedure || form.coversPhotos || form.coversMarketing, "covers", "say what the form covers: the procedure, photos or marketing")
        check(form.textSha256.isEmpty || form.textSha256.lowercased() == textSHA256, "textSha256",
              "\(form.textSha256) is not the SHA-256 of the text given (\(textSHA256)): the text changed on its way")
        guard violations.isEmpty else { return .failure(Refusal(violations)) }
        var accepted = form
        accepted.formID = formID
        accepted.textSha256 = textSHA256
        return .success(accepted)
    }

    /// A version withdrawn: published, and not withdrawn already.
    public static func decideWithdrawal(_ withdrawal: Stipple_V1_ConsentFormWithdrawn, formID: String, state: ConsentFormState) -> Result<Stipple_V1_ConsentFormWithdrawn, Refusal> {
        guard let version = state.versions[withdrawal.version] else {
            return .failure(Refusal([RuleViolation(.consentForm, field: "version", "form \(formID) has no version \(withdrawal.version)")]))
        }
        if version.withdrawn != nil {
            return .failure(Refusal([RuleViolation(.consentForm, field: "version", "version \(withdrawal.version) of form \(formID) is withdrawn already")]))
        }
        if ValueRules.isBlank(withdrawal.reason) {
            return .failure(Refusal([RuleViolation(.consentForm, field: "reason", "say why the version is withdrawn")]))
        }
        return .success(withdrawal)
    }

    /// A consent signed on a published version in force, covering only what it covers,
    /// its text's hash pinned (or checked, when the signing screen sent the one it showed).
    public static func decideConsent(_ consent: Stipple_V1_ConsentSigned, form: ConsentFormState) -> Result<Stipple_V1_ConsentSigned, Refusal> {
        func refuse(_ field: String, _ text: String) -> Result<Stipple_V1_ConsentSigned, Refusal> {
            .failure(Refusal([RuleViolation(.consentForm, field: field, text)]))
        }
        if consent.formID.isEmpty {
            return refuse("formId", "name the consent form signed (its id, e.g. smp-consent, and its version); an admin publishes it first (form publish)")
        }
        var consent = consent
        if consent.formVersion.isEmpty {
            // No version named: the one in force, published last (what a clinic hands out).
            guard let newest = form.inForce.last else {
                return refuse("formId", "form \(consent.formID) has no version in force"
                    + (form.order.isEmpty ? " (none is published: an admin publishes it first, form publish)" : " (every version is withdrawn)"))
            }
            consent.formVersion = newest
        }
        guard let version = form.versions[consent.formVersion] else {
            let known = form.inForce
            return refuse("formVersion", "form \(consent.formID) has no published version \(consent.formVersion)"
                + (known.isEmpty ? " (none is published: an admin publishes it first, form publish)" : " (in force: \(known.joined(separator: ", ")))"))
        }
        if let withdrawn = version.withdrawn {
            return refuse("formVersion", "version \(consent.formVersion) of form \(consent.formID) was withdrawn (\(withdrawn.reason)): sign the version in force"
                + (form.inForce.isEmpty ? "" : " (\(form.inForce.joined(separator: ", ")))"))
        }
        let published = version.published
        if !consent.formSha256.isEmpty, consent.formSha256.lowercased() != published.textSha256 {
            return refuse("formSha256", "\(consent.formSha256) is not the hash of version \(consent.formVersion)'s text (\(published.textSha256)): the client saw another text")
        }
        var beyond: [String] = []
        if consent.coversProcedure && !published.coversProcedure { beyond.append("the procedure") }
        if consent.coversPhotos && !published.coversPhotos { beyond.append("photos") }
        if consent.coversMarketing && !published.coversMarketing { beyond.append("marketing") }
        if !beyond.isEmpty {
            return refuse("covers", "version \(consent.formVersion) of form \(consent.formID) does not cover \(beyond.joined(separator: ", ")): a consent covers only what its text asks")
        }
        var accepted = consent
        accepted.formSha256 = published.textSha256
        return .success(accepted)
    }
}

extension Stipple_V1_ConsentSigned {
    /// `smp-consent v4`, or the version alone for a consent recorded before forms were
    /// published in the chain.
    public var formLabel: String { formID.isEmpty ? formVersion : "\(formID) \(formVersion)" }

    /// What it covers, in words: `procedure`, `photos`, `marketing`.
    public var scopes: [String] { ConsentRules.scopes(procedure: coversProcedure, photos: coversPhotos, marketing: coversMarketing) }
}

extension Stipple_V1_ConsentFormPublished {
    /// What the form covers, in words: `procedure`, `photos`, `marketing`.
    public var scopes: [String] { ConsentRules.scopes(procedure: coversProcedure, photos: coversPhotos, marketing: coversMarketing) }
}

extension ConsentRules {
    static func scopes(procedure: Bool, photos: Bool, marketing: Bool) -> [String] {
        [procedure ? "procedure" : nil, photos ? "photos" : nil, marketing ? "marketing" : nil].compactMap { $0 }
    }
}
