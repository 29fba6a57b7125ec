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
        if let summaries = try runInTableOrder(
               projection: projection, source: source, store: store, ranges: [range], head: head,
               table: table, job: job, strict: strict, keepGoing: keepGoing, betweenChunks: betweenChunks) {
            var timed = summaries[0]
            timed.seconds = Date().timeIntervalSince(start)
            return timed
        }
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

extension RangeRebuild {
    /// How a rebuild task reads its range: in table order with `ScanOrderFold` where that pays
    /// (the default), or by walking the aggregate index. `REFOLD_READ_ORDER=table` or `=index`
    /// forces one (for comparison, and for tests of either path).
    public enum ReadOrder: String, Sendable {
        case automatic, table, index

        public static var current: ReadOrder {
            ProcessInfo.processInfo.environment["REFOLD_READ_ORDER"].flatMap(ReadOrder.init(rawValue:)) ?? .automatic
        }

        /// A table-order read passes over every row up to the head; the index walk costs about
        /// ten times as much per event it reads, but reads only the range's. So the table's order
        /// pays when the range holds at least a tenth of the table (positions ≈ rows), or when
        /// the range's size is unknown.
        public func readsTable(range: AggregateRange, head: Int64) -> Bool {
            switch self {
            case .index: return false
            case .table: return true
            case .automatic:
                guard range.estimatedEvents > 0, head > 0 else { return true }
                return range.estimatedEvents * 10 >= head
            }
        }
    }

    /// The most aggregates a planned rebuild task should hold: about 40 MB of `order_summary`
    /// states, so a worker stays under 100 MB (docs/PERFORMANCE.md).
    public static let aggregatesPerTask: Int64 = 12_000

    /// Past this many distinct aggregates in one read, the table-order fold gives up (its
    /// states would hold too much memory) and the task reads the index instead: memory stays
    /// bounded whatever the range. `REFOLD_SCAN_MAX_AGGREGATES` overrides it.
    public static var scanMaxAggregates: Int {
        ProcessInfo.processInfo.environment["REFOLD_SCAN_MAX_AGGREGATES"].flatMap(Int.init) ?? 200_000
    }

    /// The table-order read of one task's range, or of the adjacent ranges of one claim
    /// together: every row is folded as it comes, the rows are written once at the end (one
    /// transaction), so a worker never writes while it reads; then each range's own counts,
    /// rows and quarantines are split out. Nil when the ranges are not adjacent, the table's
    /// order does not pay, the source cannot read in table order, or there are too many
    /// aggregates — nothing was written then.
    public static func runInTableOrder(
        projection: AnyProjection, source: any EventSource, store: any ReadModelStore,
        ranges: [AggregateRange], head: Int64, table: String, job: String, strict: Bool,
        keepGoing: (Int) -> Bool, betweenChunks: () throws(StoreError) -> Void = {}
    ) throws -> [TaskSummary]? {
        guard let union = adjacentUnion(ranges), ReadOrder.current.readsTable(range: union, head: head) else { return nil }
        let start = Date()
        let limit = scanMaxAggregates
        let fold = projection.scanFold(expectedAggregates: min(limit, 16_384))
        var tooMany = false
        let read: Int?
        do {
            read = try source.readInTableOrder(
                range: union, head: head, into: fold,
                keepGoing: { done in
                    if fold.aggregatesSeen > limit {
                        tooMany = true
                        return false
                    }
                    return keepGoing(done)
                },
                afterChunk: betweenChunks)
        } catch {
            if tooMany { return nil }
            throw error
        }
        guard let events = read else { return nil }
        if strict, let first = fold.firstQuarantine { throw StrictModeDataError(record: first) }
        let (rows, quarantined) = fold.drain()
        try store.write(rows: rows, quarantined: quarantined, table: table, projection: projection.name, job: job)
        RebuildMetrics.folded(projection: projection.name, events: events, rows: rows.count, quarantined: quarantined.count)
        try betweenChunks()
        let seconds = Date().timeIntervalSince(start)
        guard ranges.count > 1 else {
            return [TaskSummary(events: events, aggregates: fold.aggregatesSeen, rows: rows.count, quarantined: quarantined, seconds: seconds)]
        }
        let counts = fold.eventsPerAggregate()
        return ranges.map { range in
            let own = counts.filter { range.contains($0.aggregate) }
            return TaskSummary(
                events: own.reduce(0) { $0 + $1.events }, aggregates: own.count,
                rows: rows.reduce(0) { $0 + (range.contains($1.aggregate) ? 1 : 0) },
                quarantined: quarantined.filter { range.contains(Array($0.aggregate.utf8)) }, seconds: seconds)
        }
    }

    /// The one range `ranges` cover when they follow each other without a gap, whatever order
    /// they come in; nil otherwise.
    static func adjacentUnion(_ ranges: [AggregateRange]) -> AggregateRange? {
        guard !ranges.isEmpty else { return nil }
        let sorted = ranges.sorted { a, b in
            guard let y = b.lower else { return false }
            guard let x = a.lower else { return true }
            return x.lexicographicallyPrecedes(y)
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            guard let upper = a.upper, upper == b.lower else { return nil }
        }
        return AggregateRange(
            lower: sorted.first!.lower, upper: sorted.last!.upper,
            estimatedEvents: ranges.reduce(0) { $0 + $1.estimatedEvents })
    }
}

/// Strict mode met a data error: the run stops and nothing of it is swapped in.
public struct StrictModeDataError: Error, Sendable {
    public let record: QuarantineRecord
}
