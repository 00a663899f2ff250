import EventLog
import Foundation
import Recording
import Treatment

// Consent forms: published and withdrawn through the write path (`record`, admins; the
// rules in ConsentRules); any signed-in user reads them, since no client is in them.
extension Session {
    /// A consent form's versions, as published (`notFound` for a form never published).
    public func consentForm(_ id: String) async throws(ServiceError) -> ConsentFormState {
        let events = try await classified { try await log.read(stream: Streams.form(id), limit: Int.max) }
        guard !events.isEmpty else { throw ServiceError.notFound("there is no consent form \(id) in this log (`stipple form list` shows them)") }
        var state = ConsentFormState()
        for event in events { state.apply(try await classified { try Recorder.decode(event) }) }
        return state
    }

    /// Every version in force of every form: what a consent may be signed on now, newest
    /// of each form last.
    public func consentFormsInForce() async throws(ServiceError) -> [(form: String, version: Stipple_V1_ConsentFormPublished)] {
        var versions: [(form: String, version: Stipple_V1_ConsentFormPublished)] = []
        for form in try await consentForms() {
            let state = try await consentForm(form)
            versions += state.inForce.compactMap { name in state.versions[name].map { (form, $0.published) } }
        }
        return versions
    }

    /// The ids of every consent form published.
    public func consentForms() async throws(ServiceError) -> [String] {
        try await classified { try await log.streamNames(prefix: "form-") }.compactMap { StreamCategory.form.id(in: $0) }.sorted()
    }
}
