import Foundation
import RefoldCore

/// An event table Refold reads: SQLite (`SQLiteEventSource`) or PostgreSQL
/// (`PostgresEventSource`). Every method reads; none writes. The runners (rebuild, catch-up,
/// the live service, verify) are written against this protocol only.
///
/// Order everywhere: aggregate ids compare byte for byte (a PostgreSQL `uuid` column compares
/// its 16 bytes, the same order as its lowercase text).
public protocol EventSource: AnyObject {
    /// Where the events are, for messages and for job payloads: a path, or a URL without
    /// its password.
    var location: String { get }
    var layout: EventTableLayout { get }

    /// The highest position now: a rebuild folds up to this and no further.
    func headPosition() throws(StoreError) -> Int64
    /// About `tasks` aggregate ranges of near-equal event counts, from the aggregate index.
    func plan(tasks: Int) throws(StoreError) -> PartitionPlan
    /// The same, with more ranges when one would hold more than `aggregatesPerTask` aggregates
    /// (sources that can count them cheaply; others ignore it).
    func plan(tasks: Int, aggregatesPerTask: Int64?) throws(StoreError) -> PartitionPlan
    /// Events of `range` with position ≤ `head` (exactly what `read` folds).
    func countEvents(range: AggregateRange, head: Int64) throws(StoreError) -> Int64
    /// Streams the events of `range` with position ≤ `head` into `fold`, grouped by aggregate
    /// in (version, position) order. `keepGoing(eventsSoFar)` is asked every few thousand
    /// events (false throws `.stopped`); `afterChunk` runs between chunks, with no read open.
    func read(
        range: AggregateRange, head: Int64, into fold: any EventFold, chunkEvents: Int,
        keepGoing: (Int) -> Bool, afterChunk: () throws(StoreError) -> Void
    ) throws -> Int

    /// Events with `after` < position ≤ `through` that belong to an aggregate, in position order.
    func events(after: Int64, through: Int64, chunk: Int) throws(StoreError) -> [StoredEvent]
    /// The same, restricted to the aggregates of `range` (one forked catch-up task).
    func events(after: Int64, through: Int64, range: AggregateRange) throws(StoreError) -> [StoredEvent]
    /// Every event of one aggregate with version ≥ `fromVersion` (or NULL), in version order.
    func events(ofAggregate aggregate: [UInt8], fromVersion: Int64) throws(StoreError) -> [StoredEvent]
    /// The aggregates with events in (`after`, `through`] and how many each has, in id order.
    func deltaAggregates(after: Int64, through: Int64) throws(StoreError) -> [(aggregate: [UInt8], events: Int64)]
    /// Events in (`after`, `through`] that belong to an aggregate.
    func countEvents(after: Int64, through: Int64) throws(StoreError) -> Int64
    /// The events at these positions that exist now and belong to an aggregate.
    func events(at positions: [Int64]) throws(StoreError) -> [StoredEvent]
    /// Which of these positions exist now (whatever their aggregate).
    func present(_ positions: [Int64]) throws(StoreError) -> Set<Int64>
    /// The positions present in (`after`, `through`], in order.
    func positions(after: Int64, through: Int64) throws(StoreError) -> [Int64]
    /// Events after `position` that belong to an aggregate (for `verify` and `lag`).
    func countEvents(after position: Int64) throws(StoreError) -> Int64
    /// `created_at` of the first event after `position`, as text (nil: none, or no such column).
    func createdAt(firstAfter position: Int64) -> String?
    /// A number that changes when new events may have been committed: the live service polls
    /// it to notice new events cheaply (SQLite: `PRAGMA data_version`; PostgreSQL: the table's
    /// insert counter plus any notification of Refold's optional trigger).
    func dataVersion() throws(StoreError) -> Int64
    /// The database's own scan of every payload (`sum` of `qty`), the floor every rebuild figure
    /// is compared with: its wall time, and whether malformed payloads had to be guarded.
    func jsonScanFloor() throws(StoreError) -> (seconds: Double, guarded: Bool)

    /// How the live service learns of new commits, in words for its log ("polling", or the
    /// notification channel it listens on).
    var wakeUp: String { get }
    /// Waits up to `seconds` for new events to be committed; returns early when the database
    /// says so (PostgreSQL with Refold's optional trigger), else after `seconds`.
    func waitForNewEvents(upTo seconds: Double)
    /// True when `waitForNewEvents` returns on commit, so the live service may wait long.
    var wakesOnCommit: Bool { get }

    /// Streams the events of `range` with position ≤ `head` into `fold` in **table order**
    /// (much cheaper than the index walk of `read`), then replays the fold's irregular
    /// aggregates in (version, position) order. Returns the events read, or nil when this
    /// source cannot read in table order (then `read` is the way); nil is decided before
    /// anything is consumed. `keepGoing` and `afterChunk` as for `read`.
    func readInTableOrder(
        range: AggregateRange, head: Int64, into fold: any ScanFold,
        keepGoing: (Int) -> Bool, afterChunk: () throws(StoreError) -> Void
    ) throws -> Int?
}

extension EventSource {
    public func plan(tasks: Int, aggregatesPerTask: Int64?) throws(StoreError) -> PartitionPlan {
        try plan(tasks: tasks)
    }

    public func readInTableOrder(
        range: AggregateRange, head: Int64, into fold: any ScanFold,
        keepGoing: (Int) -> Bool, afterChunk: () throws(StoreError) -> Void
    ) throws -> Int? { nil }

    public var wakeUp: String { "polling" }
    public var wakesOnCommit: Bool { false }
    public func waitForNewEvents(upTo seconds: Double) {
        Thread.sleep(forTimeInterval: seconds)
    }

    public func read(
        range: AggregateRange, head: Int64, into fold: any EventFold, chunkEvents: Int = 50_000,
        keepGoing: (Int) -> Bool = { _ in true }, afterChunk: () throws(StoreError) -> Void = {}
    ) throws -> Int {
        try read(range: range, head: head, into: fold, chunkEvents: chunkEvents, keepGoing: keepGoing, afterChunk: afterChunk)
    }

    public func events(after: Int64, through: Int64) throws(StoreError) -> [StoredEvent] {
        try events(after: after, through: through, chunk: 20_000)
    }

    public func events(ofAggregate aggregate: [UInt8]) throws(StoreError) -> [StoredEvent] {
        try events(ofAggregate: aggregate, fromVersion: 1)
    }
}
