import Foundation
import Hummingbird
import StippleService
import Treatment

// A consent form's page: each version's exact text as published (what a client signed),
// its hash and what it covers. No client is in a form: every signed-in person may read it.
extension WebPages {
    /// `/forms/<id>#<version>`, the page of a form's text.
    static func formLink(_ form: String, version: String) -> String {
        let id = form.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? form
        return "/forms/\(id)" + (version.isEmpty ? "" : "#version-" + (version.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
    }

    func consentFormPage(_ signedIn: SignedIn, form: String) async throws -> Response {
        var model = PageModel(title: "Consent form \(form)", signedIn: signedIn)
        let state: ConsentFormState
        do {
            state = try await signedIn.session.consentForm(form)
        } catch {
            model.message = Self.sentence(error.message)
            return render("message", model, status: .notFound)
        }
        let utc = ClinicTime.chainDefault
        model.consentForm = ConsentFormView(id: form, versions: state.order.reversed().compactMap { name in
            guard let version = state.versions[name] else { return nil }
            let published = version.published
            let covers = published.scopes.map { $0 == "procedure" ? "the procedure" : $0 }
            return ConsentFormView.Version(
                version: name, title: published.title, covers: covers.joined(separator: ", "), sha256: published.textSha256,
                published: published.hasPublishedAt ? utc.day(of: published.publishedAt).description : "",
                withdrawn: version.withdrawn.map { "Withdrawn: \($0.reason)" }, text: published.text)
        })
        return render("consent-form", model)
    }
}
