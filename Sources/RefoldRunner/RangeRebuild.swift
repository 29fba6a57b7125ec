import Foundation
import RefoldCore
import RefoldSQLite

/// Folds one range of aggregates into a read-model table: the unit of work of every rebuild,
/// inline or distributed. Rows are written between read chunks, in one transaction per chunk.
public enum RangeRebuild {
    /// Folds `range` up to `head` into `table` and records quarantines under `job`.
    ///
    /// - Parameters:
    ///   - strict: stop at the first data error (throws `.notClean`, nothing more is written).
    ///   - keepGoing: asked every few thousand events with the count so far; false stops the
    ///     task (lease lost, shutdown) and throws `StoreError(.stopped)`.
    ///   - betweenChunks: runs when no read transaction is open — the only safe moment for any
    ///     other write to the same database (a write during a read chunk would wait for our own
    ///     reader in rollback-journal mode).
    public static func run(
        projection: AnyProjection, source: any EventSource, store: any ReadModelStore,
        range: AggregateRange, head: Int64, table: String, job: String, strict: Bool = false,
        keepGoing: (Int) -> Bool = { _ in true },
        betweenChunks: () throws(StoreError) -> Void = {}
    ) throws -> TaskSummary {
        let start = Date()
        let fold = projection.fold()
        var summary = TaskSummary()
        var strictStop: QuarantineRecord?
        let events: Int
        do {
            events = try source.read(range: range, head: head, into: fold, keepGoing: keepGoing) { () throws(StoreError) in
            if strict, let first = fold.firstQuarantine {
                strictStop = first
                throw StoreError(.stopped, "strict mode: a data error was found")
            }
            let (rows, quarantined) = fold.drain()
            try store.write(rows: rows, quarantined: quarantined, table: table, projection: projection.name, job: job)
            RebuildMetrics.folded(projection: projection.name, events: fold.eventsConsumed - summary.events, rows: rows.count, quarantined: quarantined.count)
            summary.events = fold.eventsConsumed
            summary.rows += rows.count
            summary.quarantined += quarantined
            try betweenChunks()
            }
        } catch {
            if let record = strictStop { throw StrictModeDataError(record: record) }
            throw error
        }
        summary.events = events
        summary.aggregates = fold.aggregatesSeen
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}

/// Strict mode met a data error: the run stops and nothing of it is swapped in.
public struct StrictModeDataError: Error, Sendable {
    public let record: QuarantineRecord
}
