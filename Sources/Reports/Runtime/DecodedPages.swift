import EventLog

/// A page of the log with the events projections read, decoded.
struct DecodedPage: Sendable {
    /// The last position the page covers (events of other types included).
    var last: Int64
    /// The events of the types read, in order.
    var events: [ProjectedEvent]
}

/// The log in pages from a position to a given head, decoded on the caller's side of
/// the pipeline (the runtime asks for the next page while the writer applies one).
actor DecodedPages {
    private let log: EventLog
    private var position: Int64
    private let pageSize: Int
    private let reads: Set<String>
    private let through: Int64
    private var finished = false

    init(_ log: EventLog, from position: Int64, pageSize: Int, reads: Set<String>, through: Int64) {
        self.log = log
        self.position = position
        self.pageSize = pageSize
        self.reads = reads
        self.through = through
    }

    func next() async throws -> DecodedPage? {
        if finished { return nil }
        let limit = Int(min(Int64(pageSize), through - position + 1))
        let page = limit > 0 ? try await log.readAll(from: position, limit: limit) : []
        guard let first = page.first, first.position <= through else {
            finished = true
            return nil
        }
        var events: [ProjectedEvent] = []
        events.reserveCapacity(page.count)
        var last = first.position
        for event in page {
            if event.position > through {
                finished = true
                break
            }
            last = event.position
            if reads.contains(event.type) { events.append(try ProjectedEvent(event)) }
        }
        position = last + 1
        return DecodedPage(last: last, events: events)
    }
}
