import Foundation
import RefoldCore

/// Reads a Laravel event table from SQLite, read-only, without changing the file or its
/// settings.
///
/// **Locking.** A rebuild's reads are long; a rollback-journal database (SQLite's default,
/// and Laravel's) blocks every commit while any read transaction is open. So the reader never
/// holds one for long: it reads in chunks of about `chunkEvents` events, each chunk a fresh
/// statement that ends at an aggregate boundary, and resets between chunks — which ends its
/// read transaction and lets waiting writers (busy timeout 30 s) commit. In WAL mode readers
/// and writers do not block each other at all; the journal mode is left as the user set it.
public final class SQLiteEventSource: EventSource {
    public let path: String
    public var location: String { path }
    public let layout: EventTableLayout
    private let connection: SQLiteConnection

    /// Opens the file read-only and checks that the table and its five columns exist.
    public init(path: String, layout: EventTableLayout = EventTableLayout()) throws(StoreError) {
        self.path = path
        self.layout = layout
        connection = try SQLiteConnection(path: path, readOnly: true)
        // Connection-level settings only: nothing is written to the file.
        let mmap = ProcessInfo.processInfo.environment["REFOLD_SQLITE_MMAP_BYTES"].flatMap(Int64.init) ?? Self.defaultMemoryMap
        try connection.execute("PRAGMA query_only = 1; PRAGMA mmap_size = \(max(0, mmap)); PRAGMA cache_size = -65536")
        let file = URL(fileURLWithPath: path).lastPathComponent
        let kind = try connection.prepare("SELECT type FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')")
        try kind.bind([.text(layout.table)])
        guard try kind.step() else {
            throw StoreError(.badInput, "table \"\(layout.table)\" not found in \(file) (set --events-table).")
        }
        let info = try connection.prepare("SELECT name FROM pragma_table_info(?1)")
        try info.bind([.text(layout.table)])
        var present: Set<String> = []
        while try info.step() { present.insert(info.text(0)) }
        let missing = layout.columns.filter { !present.contains($0.name) }
        if !missing.isEmpty {
            let names = missing.map { "\"\($0.name)\"" }.joined(separator: ", ")
            let flags = missing.map(\.flag).joined(separator: ", ")
            throw StoreError(.badInput, "table \"\(layout.table)\" in \(file) is not an event table: column\(missing.count > 1 ? "s" : "") \(names) missing (set \(flags), or --events-table).")
        }
    }

    /// How much of the file the reader maps into memory (`PRAGMA mmap_size`, per connection).
    /// Mapped pages count towards a process's RSS, so this also caps how far RSS grows with
    /// the size of the events file. Override with `REFOLD_SQLITE_MMAP_BYTES` (0 turns it off).
    public static let defaultMemoryMap: Int64 = 256 << 20

    private var table: String { quoteIdentifier(layout.table) }
    private var idColumn: String { quoteIdentifier(layout.id) }
    private var aggregateColumn: String { quoteIdentifier(layout.aggregate) }

    /// The highest position now: a rebuild folds up to this and no further.
    public func headPosition() throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT max(\(idColumn)) FROM \(table)") ?? 0
    }

    /// Splits the aggregate id space into about `tasks` ranges of near-equal event counts,
    /// from the `(aggregate_uuid)` index alone (a covering index scan inside SQLite, never a
    /// table scan, never `ANALYZE`).
    public func plan(tasks: Int) throws(StoreError) -> PartitionPlan {
        try plan(tasks: tasks, aggregatesPerTask: nil)
    }

    /// The same, with more ranges than `tasks` when a range would hold more than
    /// `aggregatesPerTask` aggregates.
    ///
    /// No pass over the table compares ids: `count(*)` of a whole table is SQLite's fast path,
    /// and one hop along the aggregate index takes a sample every 1/256 of the events. Each
    /// sample's aggregate is moved to its start (one index seek), so a boundary's count of events
    /// before it is exact, and so is every range's count. The aggregates are estimated from the
    /// samples' own sizes (an event drawn evenly lands in an aggregate of n events with
    /// probability n/total, so total × the mean of 1/n estimates their number): it only decides
    /// how many tasks keep a fold's memory bounded. (A `count(DISTINCT …)` or `GROUP BY` walk
    /// compares every id with the last: 0.06–0.08 s of a 1M-event plan.)
    public func plan(tasks requested: Int, aggregatesPerTask: Int64?) throws(StoreError) -> PartitionPlan {
        let rows = try connection.scalarInt("SELECT count(*) FROM \(table)") ?? 0
        let nulls = try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(aggregateColumn) IS NULL") ?? 0
        let total = max(0, rows - nulls)
        let cap = max(1, aggregatesPerTask ?? Int64.max)
        // The counts are exact, as the reader selects rows, unless some ids are not text
        // (numbers sort before '' and the reader skips them; blobs sort after all text): two
        // index seeks say.
        let numbers = try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(aggregateColumn) < ''") ?? 0
        let blobs = try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(aggregateColumn) >= x''") ?? 0
        let exact = numbers == 0 && blobs == 0
        guard total > 0 else {
            var plan = PartitionPlan(ranges: [AggregateRange(lower: nil, upper: nil, estimatedEvents: 0)], totalEvents: 0)
            plan.countsAreExact = exact
            plan.aggregates = 0
            return plan
        }
        let (samples, rowidSamples) = try planSamples(total: total)
        // Distinct aggregates, estimated from the samples (the first aggregate counts too).
        var (inverse, hits) = (0.0, 0)
        for sample in samples {
            inverse += Double(sample.hits) / Double(max(1, sample.size))
            hits += sample.hits
        }
        let aggregates = hits == 0 ? 1 : min(total, max(1, Int64((Double(total) * inverse / Double(hits)).rounded())))
        let tasks = max(requested, Int((aggregates - 1) / cap + 1))
        // Boundary k goes at the first sampled aggregate start at or past k/tasks of the events.
        func share(_ k: Int) -> Int64 { (total * Int64(k) + Int64(tasks) - 1) / Int64(tasks) }
        var chosen: [(id: [UInt8], before: Int64)] = []
        var next = 1
        for sample in samples where next < tasks && sample.before >= share(next) {
            chosen.append((sample.id, sample.before))
            while next < tasks, share(next) <= sample.before { next += 1 }
        }
        var plan = PartitionPlan.fromSamples(chosen, total: total)
        plan.countsAreExact = exact && rowidSamples
        plan.aggregates = aggregates
        return plan
    }

    /// Samples of the aggregate index about every 1/256 of `total` events, in id order: each
    /// sample's aggregate, the exact number of events before that aggregate, its size, and how
    /// many samples landed in it (a large aggregate is counted once however many do).
    private func planSamples(total: Int64) throws(StoreError) -> (samples: [(id: [UInt8], before: Int64, size: Int64, hits: Int)], rowid: Bool) {
        let step = max(1, total / 256)
        var samples: [(id: [UInt8], before: Int64, size: Int64, hits: Int)] = []
        let size = try connection.prepare("SELECT count(*) FROM \(table) WHERE \(aggregateColumn) = ?1")
        /// A sample in `key`: a new aggregate (its start from `before`, its size counted), or
        /// one more hit on the last.
        func note(_ key: [UInt8], before: () throws(StoreError) -> Int64) throws(StoreError) {
            if let last = samples.last, last.id == key {
                samples[samples.count - 1].hits += 1
                return
            }
            let start = try before()
            try size.bind([.bytes(key)])
            defer { size.reset() }
            samples.append((key, start, try size.step() ? size.int64(0) : 1, 1))
        }
        do {
            // Hop along the covering index: each sample is `step` entries after the last one,
            // found with OFFSET from the start of the last sample's aggregate. A lower bound is
            // only a seek for SQLite (a row-value bound `(id, rowid) > (?, ?)` would be compared
            // on every entry skipped: 0.1 s instead of 0.02 s for 1M events).
            let first = try connection.prepare("""
                SELECT \(aggregateColumn), rowid FROM \(table) WHERE \(aggregateColumn) IS NOT NULL
                ORDER BY \(aggregateColumn), rowid LIMIT 1 OFFSET ?1
                """)
            let next = try connection.prepare("""
                SELECT \(aggregateColumn), rowid FROM \(table) WHERE \(aggregateColumn) >= ?2
                ORDER BY \(aggregateColumn), rowid LIMIT 1 OFFSET ?1
                """)
            // A sample falls inside an aggregate whose events all start the next range: its
            // events before the sample are taken off, so each range's count is exact.
            let within = try connection.prepare("SELECT count(*) FROM \(table) WHERE \(aggregateColumn) = ?1 AND rowid < ?2")
            var rank: Int64 = 0
            try first.bind([.int(0)])
            var statement = first
            while rank < total, try statement.step() {
                let key = statement.copyBytes(0)
                let rowid = statement.int64(1)
                statement.reset()
                try note(key) { () throws(StoreError) -> Int64 in
                    try within.bind([.bytes(key), .int(rowid)])
                    defer { within.reset() }
                    return rank - (try within.step() ? within.int64(0) : 0)
                }
                // The entries from this aggregate's first one on start at rank `before`.
                rank += step
                try next.bind([.int(rank - samples[samples.count - 1].before), .bytes(key)])
                statement = next
            }
            statement.reset()
            return (samples, true)
        } catch {
            // A table without rowid: number the index entries with a window function instead.
            samples = []
            let statement = try connection.prepare("""
                SELECT a, rn FROM (
                  SELECT \(aggregateColumn) AS a, row_number() OVER (ORDER BY \(aggregateColumn)) AS rn
                  FROM \(table) WHERE \(aggregateColumn) IS NOT NULL
                ) WHERE rn % ?1 = 1
                """)
            try statement.bind([.int(step)])
            var keys: [([UInt8], Int64)] = []
            while try statement.step() { keys.append((statement.copyBytes(0), statement.int64(1) - 1)) }
            statement.reset()
            for (key, before) in keys { try note(key) { () throws(StoreError) -> Int64 in before } }
            return (samples, false)
        }
    }

    /// The exact number of events `read(range:head:)` folds for `range`: rows of the range
    /// with position ≤ `head`, counted with the reader's own predicate (from the index).
    public func countEvents(range: AggregateRange, head: Int64) throws(StoreError) -> Int64 {
        let upper = range.upper == nil ? "" : " AND \(aggregateColumn) < ?2"
        let statement = try connection.prepare("SELECT count(*) FROM \(table) WHERE \(aggregateColumn) >= ?1\(upper) AND \(idColumn) <= ?3")
        try statement.bind([.bytes(range.lower ?? []), range.upper.map { .bytes($0) } ?? .null, .int(head)])
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 0
    }

    /// Streams the events of `range` with position ≤ `head` into `fold`, grouped by aggregate
    /// in (version, position) order, in chunks that each end at an aggregate boundary.
    /// `keepGoing(eventsSoFar)` is asked every 4096 events; returning false throws `.stopped`.
    /// Memory stays bounded whatever the range size: one row at a time.
    ///
    /// `afterChunk` runs between chunks, when no read transaction is open: the place to write
    /// (a write from another connection while this one reads would wait on its own reader).
    public func read(
        range: AggregateRange, head: Int64, into fold: any EventFold, chunkEvents: Int = 50_000,
        keepGoing: (Int) -> Bool = { _ in true },
        afterChunk: () throws(StoreError) -> Void = {}
    ) throws -> Int {
        let columns = [layout.id, layout.aggregate, layout.version, layout.eventClass, layout.payload].map(quoteIdentifier).joined(separator: ", ")
        let order = "ORDER BY \(aggregateColumn), \(quoteIdentifier(layout.version)), \(idColumn)"
        let upper = range.upper == nil ? "" : " AND \(aggregateColumn) < ?2"
        let first = try connection.prepare("SELECT \(columns) FROM \(table) WHERE \(aggregateColumn) >= ?1\(upper) AND \(idColumn) <= ?3 \(order)")
        let next = try connection.prepare("SELECT \(columns) FROM \(table) WHERE \(aggregateColumn) > ?1\(upper) AND \(idColumn) <= ?3 \(order)")
        for statement in [first, next] {
            if let upperBound = range.upper { try statement.bind([.null, .bytes(upperBound)]) }
            statement.bindInt(3, head)
        }
        try first.bind([.bytes(range.lower ?? [])])

        var total = 0
        var statement = first
        var current: [UInt8] = []
        while true {
            var inChunk = 0
            var boundary = false
            defer { statement.reset() }  // ends the chunk's read transaction
            while try statement.step() {
                let aggregate = statement.bytes(1)
                let isNew = !current.equals(aggregate)
                if isNew {
                    if inChunk >= chunkEvents {
                        boundary = true
                        break
                    }
                    current = Array(aggregate)
                }
                try fold.consume(statement.eventView())
                inChunk += 1
                total += 1
                if total & 4095 == 0, !keepGoing(total) { throw StoreError(.stopped, "the read of \(path) was stopped") }
            }
            statement.reset()
            if !boundary { break }
            try afterChunk()
            guard keepGoing(total) else { throw StoreError(.stopped, "the read of \(path) was stopped") }
            // Resume after the last aggregate read in full.
            current.withUnsafeBytes { next.bindText(1, $0) }
            statement = next
            current = []
        }
        fold.finish()
        try afterChunk()
        return total
    }

    /// True when the id column is the table's rowid (`integer primary key`, as Laravel's
    /// migration makes it): then a range of positions is a range of the table's own b-tree.
    private lazy var idIsRowid: Bool = {
        guard let sql = try? connection.scalarText("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [.text(layout.table)]),
              !sql.uppercased().contains("WITHOUT ROWID"),
              let statement = try? connection.prepare("SELECT name, upper(type), pk FROM pragma_table_info(?1) WHERE pk > 0"),
              (try? statement.bind([.text(layout.table)])) != nil
        else { return false }
        defer { statement.reset() }
        var keys: [(name: String, type: String)] = []
        while (try? statement.step()) == true { keys.append((statement.text(0), statement.text(1))) }
        return keys.count == 1 && keys[0].name == layout.id && keys[0].type == "INTEGER"
    }()

    /// Positions per table-order read statement: each is a short read transaction (about
    /// 10 ms here), so a waiting writer gets in between (see the type's note on locking).
    public static let tableOrderSpan: Int64 = 131_072
    /// SQLite's page cache for a table-order read, in KiB.
    public static let tableOrderCacheKilobytes = 8192

    public func readInTableOrder(
        range: AggregateRange, head: Int64, into fold: any ScanFold,
        keepGoing: (Int) -> Bool = { _ in true }, afterChunk: () throws(StoreError) -> Void = {}
    ) throws -> Int? {
        guard idIsRowid else { return nil }
        // Each page is read once, in order: no memory map (mapped pages count towards the
        // worker's RSS, up to the whole file) and a small page cache keep memory flat whatever
        // the file's size, at no measurable cost in time (docs/PERFORMANCE.md).
        try connection.execute("PRAGMA mmap_size = 0; PRAGMA cache_size = -\(Self.tableOrderCacheKilobytes)")
        // `+column` keeps SQLite off the aggregate index: the walk is the table's, by rowid.
        let upper = range.upper == nil ? "" : " AND +\(aggregateColumn) < ?4"
        let scan = try connection.prepare("""
            SELECT \(columnList) FROM \(table) WHERE \(idColumn) > ?1 AND \(idColumn) <= ?2 AND +\(aggregateColumn) >= ?3\(upper)
            """)
        try scan.bind([.int(0), .int(0), .bytes(range.lower ?? [])] + (range.upper.map { [.bytes($0)] } ?? []))
        let nextID = try connection.prepare("SELECT min(\(idColumn)) FROM \(table) WHERE \(idColumn) > ?1")
        var cursor = try connection.scalarInt("SELECT min(\(idColumn)) FROM \(table)").map { $0 - 1 } ?? head
        var total = 0
        while cursor < head {
            let end = min(head, cursor + Self.tableOrderSpan)
            scan.bindInt(1, cursor)
            scan.bindInt(2, end)
            defer { scan.reset() }
            // The fold takes the rows in batches; between them the task may be stopped.
            let stretch = TableOrderCursor(scan)
            while !stretch.ended {
                stretch.batchCount = 0
                try fold.consume(from: stretch)
                total += stretch.batchCount
                if stretch.sawNonText { return nil }  // the index's way, from a fresh fold
                if !keepGoing(total) { throw StoreError(.stopped, "the read of \(path) was stopped") }
            }
            scan.reset()
            try afterChunk()
            guard keepGoing(total) else { throw StoreError(.stopped, "the read of \(path) was stopped") }
            // Skip empty stretches of positions in one seek.
            try nextID.bind([.int(end)])
            cursor = try nextID.step() && !nextID.isNull(0) ? nextID.int64(0) - 1 : head
            nextID.reset()
        }
        // The exact path for aggregates whose versions did not run 1, 2, 3 … in table order.
        let irregular = fold.irregularAggregates
        if !irregular.isEmpty {
            let ordered = try connection.prepare("""
                SELECT \(columnList) FROM \(table) WHERE \(aggregateColumn) = ?1 AND \(idColumn) <= ?2
                ORDER BY \(quoteIdentifier(layout.version)), \(idColumn)
                """)
            for aggregate in irregular {
                try ordered.bind([.bytes(aggregate), .int(head)])
                defer { ordered.reset() }
                while try ordered.step() { try fold.consumeOrdered(ordered.eventView()) }
            }
        }
        return total
    }

    /// One stretch of a table-order read, as the fold's cursor: it hands out up to 4096 rows
    /// per batch (nil ends a batch; the reader resets `batchCount` and checks between batches
    /// whether to go on).
    private final class TableOrderCursor: EventCursor {
        let scan: SQLiteStatement
        var batchCount = 0
        var ended = false
        var sawNonText = false

        init(_ scan: SQLiteStatement) {
            self.scan = scan
        }

        func next() throws -> EventView? {
            guard batchCount < 4096, !ended else { return nil }
            guard try scan.step() else {
                ended = true
                return nil
            }
            // Byte-for-byte grouping holds for text ids; a row with another id ends the read.
            guard scan.isText(1) else {
                sawNonText = true
                ended = true
                return nil
            }
            batchCount += 1
            return scan.eventView()
        }
    }

    // MARK: Catch-up reads (short statements: a writer never waits long on them)

    private var columnList: String {
        [layout.id, layout.aggregate, layout.version, layout.eventClass, layout.payload].map(quoteIdentifier).joined(separator: ", ")
    }

    private func stored(_ statement: SQLiteStatement) -> StoredEvent {
        StoredEvent(
            position: statement.int64(0), aggregate: statement.copyBytes(1),
            version: statement.isNull(2) ? nil : statement.int64(2),
            eventClass: statement.copyBytes(3), payload: statement.copyBytes(4))
    }

    /// Events with `after` < position ≤ `through` that belong to an aggregate, in position
    /// order, read in statements of at most `chunk` rows (each ends its read transaction).
    public func events(after: Int64, through: Int64, chunk: Int = 20_000) throws(StoreError) -> [StoredEvent] {
        let statement = try connection.prepare("""
            SELECT \(columnList) FROM \(table) WHERE \(idColumn) > ?1 AND \(idColumn) <= ?2 AND \(aggregateColumn) IS NOT NULL
            ORDER BY \(idColumn) LIMIT ?3
            """)
        var out: [StoredEvent] = []
        var cursor = after
        while true {
            try statement.bind([.int(cursor), .int(through), .int(Int64(chunk))])
            var read = 0
            while try statement.step() {
                let event = stored(statement)
                out.append(event)
                cursor = event.position
                read += 1
            }
            statement.reset()
            if read < chunk { return out }
        }
    }

    /// Events with `after` < position ≤ `through` of the aggregates in `range`, in position
    /// order: one task's share of a forked catch-up (read from the aggregate index, so the
    /// tasks together read it once instead of each scanning the whole delta).
    public func events(after: Int64, through: Int64, range: AggregateRange) throws(StoreError) -> [StoredEvent] {
        let upper = range.upper == nil ? "?4 IS NULL" : "\(aggregateColumn) < ?4"
        let statement = try connection.prepare("""
            SELECT \(columnList) FROM \(table) WHERE \(aggregateColumn) >= ?3 AND \(upper) AND \(idColumn) > ?1 AND \(idColumn) <= ?2
            ORDER BY \(idColumn)
            """)
        try statement.bind([.int(after), .int(through), .bytes(range.lower ?? []), range.upper.map { .bytes($0) } ?? .null])
        defer { statement.reset() }
        var out: [StoredEvent] = []
        while try statement.step() { out.append(stored(statement)) }
        return out
    }

    /// Every event of one aggregate with version ≥ `fromVersion` (or NULL), whatever its
    /// position, in version order: to fill a gap, or to refold the aggregate.
    public func events(ofAggregate aggregate: [UInt8], fromVersion: Int64 = 1) throws(StoreError) -> [StoredEvent] {
        let version = quoteIdentifier(layout.version)
        let statement = try connection.prepare("""
            SELECT \(columnList) FROM \(table) WHERE \(aggregateColumn) = ?1 AND (\(version) >= ?2 OR \(version) IS NULL)
            ORDER BY \(version), \(idColumn)
            """)
        try statement.bind([.bytes(aggregate), .int(fromVersion)])
        defer { statement.reset() }
        var out: [StoredEvent] = []
        while try statement.step() { out.append(stored(statement)) }
        return out
    }

    /// The aggregates with events in (`after`, `through`] and how many each has, in id order:
    /// what a forked catch-up splits into tasks.
    public func deltaAggregates(after: Int64, through: Int64) throws(StoreError) -> [(aggregate: [UInt8], events: Int64)] {
        let statement = try connection.prepare("""
            SELECT \(aggregateColumn), count(*) FROM \(table) WHERE \(idColumn) > ?1 AND \(idColumn) <= ?2 AND \(aggregateColumn) IS NOT NULL
            GROUP BY \(aggregateColumn) ORDER BY \(aggregateColumn)
            """)
        try statement.bind([.int(after), .int(through)])
        defer { statement.reset() }
        var out: [(aggregate: [UInt8], events: Int64)] = []
        while try statement.step() { out.append((statement.copyBytes(0), statement.int64(1))) }
        return out
    }

    /// Events in (`after`, `through`] that belong to an aggregate.
    public func countEvents(after: Int64, through: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(idColumn) > ?1 AND \(idColumn) <= ?2 AND \(aggregateColumn) IS NOT NULL", [.int(after), .int(through)]) ?? 0
    }

    /// The events at these positions that exist now and belong to an aggregate (late commits
    /// into positions that were missing).
    public func events(at positions: [Int64]) throws(StoreError) -> [StoredEvent] {
        guard !positions.isEmpty else { return [] }
        let statement = try connection.prepare("SELECT \(columnList) FROM \(table) WHERE \(idColumn) = ?1 AND \(aggregateColumn) IS NOT NULL")
        var out: [StoredEvent] = []
        for position in positions {
            try statement.bind([.int(position)])
            if try statement.step() { out.append(stored(statement)) }
            statement.reset()
        }
        return out
    }

    /// Which of these positions exist now (whatever their aggregate).
    public func present(_ positions: [Int64]) throws(StoreError) -> Set<Int64> {
        guard !positions.isEmpty else { return [] }
        let statement = try connection.prepare("SELECT 1 FROM \(table) WHERE \(idColumn) = ?1")
        var out: Set<Int64> = []
        for position in positions {
            try statement.bind([.int(position)])
            if try statement.step() { out.insert(position) }
            statement.reset()
        }
        return out
    }

    /// The positions present in (`after`, `through`], in order (from the primary key alone).
    public func positions(after: Int64, through: Int64) throws(StoreError) -> [Int64] {
        let statement = try connection.prepare("SELECT \(idColumn) FROM \(table) WHERE \(idColumn) > ?1 AND \(idColumn) <= ?2 ORDER BY \(idColumn)")
        try statement.bind([.int(after), .int(through)])
        defer { statement.reset() }
        var out: [Int64] = []
        while try statement.step() { out.append(statement.int64(0)) }
        return out
    }

    /// Events after `position` that belong to an aggregate (for `verify` and `lag`).
    public func countEvents(after position: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(idColumn) > ?1 AND \(aggregateColumn) IS NOT NULL", [.int(position)]) ?? 0
    }

    /// `created_at` of the first event after `position`, as stored (nil: none, or no such column).
    public func createdAt(firstAfter position: Int64) -> String? {
        guard let statement = try? connection.prepare("SELECT created_at FROM \(table) WHERE \(idColumn) > ?1 ORDER BY \(idColumn) LIMIT 1") else { return nil }
        defer { statement.reset() }
        guard (try? statement.bind([.int(position)])) != nil, (try? statement.step()) == true, !statement.isNull(0) else { return nil }
        return statement.text(0)
    }

    /// A number that changes whenever another connection commits to the file
    /// (`PRAGMA data_version`): the live service polls it to notice new events cheaply.
    public func dataVersion() throws(StoreError) -> Int64 {
        try connection.scalarInt("PRAGMA data_version") ?? 0
    }

    /// SQLite reading every payload without parsing it (`sum(length(payload))`): the cost of one
    /// pass over the table's bytes, the lowest floor there is.
    public func plainScanSeconds() throws(StoreError) -> Double {
        let start = Date()
        _ = try connection.scalarInt("SELECT sum(length(\(quoteIdentifier(layout.payload)))) FROM \(table)")
        return Date().timeIntervalSince(start)
    }

    /// `sum(json_extract(payload, '$.qty'))` over the whole table, in SQLite's own C code: the
    /// floor every rebuild figure is compared with. Returns its wall time in seconds, and
    /// whether the table had malformed JSON (then the query guards each payload with
    /// `json_valid`, since `json_extract` stops at the first malformed one).
    public func jsonScanFloor() throws(StoreError) -> (seconds: Double, guarded: Bool) {
        let payload = quoteIdentifier(layout.payload)
        let start = Date()
        do {
            _ = try connection.scalarInt("SELECT sum(json_extract(\(payload), '$.qty')) FROM \(table)")
            return (Date().timeIntervalSince(start), false)
        } catch {
            let guarded = Date()
            _ = try connection.scalarInt("SELECT sum(CASE WHEN json_valid(\(payload)) THEN json_extract(\(payload), '$.qty') END) FROM \(table)")
            return (Date().timeIntervalSince(guarded), true)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension SQLiteStatement {
    /// The current row of a `columnList` query (id, aggregate, version, class, payload) as the
    /// fold sees it; valid until the next step.
    func eventView() -> EventView {
        EventView(
            position: int64(0), aggregate: bytes(1), version: isNull(2) ? nil : int64(2),
            eventClass: bytes(3), payload: bytes(4))
    }
}
