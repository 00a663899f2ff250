import Discretion
import EventLog
import Foundation
import Logging
import Recording
import Reports
import Synchronization

/// How a ``Service`` opens its log, and what it is given from outside: the master key
/// file, a logger, a clock and a source of event ids (tests pass fixed ones).
public struct ServiceConfiguration: Sendable {
    /// The log's file.
    public var databasePath: String
    /// The master key file: it seals every client's personal data. It may be missing for
    /// reading (personal data then stays sealed), never for recording.
    public var masterKeyPath: String
    /// Open the log for reading only (verify, stats, lists).
    public var readOnly = false
    public var logger: Logger
    /// "Now", for the access log, erasures and exports; the log's recorded-at uses it too.
    public var clock: @Sendable () -> Date = { Date() }
    /// Ids of the events the service makes (access log entries, erasures, commands given no id).
    public var newID: @Sendable () -> UUID = { UUID.v7() }
    /// Progress of a long catch-up of the reports (shown by the CLI on standard error).
    public var catchUpProgress: Projector.ProgressHandler?
    /// When the reports' projections are brought up to date.
    public var projectionUpkeep = ProjectionUpkeep.afterEachWrite
    /// How long an erasure waits for other processes' reads to let it empty the WAL.
    public var walPatience: Duration = .seconds(10)
    /// The log's own settings (limits, busy timeout); its `readOnly` and `clock` come from here.
    public var log = EventLog.Configuration()
    /// How people sign in to the pages.
    public var signIn = SignInPolicy()
    /// The folder the server's backups go into (``Session/backup(named:)``), made when
    /// first used; `nil`: `backups` beside the log. The server never writes a backup
    /// anywhere else: whoever holds an admin's password reaches no other path on the machine.
    public var backupFolder: String?
    /// Refuse ``Session/backup(to:)`` (any path): set by a server, whose users name a file
    /// in ``backupFolder`` and never a place on its machine.
    public var backupsByNameOnly = false

    /// The folder backups by name go into.
    public var resolvedBackupFolder: String {
        backupFolder ?? ((databasePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("backups")
    }

    public init(databasePath: String, masterKeyPath: String, logger: Logger = EventLog.silentLogger) {
        self.databasePath = databasePath
        self.masterKeyPath = masterKeyPath
        self.logger = logger
    }

    var eventLogConfiguration: EventLog.Configuration {
        var configuration = log
        configuration.readOnly = readOnly
        configuration.clock = clock
        return configuration
    }

    /// Seconds since 1970, now.
    var nowSeconds: Int64 { Int64(clock().timeIntervalSince1970) }
}

/// What ``Service/readiness(maxLag:)`` found.
public struct Readiness: Sendable {
    /// Why the service is not ready (empty: it is).
    public var problems: [String]
    public var projectionLag: Int64
    public var isReady: Bool { problems.isEmpty }

    public var json: JSONValue {
        .object(["ready": .bool(isReady), "problems": .array(problems.map { .string($0) }), "projectionLag": .int(projectionLag)])
    }
}

/// When the projections are brought up to date after writes.
public enum ProjectionUpkeep: Sendable, Hashable {
    /// After each write, before it returns, and before each report (a command line: one
    /// command, then exit).
    case afterEachWrite
    /// By ``Service/keepProjectionsCurrent()``, running beside the use cases (a server);
    /// a report waits at most `readYourWrites` until the projections hold the last write
    /// of the user who asks.
    case background(readYourWrites: Duration)
}

/// Stipple's application layer: one chain's log, opened with its master key, and every
/// use case the front ends offer. A front end opens a service, authenticates a token into
/// a ``Session`` and calls it; it parses and renders, nothing else.
///
/// ```swift
/// let service = try await Service.open(ServiceConfiguration(databasePath: "chain.sqlite", masterKeyPath: "chain.key"))
/// let session = try await service.authenticate(token)
/// let recorded = try await session.record([command])
/// ```
public final class Service: Sendable {
    public let configuration: ServiceConfiguration
    /// The log. Front ends never touch it: every read and write goes through a session.
    package let log: EventLog
    /// Each user's last write (position), for read-your-writes in background upkeep.
    private let lastWrites = Mutex<[String: Int64]>([:])
    /// Wakes every running ``keepProjectionsCurrent()`` when a write lands: one stream
    /// per upkeep, by a number of its own (a stream ends when its consumer is cancelled,
    /// so an upkeep started later needs a new one).
    private let upkeepWakes = Mutex<(next: Int, streams: [Int: AsyncStream<Void>.Continuation])>((0, [:]))
    /// Sign-ins already checked against the users table and the chain, by token hash,
    /// with the version of the user's stream before the check: any change to the user
    /// (by any process) appends to that stream, and the cached sign-in is used only while
    /// the version is the same. A server signs a token in on every request.
    private let signIns = Mutex<[String: (principal: Principal, version: Int64)]>([:])
    /// The master key as last loaded and checked, with the file's identity then (a
    /// rotation, a chmod or another file there loads it again).
    private let master = Mutex<(identity: FileIdentity, key: MasterKey)?>(nil)
    /// When the last check for an unfinished erasure found none (checked at most once a
    /// second by writes; an erasure that leaves one clears it).
    private let erasureCheck = Mutex<ContinuousClock.Instant?>(nil)
    /// The people signed in to the pages (memory only), and their failed attempts.
    let people = PeopleSessions()
    /// Clients' names opened for search (memory only).
    let directory = ClientDirectory()
    let lotDirectory = LotDirectory()
    /// Rebuilds started in the background (memory only).
    let rebuilds = RebuildJobs()
    /// The last verification that passed here (memory only), and whether one runs.
    let verifications = Mutex<PassedVerification?>(nil)
    let verifying = Mutex(false)

    init(configuration: ServiceConfiguration, log: EventLog) {
        self.configuration = configuration
        self.log = log
    }

    /// Opens an existing log, refusing one that holds events this build cannot read, and
    /// a master key file that others may read.
    ///
    /// - Throws: ``ServiceError`` (`badInput` for a missing file or one that is not a
    ///   log, `failure` for unreadable events or a key file others may read).
    public static func open(_ configuration: ServiceConfiguration) async throws(ServiceError) -> Service {
        try await classified {
            let log = try EventLog(path: configuration.databasePath, configuration: configuration.eventLogConfiguration, logger: configuration.logger)
            let service = Service(configuration: configuration, log: log)
            try await service.refuseUnreadableEvents()
            // A key file others may read is refused before anything, by every use case.
            if service.hasMasterKeyFile { _ = try MasterKey.load(from: configuration.masterKeyPath) }
            if !configuration.readOnly {
                // Users made before user events existed get their events, once.
                let users = Users(log: log)
                if try await !users.hasUserEvents(), try await !users.list().isEmpty {
                    _ = try await service.system("stipple upgrade").append([Users.recordingTable()])
                }
            }
            return service
        }
    }

    func refuseUnreadableEvents() async throws {
        let unreadable = try await Recorder.unreadableVersions(in: log)
        guard !unreadable.isEmpty else { return }
        let names = unreadable.map { "\($0.type) version \($0.version)" }.joined(separator: ", ")
        throw ServiceError.failure(
            "\(configuration.databasePath) holds events this Stipple cannot read (\(names)): a newer Stipple wrote them, or they are not Stipple events. Upgrade Stipple; nothing was changed.")
    }

    /// What ``initialize(_:admin:)`` did.
    public struct Initialized: Sendable {
        public var service: Service
        public var createdLog: Bool
        public var createdMasterKey: Bool
        /// The first admin's token, to show once; `nil` when the log had users already.
        public var adminToken: String?
        /// The log's head position.
        public var headPosition: Int64
    }

    /// Creates a log (or opens the one at the path), makes the master key file if there is
    /// none, checks it against the log's client keys, and adds the first admin when the
    /// log has no users.
    ///
    /// - Throws: ``ServiceError`` (`badInput` for a file that is not a log or a bad name,
    ///   `failure` for a wrong or unreadable key file).
    public static func initialize(_ configuration: ServiceConfiguration, admin: String) async throws(ServiceError) -> Initialized {
        let exists = FileManager.default.fileExists(atPath: configuration.databasePath)
        let service: Service
        if exists {
            service = try await open(configuration)
        } else {
            service = try await classified {
                Service(configuration: configuration, log: try EventLog.create(
                    at: configuration.databasePath, configuration: configuration.eventLogConfiguration, logger: configuration.logger))
            }
        }
        do {
            return try await firstUse(service, configuration: configuration, admin: admin, createdLog: !exists)
        } catch {
            // A log made here that could not be set up is removed: nothing is left half made.
            if !exists {
                try? service.log.close()
                for suffix in ["", "-wal", "-shm"] { unlink(configuration.databasePath + suffix) }
            }
            throw error
        }
    }

    /// The key file and the first admin of `initialize(_:admin:)`.
    private static func firstUse(
        _ service: Service, configuration: ServiceConfiguration, admin: String, createdLog: Bool
    ) async throws(ServiceError) -> Initialized {
        try await classified {
            let createdKey = !service.hasMasterKeyFile
            if createdKey {
                // A log whose keys were made with a master key never gets a new one: the
                // path is wrong, and a stray key would only mislead.
                if try await ClientKeys.hasMasterCheck(in: service.log) {
                    throw ServiceError.failure(
                        "there is no master key at \(configuration.masterKeyPath), and this log's client keys were made with one: give its path with STIPPLE_MASTER_KEY_FILE; nothing was created")
                }
                _ = try MasterKey.create(at: configuration.masterKeyPath)
            }
            _ = try await service.masterKey()
            let (token, decision) = try Users.firstAdmin(admin, at: configuration.clock())
            let added = try await service.system("stipple init").append([decision])
            return Initialized(
                service: service, createdLog: createdLog, createdMasterKey: createdKey, adminToken: added.isEmpty ? nil : token,
                headPosition: try await service.log.head().position)
        }
    }

    /// The session of the user whose token this is.
    ///
    /// - Throws: ``ServiceError`` of kind `denied` for no token, a malformed, unknown or
    ///   rotated one, or a disabled user.
    public func authenticate(_ token: String?) async throws(ServiceError) -> Session {
        let principal = try await classified { () -> Principal in
            guard let token, Tokens.looksLikeToken(token) else { return try await Users(log: log).authenticate(token) }
            let hash = Tokens.hash(token)
            if let cached = signIns.withLock({ $0[hash] }), try await log.streamVersion(Users.stream(cached.principal.user)) == cached.version {
                return cached.principal
            }
            let principal = try await Users(log: log).authenticate(token)
            // The version read before the check would do too, but not one read after: a
            // change landing between the two would be cached as checked.
            let version = try await log.streamVersion(Users.stream(principal.user))
            let confirmed = try await Users(log: log).authenticate(token)
            if confirmed == principal, version > 0 {
                signIns.withLock { signIns in
                    if signIns.count >= 4_096 { signIns.removeAll() }
                    signIns[hash] = (principal, version)
                }
            }
            return confirmed
        }
        return Session(service: self, principal: principal)
    }

    // MARK: - Projections in the background

    /// Keeps the projections at the head until the task is cancelled: after every write
    /// through this service, and at least every second (other processes append too).
    /// A server runs it beside its requests (``ProjectionUpkeep/background(readYourWrites:)``).
    public func keepProjectionsCurrent() async {
        let projector = reports().projector
        // Writes in a burst wake it once: the stream keeps the newest only.
        let (stream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let number = upkeepWakes.withLock { wakes in
            defer { wakes.next += 1 }
            wakes.streams[wakes.next] = wake
            return wakes.next
        }
        defer { _ = upkeepWakes.withLock { $0.streams.removeValue(forKey: number) } }
        let logger = configuration.logger
        await withTaskGroup(of: Void.self) { group in
            // At least once a second: other processes append too.
            group.addTask {
                while !Task.isCancelled {
                    wake.yield()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            // Each wake.
            group.addTask {
                for await _ in stream {
                    if Task.isCancelled { return }
                    do {
                        try await projector.catchUp()
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.warning("the reports could not be brought up to date", metadata: ["error": "\(ServiceError(error).message)"])
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Notes a write, for read-your-writes, and wakes the upkeep.
    func noteWrite(by user: String, upTo position: Int64) {
        lastWrites.withLock { $0[user] = max($0[user] ?? 0, position) }
        for wake in upkeepWakes.withLock({ Array($0.streams.values) }) { wake.yield() }
    }

    /// The last position `user` wrote through this service (0: none).
    func lastWrite(by user: String) -> Int64 { lastWrites.withLock { $0[user] ?? 0 } }

    /// Waits until every projection's live tables hold `position`, or `wait` has passed.
    func waitForProjections(reaching position: Int64, within wait: Duration) async throws {
        guard position > 0 else { return }
        let deadline = ContinuousClock.now.advanced(by: wait)
        while try await projectionCheckpoint() < position, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The lowest checkpoint of the projections' live tables (0 when one is not built).
    public func projectionCheckpoint() async throws -> Int64 {
        let statuses = try await reports().projector.status()
        return statuses.map { $0.live?.checkpoint ?? 0 }.min() ?? 0
    }

    /// How many events the slowest projection has not applied yet.
    public func projectionLag() async throws -> Int64 {
        let statuses = try await reports().projector.status()
        return statuses.map(\.lag).max() ?? 0
    }

    /// Whether the service can serve: the log reads, the master key opens its client
    /// keys, and the projections are at most `maxLag` events behind.
    public func readiness(maxLag: Int64) async -> Readiness {
        var problems: [String] = []
        var lag: Int64 = -1
        do { _ = try await log.head() } catch { problems.append("the log cannot be read: \(ServiceError(error).message)") }
        do { _ = try await masterKey() } catch { problems.append("the master key is not usable: \(ServiceError(error).message)") }
        do {
            lag = try await projectionLag()
            if lag > maxLag { problems.append("the reports are \(lag) events behind the log (at most \(maxLag))") }
        } catch {
            problems.append("the reports' status cannot be read: \(ServiceError(error).message)")
        }
        return Readiness(problems: problems, projectionLag: lag)
    }

    /// A session for Stipple's own writes (the first admin, an upgrade), recorded with
    /// `actor` as their actor. Never given to a front end.
    func system(_ actor: String) -> Session {
        Session(service: self, principal: Principal(user: actor, role: .admin))
    }

    /// Closes the log.
    public func close() throws(ServiceError) {
        do { try log.close() } catch { throw ServiceError(error) }
    }

    // MARK: - Keys

    /// Whether something is at the key file's path (a link too: loading it refuses one).
    var hasMasterKeyFile: Bool {
        var info = stat()
        return lstat(configuration.masterKeyPath, &info) == 0
    }

    /// The master key, checked against the log's client keys (the first use records its check).
    ///
    /// - Throws: ``DiscretionError`` (no file, a file others may read, a wrong key).
    func masterKey() async throws -> MasterKey {
        let identity = FileIdentity(configuration.masterKeyPath)
        if let identity, let cached = self.master.withLock({ $0 }), cached.identity == identity { return cached.key }
        let master = try MasterKey.load(from: configuration.masterKeyPath)
        try await ClientKeys(log: log, master: master, masterPath: configuration.masterKeyPath).prepare()
        if let identity { self.master.withLock { $0 = (identity, master) } }
        return master
    }

    /// Whether a write should look for an unfinished erasure now (at most once a second).
    func shouldCheckErasures() -> Bool {
        erasureCheck.withLock { last in
            let now = ContinuousClock.now
            if let last, now - last < .seconds(1) { return false }
            last = now
            return true
        }
    }

    /// An erasure could not empty the WAL: the next write looks again.
    func noteUnfinishedErasure() { erasureCheck.withLock { $0 = nil } }

    /// The client keys, when a master key file is there (reading works without it, showing
    /// personal data sealed).
    func clientKeysIfAvailable() async throws -> ClientKeys? {
        guard hasMasterKeyFile else { return nil }
        return ClientKeys(log: log, master: try await masterKey(), masterPath: configuration.masterKeyPath)
    }

    /// The reports, their "now" and their names as the log stores them (sealed names stay
    /// sealed; a session opens them, see ``Session``).
    func reports(options: Projector.Options = Projector.Options(), contacts: ContactResolver? = nil, opener: EventOpener? = nil) -> ClinicReports {
        ClinicReports(log: log, options: options, now: configuration.clock, contacts: contacts, opener: opener)
    }
}

/// What tells a file from another: a replaced, rewritten or re-permissioned key file
/// differs in one of these.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64, inode: UInt64, size: Int64, mode: UInt32, owner: UInt32
    var modified: Int, modifiedNanoseconds: Int

    init?(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        mode = UInt32(info.st_mode)
        owner = UInt32(info.st_uid)
        modified = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
    }
}
