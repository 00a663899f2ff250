import Foundation
import HTTPTypes
import Hummingbird
import Reports
import StippleService
import Treatment

extension WebPages {
    /// A client's page; for a confidential client without a purpose, the form that asks
    /// why (the purpose is posted, never put in the URL).
    /// - Parameter recorded: the number of the session just recorded (the redirect after it says so).
    /// - Parameter typed: an action's form as typed (a refusal shows it again, open).
    /// - Parameter done: the action just recorded (the redirect after it says so).
    func clientPage(
        _ signedIn: SignedIn, client: String, purpose: String?, form: SessionFormView? = nil, typed: TypedAction? = nil,
        recorded: Int32? = nil, done: ClientAction? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let session = signedIn.session
        let page: ClientPage
        let id = Session.clientID(client)
        do {
            page = try await session.clientPage(client: client, purpose: purpose)
        } catch {
            let error = ServiceError(error)
            if error.detail == .purposeRequired(.client(id)) {
                var model = PageModel(title: "Say why you open this record", signedIn: signedIn)
                model.purposeFor = id
                if purpose != nil { model.message = "Say why you open this record: the reason is kept in the access log." }
                return render("purpose", model, status: purpose == nil ? .ok : .unprocessableContent)
            }
            guard error.kind == .denied || error.kind == .notFound else { throw error }
            // The same page for a client of another clinic and one that does not exist.
            var model = PageModel(title: "No such client", signedIn: signedIn)
            model.message = "There is no client \(id) that you may open."
            return render("message", model, status: .notFound)
        }
        let lots = (try? await session.lotsOnHand(at: page.clinic)) ?? []
        var model = PageModel(title: "Client \(page.client)", signedIn: signedIn)
        var sessionForm = session.may(.recordClinical, clinic: page.clinic) ? (form ?? Self.blankSessionForm(page: page)).offering(lots: lots) : nil
        if let recorded, form == nil, page.course.procedures.contains(where: { !$0.touchUp && $0.number == recorded }) {
            sessionForm?.recorded = "Session \(recorded) recorded."
        }
        model.client = Self.view(of: page, purpose: purpose, form: sessionForm)
        if sessionForm != nil {
            let forms = ((try? await session.consentFormsInForce()) ?? []).map { form, version in
                (value: "\(form):\(version.version)", label: "\(form) \(version.version)" + (version.title.isEmpty ? "" : ": \(version.title)"))
            }
            let context = ActionContext(client: page.client, clinic: page.clinic, time: page.time, course: page.course, lots: lots, forms: forms)
            model.client?.actions = ClientAction.allCases.map { action in
                action.form(context, typed: typed?.action == action ? typed : nil)
            }
        }
        if let done, typed == nil { model.client?.done = done.done }
        model.client?.erasable = session.may(.eraseClients) && !page.contact.erased
        return render("client", model, status: status)
    }

    static func view(of page: ClientPage, purpose: String?, form: SessionFormView?) -> ClientView {
        let course = page.course
        let next = course.nextBooking.map { booking in
            "\(page.time.shown(booking.startsAt)) at \(booking.clinic) with technician \(booking.technician) (\(booking.touchUp ? "touch-up" : "session \(booking.sessionNumber)"))"
        }
        let rows = page.timeline.sections.first.map { table in
            table.rows.indices.map { index in
                TimelineRow(
                    position: table.value("position", row: index)?.description ?? "", date: table.value("date", row: index)?.description ?? "",
                    event: table.value("event", row: index)?.description ?? "", details: table.value("details", row: index)?.description ?? "",
                    actor: table.value("actor", row: index)?.description ?? "",
                    amendment: table.value("event", row: index)?.description == "RecordAmended")
            }
        } ?? []
        return ClientView(
            client: page.client, clinic: page.clinic, name: Self.shown(page.contact.name), phone: Self.shown(page.contact.phone),
            email: Self.shown(page.contact.email),
            erased: page.contact.erased, pseudonym: page.pseudonym, confidential: page.confidential, purpose: purpose,
            zone: page.time.zone.identifier, sessionsDone: course.sessionsDone, estimatedSessions: course.estimatedSessions > 0 ? course.estimatedSessions : nil,
            spacing: course.spacing.isEmpty ? nil : course.spacing.map { "\($0) days" }.joined(separator: ", "),
            nextBooking: next,
            consents: course.consents.map { consent in
                ConsentRow(
                    form: consent.form, link: consent.formID.isEmpty ? nil : Self.formLink(consent.formID, version: consent.version),
                    day: consent.day.description, covers: consent.covers.joined(separator: ", "))
            },
            noConsent: course.consents.isEmpty,
            // A rebuild's notice is shown; how many events the tables lag behind is not: in a
            // server the projections follow within a second (and this user's own writes are
            // waited for), and the page's own access entry would be the usual one.
            timeline: rows, notice: page.timeline.notice.flatMap { $0.contains("rebuild") ? $0 : nil },
            map: MapArea.shapes.map { shape in
                let count = course.areaCounts[shape.area] ?? 0
                return MapArea(area: shape.area, label: AreaLabels.label(shape.area), count: count, shade: min(count, 3), paths: shape.paths)
            },
            form: form)
    }

    static func blankSessionForm(page: ClientPage) -> SessionFormView {
        // The next session, with the technician and start of its booking when there is one.
        var form = blankRecorded(number: Int32(page.course.sessionsDone), clinic: page.clinic)
        if let booking = page.course.nextBooking, !booking.touchUp {
            form.technician = booking.technician
            form.start = localInput(page.time, booking.startsAt)
        }
        return form
    }

    /// A time as a `datetime-local` input holds it, in the clinic's time.
    static func localInput(_ time: ClinicTime, _ seconds: Int64) -> String {
        String(time.shown(seconds).prefix(16)).replacingOccurrences(of: " ", with: "T")
    }

    /// Records the session typed in the form; a refusal shows every rule broken next to
    /// the field it concerns, with the form as it was typed.
    func recordSession(_ signedIn: SignedIn, client: String, _ form: Form) async throws -> Response {
        let purpose = form.value("purpose").flatMap { $0.isEmpty ? nil : $0 }
        var typed = Self.typedSessionForm(form)
        let session = signedIn.session
        do {
            let time = try await session.clinicTime(ofClient: client)
            func parse<T>(_ field: String, _ body: () throws(ServiceError) -> T) -> T? {
                do { return try body() } catch { typed.add(Self.sentence(error.message), to: field); return nil }
            }
            var message = Stipple_V1_SessionRecordedV2()
            message.sessionNumber = parse("number") { () throws(ServiceError) -> Int32 in
                guard let number = Int32(typed.number), number > 0 else { throw ServiceError.badInput("give the number of the session in the course (1, 2, 3 …)") }
                return number
            } ?? 0
            message.technicianID = typed.technician
            message.supervisorID = typed.supervisor
            if let start = parse("start", { () throws(ServiceError) in try TypedInput.instant(typed.start, "the start", in: time) }) { message.startedAt = start }
            if let end = parse("end", { () throws(ServiceError) in try TypedInput.instant(typed.end, "the end", in: time) }) { message.endedAt = end }
            message.areas = form.values("area").compactMap { area in parse("areas") { () throws(ServiceError) in try TypedInput.areas.value(area, "an area") } }
            if let depth = parse("depth", { () throws(ServiceError) -> Double in
                guard let depth = Double(typed.depth) else { throw ServiceError.badInput("give the needle depth in mm, e.g. 0.9") }
                return depth
            }) { message.depthMm = depth }
            let pigment = form.text("pigment")
            if !pigment.isEmpty {
                let dilution = typed.dilution.isEmpty ? "" : ":" + typed.dilution
                if let use = parse("pigment", { () throws(ServiceError) in try TypedInput.pigment(pigment + dilution) }) { message.pigments = [use] }
            }
            let cartridge = form.text("cartridge")
            if !cartridge.isEmpty, let use = parse("cartridge", { () throws(ServiceError) in try TypedInput.cartridge(cartridge) }) {
                message.cartridges = [use]
            }
            message.machine = typed.machine
            message.aftercareSheetVersion = typed.aftercare
            guard !typed.hasErrors else {
                return try await clientPage(signedIn, client: client, purpose: purpose, form: typed, status: .unprocessableContent)
            }
            message.clinicID = form.text("clinic")
            _ = try await session.record([Command(.session(client: Session.clientID(client), message))], idempotency: form.idempotency)
        } catch {
            let error = ServiceError(error)
            switch error.detail {
            case .violations(let violations, _):
                for violation in violations { typed.add(Self.sentence(violation.message), to: Self.formField(of: violation.field)) }
            case .idempotencyKeyReused:
                typed.add(Self.sentAgain, to: nil)
            default:
                typed.add(Self.sentence(error.message), to: nil)
            }
            return try await clientPage(signedIn, client: client, purpose: purpose, form: typed, status: .unprocessableContent)
        }
        // Recorded: the page again, the form ready for the next session (a confidential
        // client's page is shown here, its purpose being posted; others are redirected to,
        // so that a reload does not post the session again).
        guard purpose != nil else { return Self.redirect(to: "/clients/" + Self.pathSegment(Session.clientID(client)) + "?recorded=\(typed.number)") }
        var next = Self.blankRecorded(number: Int32(typed.number) ?? 0, clinic: typed.clinic)
        next.recorded = "Session \(typed.number) recorded."
        return try await clientPage(signedIn, client: client, purpose: purpose, form: next)
    }

    /// An empty session form for the session after `number`.
    static func blankRecorded(number: Int32, clinic: String) -> SessionFormView {
        SessionFormView(
            number: String(number + 1), technician: "", supervisor: "", start: "", end: "", depth: "", dilution: "30", machine: "", aftercare: "",
            areas: [], pigments: [], cartridges: [], clinic: clinic)
    }

    /// The form as it was typed.
    static func typedSessionForm(_ form: Form) -> SessionFormView {
        let areas = Set(form.values("area"))
        return SessionFormView(
            number: form.text("number"), technician: form.text("technician"), supervisor: form.text("supervisor"),
            start: form.text("start"), end: form.text("end"), depth: form.text("depth"), dilution: form.text("dilution"),
            machine: form.text("machine"), aftercare: form.text("aftercare"),
            areas: TypedInput.areas.names.map { Choice(value: $0, label: AreaLabels.label($0), selected: areas.contains($0)) },
            pigments: form.text("pigment").isEmpty ? [] : [Choice(value: form.text("pigment"), label: form.text("pigment"), selected: true)],
            cartridges: form.text("cartridge").isEmpty ? [] : [Choice(value: form.text("cartridge"), label: form.text("cartridge"), selected: true)],
            clinic: form.text("clinic"))
    }

    /// The form field a rule's field (the command's JSON name) is shown next to.
    static func formField(of field: String?) -> String? {
        guard let field else { return nil }
        switch field {
        case "sessionNumber": return "number"
        case "technicianId": return "technician"
        case "supervisorId": return "supervisor"
        case "startedAt": return "start"
        case "endedAt": return "end"
        case "areas": return "areas"
        case "depthMm": return "depth"
        default:
            if field.hasPrefix("pigments") { return field.hasSuffix("dilutionPercent") ? "dilution" : "pigment" }
            if field.hasPrefix("cartridges") { return "cartridge" }
            return nil
        }
    }

    /// A text for a template section: `nil` when empty (Mustache shows a section for any string).
    static func shown(_ text: String) -> String? { text.isEmpty ? nil : text }

    /// A message as a sentence: capital first letter, full stop.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let capitalised = first.uppercased() + text.dropFirst()
        return capitalised.hasSuffix(".") ? capitalised : capitalised + "."
    }
}

extension SessionFormView {
    /// The form with the lots on hand to choose from (and what was chosen, even if it is no
    /// longer on hand: a refusal then says why next to it).
    func offering(lots: [LotOnHand]) -> SessionFormView {
        var form = self
        if form.areas.isEmpty { form.areas = TypedInput.areas.names.map { Choice(value: $0, label: AreaLabels.label($0), selected: false) } }
        let chosenPigment = pigments.first(where: \.selected)?.value, chosenCartridge = cartridges.first(where: \.selected)?.value
        func label(_ lot: LotOnHand) -> String { "\(lot.lot): \(lot.manufacturer) \(lot.description), expires \(lot.expiry)" }
        var pigments = lots.filter { $0.kind == "pigment" }.map { Choice(value: $0.id, label: label($0), selected: $0.id == chosenPigment) }
        if let chosenPigment, !pigments.contains(where: { $0.value == chosenPigment }) {
            pigments.insert(Choice(value: chosenPigment, label: "\(chosenPigment) (not on hand)", selected: true), at: 0)
        }
        var cartridges = lots.filter { $0.kind == "cartridge" }.map { lot in
            Choice(value: lot.cartridgeInput, label: label(lot), selected: lot.cartridgeInput == chosenCartridge)
        }
        if let chosenCartridge, !cartridges.contains(where: { $0.value == chosenCartridge }) {
            cartridges.insert(Choice(value: chosenCartridge, label: "\(chosenCartridge) (not on hand)", selected: true), at: 0)
        }
        form.pigments = pigments
        form.cartridges = cartridges
        return form
    }
}
