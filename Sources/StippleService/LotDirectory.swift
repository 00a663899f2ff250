import EventLog
import Foundation
import Recording
import Treatment

/// Every lot's state (received, opened, recalled, discarded), held in the server's memory
/// and caught up with the log before each use, so that a client's page, the lots page and
/// Today do not read every lot's stream again (a ten-year chain holds hundreds of lots).
/// The first use reads the lot streams once; later ones read only the events appended
/// since, by any process.
actor LotDirectory {
    private var lots: [String: BatchState] = [:]
    /// The log position read up to (`nil`: not built yet).
    private var position: Int64?

    /// Catches up with the log, then returns each lot's state by lot id (its stream's, see `LotIdentity`).
    func current(log: EventLog) async throws -> [String: BatchState] {
        if let position {
            var from = position + 1
            while true {
                let events = try await log.readAll(from: from, limit: 1_000)
                for event in events where StreamCategory(stream: event.stream) == .batch { try apply(event) }
                guard let last = events.last else { break }
                from = last.position + 1
                self.position = last.position
            }
        } else {
            // From a head read before: an event appended meanwhile is applied again by the
            // next catch-up, and applying a lot's event twice gives the same state.
            let head = try await log.head().position
            for stream in try await log.streamNames(prefix: StreamCategory.batch.prefix) {
                for event in try await log.read(stream: stream, limit: Int.max) { try apply(event) }
            }
            position = head
        }
        return lots
    }

    private func apply(_ event: RecordedEvent) throws {
        guard let lot = StreamCategory.batch.id(in: event.stream) else { return }
        lots[lot, default: BatchState()].apply(type: event.type, message: try Recorder.decode(event), id: event.id)
    }
}
