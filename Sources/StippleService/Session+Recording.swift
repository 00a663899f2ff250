import Discretion
import EventLog
import Foundation
import Recording
import Reports
import Treatment

/// What a write recorded.
public struct Recorded: Sendable {
    /// Where each event landed, in order (durable).
    public var events: [AppendedEvent]
    /// Set when the events were recorded but the reports could not be brought up to date
    /// afterwards (the events stay recorded; the next report catches up).
    public var reportsNotCaughtUp: ServiceError?
}

// The one write path. Every use case that appends goes through `append(_:)`, in this order:
// check access to the target → decide against the streams in the write transaction →
// authorize each event → stamp actor and role → seal personal data → append → bring the
// projections up. Recorder's decisions and Discretion's sealing are not public API: this
// file is the only caller that composes them. (The read path's own access entries are the
// one other append: `logAccess`, in Session+Disclosure.swift.)
extension Session {
    /// Records commands, all in one transaction: each is decided against the current state
    /// of every stream it touches, seeing what the commands before it recorded; if any is
    /// refused, nothing is recorded.
    ///
    /// - Throws: ``ServiceError``: `denied` (the target or an event is not the user's to
    ///   record; nothing revealed), `refused` (every rule broken, with the line), `conflict`,
    ///   `badInput`, `failure`.
    ///
    /// - Parameter idempotency: the caller's key for this request: a retry with the same
    ///   key and the same request records nothing again and returns the first answer
    ///   (`wasAlreadyStored`); the key given with another request is refused.
    public func record(_ commands: [Command], idempotency: Idempotency? = nil) async throws(ServiceError) -> Recorded {
        guard !commands.isEmpty else { throw ServiceError.badInput("no commands to record") }
        var commands = commands
        // A recall names its lot by number (or id), as a clinician reads it: the command is
        // about the lot's id (LotIdentity), resolved among the lots the user may see.
        for index in commands.indices {
            if case .recall(let lot, let recall) = commands[index].action {
                do {
                    commands[index].action = .recall(lot: try await lotID(lot), recall)
                } catch {
                    throw commands[index].line.map { error.at(line: $0, nothingWritten: "Nothing was recorded.") } ?? error
                }
            }
        }
        let ids = commands.map { command -> UUID in
            if let id = command.id { return id }
            if case .record(let event) = command.action { return event.id }
            return configuration.newID()
        }
        let lotVisible = self.lotVisible
        // What the input says alone (ids, text, values) is checked before the write
        // transaction, off the writer, and before the target's access: such a refusal is
        // the same whatever the log holds.
        var decisions: [Recorder.Decision] = []
        for (command, id) in zip(commands, ids) {
            let decision: Recorder.Decision
            do {
                try command.checkInput()
                decision = try command.decision(id: id, lotVisible: lotVisible)
            } catch let refusal as Refusal {
                throw ServiceError(refusal).at(line: command.line, nothingWritten: "Nothing was recorded.")
            } catch let error as ServiceError {
                throw error.kind == .badInput && command.line != nil && !error.message.hasPrefix("line ")
                    ? error.at(line: command.line, nothingWritten: "Nothing was recorded.") : error
            } catch {
                throw ServiceError(error)
            }
            decisions.append(authorized(decision, target: (command.target, command.permission, command.createsTarget), line: command.line))
        }
        if let idempotency {
            try idempotency.validate()
            decisions.insert(idempotency.decision(user: principal.user, ids: ids, at: configuration.clock()), at: 0)
        }
        let appended: [AppendedEvent]
        do {
            appended = try await append(decisions)
        } catch let replay as Idempotency.Replay {
            let events = try await classified { try await log.appended(ids: replay.ids) }
            return Recorded(events: events.compactMap { $0 }, reportsNotCaughtUp: nil)
        } catch EventLogError.eventIdReused(let id, _, _) where principal.role.isClinicScoped {
            // The log's own words name the stored event's stream, type and position: not
            // for those who may not see every record.
            let line = zip(commands, ids).first { $0.1 == id }?.0.line
            throw ServiceError.badInput(
                (line.map { "line \($0): " } ?? "") + "event id \(id.uuidString.lowercased()) is taken by another event: give the command a new id (or none). Nothing was recorded.",
                line: line)
        } catch {
            throw ServiceError(error)
        }
        return Recorded(events: appended, reportsNotCaughtUp: await catchUp(after: appended))
    }

    /// Imports events as given (the `append` format: no rules across streams; admins'
    /// path for data from elsewhere), all in one batch. The actor is the importing user,
    /// whatever the lines say; personal data is sealed as on every other path.
    ///
    /// - Throws: ``ServiceError`` naming the input line of the event refused.
    public func importEvents(_ batch: ImportBatch) async throws(ServiceError) -> Recorded {
        try require(.importEvents)
        for (event, line) in zip(batch.events, batch.lines) {
            if let refusal = Command.importRefusal(event.type) { throw ServiceError.badInput("line \(line): field \"type\" " + refusal, line: line) }
            if !batch.inputChecked {
                do { try InputHygiene.check(event) } catch { throw error.at(line: line, nothingWritten: "Nothing was appended.") }
            }
        }
        let events = batch.events
        let appended: [AppendedEvent]
        do {
            appended = try await append([{ _ in events }])
        } catch let error as EventLogError {
            var start: Int64?
            if case .versionConflict(let stream, _, _) = error { start = try? await log.streamVersion(stream) }
            throw ServiceError(error).at(line: batch.line(of: error, streamStart: start), nothingWritten: "Nothing was appended.")
        } catch {
            throw ServiceError(error)
        }
        return Recorded(events: appended, reportsNotCaughtUp: await catchUp(after: appended))
    }

    /// The most years of history ``demo(clients:seed:years:progress:)`` makes.
    public static var demoMaximumYears: Int { DemoChain.maximumYears }

    /// Builds a demo chain through the same path as every command (see ``DemoChain``), all
    /// in one transaction: an interrupted or refused demo records nothing. Returns how many
    /// events it recorded.
    ///
    /// A seed whose clients are in the log already is refused with the reason (another
    /// seed adds clients to the same chain), checked again inside the transaction.
    ///
    /// - Parameter progress: called as each group of clients is decided, with (done, total).
    public func demo(
        clients: Int, seed: UInt64, years: Int, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws(ServiceError) -> (events: Int64, setUp: Bool) {
        try require(.importEvents)
        return try await classified {
            var options = DemoChain.Options()
            options.clients = clients
            options.seed = seed
            options.years = years
            var chain = DemoChain(options: options)
            let exists = try await log.streamVersion(Recorder.Streams.clinic(DemoChain.clinics[0])) > 0
            let first = Recorder.Streams.client(DemoChain.clientID(seed: seed, index: 0))
            let recordedAlready = ServiceError.badInput(
                "a demo with seed \(seed) is in this log already (its first client, \(first), exists): "
                    + "give another --seed to add clients to the same chain; nothing was recorded")
            if try await log.streamVersion(first) > 0 { throw recordedAlready }
            let hasForm = try await log.streamVersion(Recorder.Streams.form(DemoChain.consentForm)) > 0
            let batches = try chain.transactions(includeSetUp: !exists, includeConsentForm: !hasForm)
            let before = try await log.head().position
            // One transaction: the seed checked again first (another process may have run
            // the same demo meanwhile), each group's progress told once it is decided.
            var decisions: [Recorder.Decision] = [{ reader in
                if try reader.version(of: first) > 0 { throw recordedAlready }
                return []
            }]
            for (index, batch) in batches.enumerated() {
                decisions += batch.map { authorized($0, target: nil, line: nil) }
                let total = batches.count
                decisions.append { _ in
                    progress?(index + 1, total)
                    return []
                }
            }
            do {
                _ = try await write(decisions, catchUp: false)
            } catch let error as ServiceError where error.kind == .conflict {
                throw ServiceError(.conflict, "the demo would record a stream that is in this log already (\(error.message)): give another --seed; nothing was recorded")
            }
            let head = try await log.head().position
            _ = await catchUp(after: [AppendedEvent(position: head, stream: "", streamVersion: 0, id: UUID(), wasAlreadyStored: false)])
            return (head - before, !exists)
        }
    }

    /// Erases a client's personal data (admins): their key is destroyed, the key table
    /// rewritten (so no page keeps an old copy) and `ClientErased` appended, in one
    /// transaction; then the WAL is emptied so the old pages are gone from the files.
    ///
    /// Run again for a client whose erasure could not empty the WAL, it finishes that and
    /// returns no event.
    ///
    /// - Throws: ``ServiceError``: `notFound` for a client the log does not hold, `badInput`
    ///   when erased and finished already, `failure` when the WAL could not be emptied.
    public func erase(client: String, reason: String) async throws(ServiceError) -> Recorded {
        try require(.eraseClients)
        let id = Self.clientID(client)
        if AccessLog.isBlank(reason) { throw ServiceError.badInput("the reason must say why the data is erased (a request's reference, the legal basis)") }
        guard try await classified({ try await clientExists(id) }) else { throw ServiceError.notFound("there is no client \(id) in this log") }
        // Scratch copies a check left behind (a kill) would hold the key: they go first.
        Self.removeScratchCopies(of: configuration.databasePath)
        if try await classified({ try await ClientKeys.isErased(id, in: log) }) {
            // Erased already: finish what an interrupted erasure left (the WAL not emptied).
            let finished: Bool
            do {
                finished = try await ClientKeys.finishPendingErasures(in: log, patience: configuration.walPatience)
            } catch {
                throw ServiceError.failure(
                    "client \(id)'s key is destroyed, but old copies of it stay in the database file until its WAL is emptied, "
                        + "which another process's read still prevents: run `stipple client erase \(id)` again once it is done")
            }
            if finished { return Recorded(events: [], reportsNotCaughtUp: nil) }
            throw ServiceError.badInput("client \(id)'s personal data was erased already; nothing was changed")
        }
        let erasure = PersonalData.erasure(client: id, reason: reason, at: configuration.nowSeconds, metadata: EventMetadata(), id: configuration.newID())
        let appended: [AppendedEvent]
        do {
            appended = try await append([erasure])
        } catch DiscretionError.clientErased {
            throw ServiceError.badInput("client \(id)'s personal data was erased already; nothing was changed")
        } catch {
            throw ServiceError(error)
        }
        do {
            try await ClientKeys.finishPendingErasures(in: log, patience: configuration.walPatience)
        } catch {
            service.noteUnfinishedErasure()
            throw ServiceError.failure(
                "client \(id)'s key is destroyed and ClientErased recorded (position \(appended.first?.position ?? 0)), but old copies of the key "
                    + "stay in the database file until its WAL is emptied, which another process's read prevents: run `stipple client erase \(id)` "
                    + "again once it is done (any command that records finishes it too); until then a copy of the file taken by hand holds the key")
        }
        return Recorded(events: appended, reportsNotCaughtUp: await catchUp(after: appended))
    }

    // MARK: - The path

    /// Wraps a decision so that the user's access to `target` is checked before it reads
    /// any stream (a refused user learns nothing from the rules: not whether the client
    /// exists, nor their consent or sessions), and every event it returns is allowed for
    /// the user (role and clinic, read inside the write transaction) and respects a
    /// confidential client's care team.
    func authorized(
        _ decision: @escaping Recorder.Decision, target: (stream: String, permission: Permission, creates: Bool)?, line: Int?
    ) -> Recorder.Decision {
        let principal = self.principal
        return { reader in
            do {
                if let target {
                    try EventAccess.checkTarget(
                        target.stream, permission: target.permission, creates: target.creates, principal: principal, reader: reader)
                }
                return try decision(reader).map { event in
                    for (permission, clinic) in try EventAccess.requirements(for: event, reader: reader) {
                        try AccessPolicy.check(principal, permission, clinic: clinic)
                    }
                    // The target's own confidentiality was checked above, before the decision.
                    if event.stream != target?.stream { try EventAccess.checkConfidential(event, principal: principal, reader: reader) }
                    return event
                }
            } catch let refusal as Refusal {
                throw ServiceError(refusal).at(line: line, nothingWritten: "Nothing was recorded.")
            } catch let error as ServiceError where error.kind == .badInput {
                throw error.at(line: line, nothingWritten: "Nothing was recorded.")
            }
        }
    }

    /// Stamps, seals and appends decided events in one transaction, then brings the
    /// projections up (unless the caller does it once after several writes).
    func write(_ decisions: [Recorder.Decision], catchUp: Bool = true) async throws(ServiceError) -> Recorded {
        let appended = try await classified { try await append(decisions) }
        return Recorded(events: appended, reportsNotCaughtUp: catchUp ? await self.catchUp(after: appended) : nil)
    }

    /// ``write(_:catchUp:)`` without the catch-up, throwing the libraries' own errors.
    ///
    /// An erasure that could not empty the WAL (another process reading, a crash) is
    /// finished first, if it can be now: until then the main file holds the old pages.
    func append(_ decisions: [Recorder.Decision]) async throws -> [AppendedEvent] {
        if service.shouldCheckErasures() {
            do {
                try await ClientKeys.finishPendingErasures(in: log, patience: .zero)
            } catch {
                service.noteUnfinishedErasure()
                configuration.logger.warning("an erasure's WAL could not be emptied yet", metadata: ["error": "\(ServiceError(error).message)"])
            }
        }
        let stamp = self.stamp
        let stamped: [Recorder.Decision] = decisions.map { decision in
            { reader in
                try decision(reader).map { event in
                    var event = event
                    event.metadata.actor = stamp.actor
                    event.metadata.extra["role"] = stamp.extra["role"]
                    return event
                }
            }
        }
        return try await log.transact(PersonalData.sealing(stamped, master: try await service.masterKey()))
    }

    /// Brings the projections up after a write: at once (``ProjectionUpkeep/afterEachWrite``),
    /// or by noting the write for the background upkeep, which a later report of this user
    /// waits for. A failure never undoes what was recorded, it is only returned.
    func catchUp(after appended: [AppendedEvent]) async -> ServiceError? {
        switch configuration.projectionUpkeep {
        case .background:
            service.noteWrite(by: principal.user, upTo: appended.map(\.position).max() ?? 0)
            return nil
        case .afterEachWrite:
            do {
                try await service.reports().projector.catchUp(progress: configuration.catchUpProgress)
                return nil
            } catch {
                return ServiceError(error)
            }
        }
    }
}
