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
        if ReadOrder.current == .table, ReadOrder.tableOrderPays(range: range, head: head),
           let summary = try runInTableOrder(
               projection: projection, source: source, store: store, range: range, head: head,
               table: table, job: job, strict: strict, keepGoing: keepGoing, betweenChunks: betweenChunks) {
            var timed = summary
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
    /// How a rebuild task reads its range: in table order with `ScanOrderFold` (the default
    /// where the source can), or by walking the aggregate index (`REFOLD_READ_ORDER=index`,
    /// kept for comparison and for sources without a table order).
    public enum ReadOrder: String, Sendable {
        case table, index

        public static var current: ReadOrder {
            ProcessInfo.processInfo.environment["REFOLD_READ_ORDER"].flatMap(ReadOrder.init(rawValue:)) ?? .table
        }

        /// A table-order read passes over every row up to the head; the index walk costs about
        /// ten times as much per event it reads, but reads only the range's. So the table's order
        /// pays when the range holds at least a tenth of the table (positions ≈ rows), or when
        /// the range's size is unknown. `REFOLD_READ_ORDER=table` forces it either way.
        public static func tableOrderPays(range: AggregateRange, head: Int64) -> Bool {
            if ProcessInfo.processInfo.environment["REFOLD_READ_ORDER"] == "table" { return true }
            guard range.estimatedEvents > 0, head > 0 else { return true }
            return range.estimatedEvents * 10 >= head
        }
    }

    /// The most aggregates a planned rebuild task should hold: about 40 MB of `order_summary`
    /// states, so a worker stays under 100 MB (docs/PERFORMANCE.md).
    public static let aggregatesPerTask: Int64 = 12_000

    /// Past this many distinct aggregates in one task, the table-order fold gives up (its
    /// states would hold too much memory) and the task reads the index instead: memory stays
    /// bounded whatever the range. `REFOLD_SCAN_MAX_AGGREGATES` overrides it.
    public static var scanMaxAggregates: Int {
        ProcessInfo.processInfo.environment["REFOLD_SCAN_MAX_AGGREGATES"].flatMap(Int.init) ?? 200_000
    }

    /// The table-order read: every row of the range is folded as it comes, rows are written once
    /// at the end (one transaction), so a worker never writes while it reads. Nil when the
    /// source cannot read in table order or the range has too many aggregates (nothing written).
    static func runInTableOrder(
        projection: AnyProjection, source: any EventSource, store: any ReadModelStore,
        range: AggregateRange, head: Int64, table: String, job: String, strict: Bool,
        keepGoing: (Int) -> Bool, betweenChunks: () throws(StoreError) -> Void
    ) throws -> TaskSummary? {
        guard let (fold, events) = try scanInTableOrder(
            projection: projection, source: source, range: range, head: head, keepGoing: keepGoing, betweenChunks: betweenChunks)
        else { return nil }
        if strict, let first = fold.firstQuarantine { throw StrictModeDataError(record: first) }
        let (rows, quarantined) = fold.drain()
        try store.write(rows: rows, quarantined: quarantined, table: table, projection: projection.name, job: job)
        RebuildMetrics.folded(projection: projection.name, events: events, rows: rows.count, quarantined: quarantined.count)
        try betweenChunks()
        var summary = TaskSummary()
        summary.events = events
        summary.rows = rows.count
        summary.quarantined = quarantined
        summary.aggregates = fold.aggregatesSeen
        return summary
    }

    /// Several tasks of one claim in one pass over the table, when their ranges are adjacent
    /// (they join into one range) and the table's order pays for it: one fold, one write, and
    /// each task's own counts, rows and quarantines split out by its range. Nil: do them one by
    /// one (nothing was written).
    public static func runTogether(
        projection: AnyProjection, source: any EventSource, store: any ReadModelStore,
        ranges: [AggregateRange], head: Int64, table: String, job: String, strict: Bool,
        keepGoing: (Int) -> Bool
    ) throws -> [TaskSummary]? {
        guard ReadOrder.current == .table, ranges.count > 1 else { return nil }
        let order = ranges.indices.sorted { a, b in
            guard let x = ranges[a].lower else { return true }
            guard let y = ranges[b].lower else { return false }
            return x.lexicographicallyPrecedes(y)
        }
        for (a, b) in zip(order, order.dropFirst()) {
            guard let upper = ranges[a].upper, upper == ranges[b].lower else { return nil }
        }
        let union = AggregateRange(
            lower: ranges[order.first!].lower, upper: ranges[order.last!].upper,
            estimatedEvents: ranges.reduce(0) { $0 + $1.estimatedEvents })
        guard ReadOrder.tableOrderPays(range: union, head: head) else { return nil }
        let start = Date()
        guard let (fold, _) = try scanInTableOrder(
            projection: projection, source: source, range: union, head: head, keepGoing: keepGoing, betweenChunks: {})
        else { return nil }
        if strict, let first = fold.firstQuarantine { throw StrictModeDataError(record: first) }
        let counts = fold.eventsPerAggregate()
        let (rows, quarantined) = fold.drain()
        try store.write(rows: rows, quarantined: quarantined, table: table, projection: projection.name, job: job)
        RebuildMetrics.folded(projection: projection.name, events: counts.reduce(0) { $0 + $1.events }, rows: rows.count, quarantined: quarantined.count)
        let seconds = Date().timeIntervalSince(start)
        return ranges.map { range in
            var summary = TaskSummary()
            let own = counts.filter { range.contains($0.aggregate) }
            summary.events = own.reduce(0) { $0 + $1.events }
            summary.aggregates = own.count
            summary.rows = rows.reduce(0) { $0 + (range.contains($1.aggregate) ? 1 : 0) }
            summary.quarantined = quarantined.filter { range.contains(Array($0.aggregate.utf8)) }
            summary.seconds = seconds
            return summary
        }
    }

    /// The scan itself: the fold and the events read, or nil (see `runInTableOrder`).
    static func scanInTableOrder(
        projection: AnyProjection, source: any EventSource, range: AggregateRange, head: Int64,
        keepGoing: (Int) -> Bool, betweenChunks: () throws(StoreError) -> Void
    ) throws -> (any ScanFold, Int)? {
        let limit = scanMaxAggregates
        let fold = projection.scanFold(expectedAggregates: min(limit, 16_384))
        var tooMany = false
        let read: Int?
        do {
            read = try source.readInTableOrder(
            range: range, head: head, into: fold,
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
        return (fold, events)
    }
}

/// Strict mode met a data error: the run stops and nothing of it is swapped in.
public struct StrictModeDataError: Error, Sendable {
    public let record: QuarantineRecord
}
