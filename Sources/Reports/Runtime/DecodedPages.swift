import EventLog
import Recording
import Treatment

/// A page of the log with the events projections read, decoded.
struct DecodedPage: Sendable {
    /// The last position the page covers (events of other types included).
    var last: Int64
    /// The events of the types read, in order.
    var events: [ProjectedEvent]
}

/// The log in pages from a position to a given head, decoded on the caller's side of
/// the pipeline (the runtime asks for the next page while the writer applies one).
package actor DecodedPages {
    private let log: EventLog
    private var position: Int64
    private let pageSize: Int
    private let reads: Set<String>
    private let through: Int64
    private var finished = false
    /// The clinics' zones, read from their streams before the first page.
    private var times: ClinicTimes?

    init(_ log: EventLog, from position: Int64, pageSize: Int, reads: Set<String>, through: Int64) {
        self.log = log
        self.position = position
        self.pageSize = pageSize
        self.reads = reads
        self.through = through
    }

    func next() async throws -> DecodedPage? {
        if finished { return nil }
        if times == nil { times = try await Self.clinicTimes(in: log) }
        let limit = Int(min(Int64(pageSize), through - position + 1))
        let page = limit > 0 ? try await log.readAll(from: position, limit: limit) : []
        guard let first = page.first, first.position <= through else {
            finished = true
            return nil
        }
        // A clinic opened in this page counts from its position on.
        let times = Self.folding(page, into: self.times ?? ClinicTimes())
        self.times = times
        // The guard above makes `covered` hold the first event at least.
        let covered = page.prefix { $0.position <= through }
        let last = covered[covered.endIndex - 1].position
        var events = try await Self.decode(covered, reads: reads, times: times)
        if covered.count < page.count { finished = true }
        position = last + 1
        if events.contains(where: { $0.type == "RecordAmended" }) {
            let log = self.log
            events = try await log.readTables { [events] db in
                var events = events
                try Correction.resolve(&events, log: log, times: times, in: db)
                return events
            }
        }
        return DecodedPage(last: last, events: events)
    }

    /// The events of `page` of the types read, decoded and in order: on both cores, half
    /// the page each (the writer applies the page before meanwhile, and a rebuild of one
    /// report that writes little would otherwise wait for the decoding).
    static func decode(_ page: ArraySlice<RecordedEvent>, reads: Set<String>, times: ClinicTimes) async throws -> [ProjectedEvent] {
        @Sendable func decode(_ part: ArraySlice<RecordedEvent>) throws -> [ProjectedEvent] {
            var events: [ProjectedEvent] = []
            events.reserveCapacity(part.count)
            for event in part where reads.contains(event.type) { events.append(try ProjectedEvent(event, times: times)) }
            return events
        }
        // Below a few hundred events, a second task costs more than it saves.
        guard page.count >= 512 else { return try decode(page) }
        let middle = page.startIndex + page.count / 2
        return try await withThrowingTaskGroup(of: (Int, [ProjectedEvent]).self) { group in
            group.addTask { (0, try decode(page[..<middle])) }
            group.addTask { (1, try decode(page[middle...])) }
            var halves: [[ProjectedEvent]] = [[], []]
            for try await (half, events) in group { halves[half] = events }
            return halves[0] + halves[1]
        }
    }

    /// Every clinic's zone, with the position of its `ClinicOpened` (a handful of streams),
    /// or only those of `clinics`.
    package static func clinicTimes(_ clinics: Set<String>? = nil, in log: EventLog) async throws -> ClinicTimes {
        var times = ClinicTimes()
        var streams = clinics.map { $0.sorted().map { "clinic-" + $0 } } ?? []
        if clinics == nil { streams = try await log.streamNames(prefix: "clinic-") }
        for stream in streams {
            for event in try await log.read(stream: stream, limit: 1) {
                guard let message = try? Recorder.decode(event) else { continue }
                times.apply(clinic: String(stream.dropFirst("clinic-".count)), message, position: event.position)
            }
        }
        return times
    }

    /// `times` with the `ClinicOpened` events among `events` noted.
    static func folding(_ events: [RecordedEvent], into times: ClinicTimes) -> ClinicTimes {
        var times = times
        for event in events where event.type == "ClinicOpened" {
            guard let message = try? Recorder.decode(event) else { continue }
            times.apply(clinic: String(event.stream.dropFirst("clinic-".count)), message, position: event.position)
        }
        return times
    }
}
