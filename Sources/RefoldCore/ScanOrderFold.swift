/// A fold that takes a range's events in **table order** (by position, aggregates
/// interleaved) and still produces exactly what the ordered fold (`AggregateFold`) produces.
///
/// Reading an event table in its own order is about ten times cheaper than walking the
/// `(aggregate_uuid, aggregate_version)` index, which is what the ordered fold needs. The price
/// is one state per aggregate held at once instead of one.
///
/// **Why the result is exact.** An aggregate whose versions run 1, 2, 3 … in position order
/// (a *regular* one, nearly all of them) has the same event sequence in position order as in
/// (version, position) order, so folding it as events arrive is the ordered fold, data errors
/// and quarantines included. The first event that breaks that run (a NULL, repeated, skipped or
/// out-of-order version, even after a quarantine) makes the aggregate *irregular*: its state is
/// dropped, its later events are only counted, and after the scan the reader replays it from the
/// index in (version, position) order through `consumeOrdered`, the ordered fold's own code.
public protocol ScanFold: AnyObject {
    /// Folds one event; within an aggregate, events must arrive in position order.
    /// Throws only what is not a data error.
    func consume(_ event: EventView) throws
    /// Folds every event `cursor` gives until it returns nil: the hot loop, specialized for
    /// the projection when the fold comes from `AnyProjection.scanFold` (a call through this
    /// protocol per event could not be).
    func consume(from cursor: any EventCursor) throws
    /// Aggregates to replay in (version, position) order through `consumeOrdered`, sorted.
    var irregularAggregates: [[UInt8]] { get }
    /// The exact path for irregular aggregates: their events grouped by aggregate, in
    /// (version, position) order. Not counted in `eventsConsumed` (they were, by `consume`).
    func consumeOrdered(_ event: EventView) throws
    /// The rows and quarantine records, each sorted by aggregate. Call once, at the end.
    func drain() -> (rows: [FoldedRow], quarantined: [QuarantineRecord])
    /// Events consumed by `consume`.
    var eventsConsumed: Int { get }
    /// Distinct aggregates seen.
    var aggregatesSeen: Int { get }
    /// Any quarantine so far (strict mode stops on one).
    var firstQuarantine: QuarantineRecord? { get }
    /// Events consumed per aggregate, sorted by aggregate (to split one pass between tasks).
    func eventsPerAggregate() -> [(aggregate: [UInt8], events: Int)]
}

/// Where a table-order read comes from: the next event, or nil at the end of a stretch.
/// The view is valid until the next call.
public protocol EventCursor: AnyObject {
    func next() throws -> EventView?
}

public final class ScanOrderFold<P: Projection>: ScanFold {
    @usableFromInline enum Status: UInt8 { case folding, quarantined, irregular }

    @usableFromInline let projection: P
    @usableFromInline var interner: AggregateInterner
    /// Per aggregate, indexed by the interner's number: what the fold needs for one event sits
    /// together, so an event touches one entry (one cache line, mostly) besides its state's own.
    @usableFromInline struct Entry {
        /// Events seen. While the aggregate is regular this is also the version of its last
        /// event, and of its row unless quarantined (then the row is at the quarantined event's
        /// version − 1).
        @usableFromInline var seen: Int64
        @usableFromInline var status: Status
        @usableFromInline var state: P.State?

        @inlinable init() {
            seen = 0
            status = .folding
            state = nil
        }
    }
    @usableFromInline var entries: [Entry] = []
    @usableFromInline var quarantines: [Int: QuarantineRecord] = [:]
    @usableFromInline var irregular: [Int] = []
    @usableFromInline let ordered: AggregateFold<P>
    public var eventsConsumed: Int { Int(entries.reduce(0) { $0 + $1.seen }) }

    @inlinable
    public init(_ projection: P, expectedAggregates: Int = 1024) {
        self.projection = projection
        interner = AggregateInterner(capacity: expectedAggregates)
        ordered = AggregateFold(projection)
        entries.reserveCapacity(expectedAggregates)
    }

    @inlinable
    public var aggregatesSeen: Int { interner.count }

    @inlinable
    public var firstQuarantine: QuarantineRecord? {
        quarantines.values.min { $0.position < $1.position } ?? ordered.firstQuarantine
    }

    @inlinable
    public var irregularAggregates: [[UInt8]] {
        irregular.map { interner.bytes($0) }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @inlinable
    public func consume(_ event: EventView) throws {
        try consume(event, interner: &interner, entries: &entries)
    }

    /// One event against the given interner and entries: `consume(_:)` passes the fold's
    /// own; the batch loop (`consumeBatch`) passes locals it moved out of the fold, so the hot
    /// loop touches no class property (each access to one is a runtime exclusivity check).
    @inlinable @inline(__always)
    func consume(_ event: EventView, interner: inout AggregateInterner, entries: inout [Entry]) throws {
        let (index, isNew) = interner.intern(event.aggregate)
        if isNew { entries.append(Entry()) }
        try entries.withUnsafeMutableBufferPointer { entries in
            let current = entries[index].status
            if current == .irregular {
                entries[index].seen += 1
                return
            }
            // Regular means each event's version is the count of events seen so far, plus one.
            let regular = event.version == entries[index].seen + 1
            entries[index].seen += 1
            guard regular else {
                entries[index].status = .irregular
                entries[index].state = nil
                quarantines[index] = nil
                irregular.append(index)
                return
            }
            if current == .quarantined { return }
            do {
                try projection.apply(&entries[index].state, event)
            } catch let error as DataError {
                // The row keeps the last good state (at the version before this event).
                entries[index].status = .quarantined
                quarantines[index] = QuarantineRecord(event: event, error: error)
            } catch {
                throw ProjectionFailure(
                    projection: projection.name, aggregate: event.aggregateID, version: event.version,
                    position: event.position, underlying: "\(error)")
            }
        }
    }

    /// Every event `cursor` gives, with the interner and the entries moved into locals for
    /// the batch (and back, even when a step throws). Meanwhile the fold's own interner and
    /// entries are empty stand-ins: `aggregatesSeen`, `eventsConsumed` and the rest are read
    /// between batches (as `readInTableOrder` does), never from inside the cursor.
    @inlinable
    public func consumeBatch(from cursor: any EventCursor) throws {
        var interner = self.interner
        var entries = self.entries
        // Unique locals: the fold's own copies are dropped meanwhile, so nothing is copied
        // on write (`AggregateInterner.placeholder` allocates nothing).
        self.interner = .placeholder
        self.entries = []
        defer {
            self.interner = interner
            self.entries = entries
        }
        while let event = try cursor.next() { try consume(event, interner: &interner, entries: &entries) }
    }

    /// Set by `AnyProjection.scanFold` to a loop compiled for the concrete `P`.
    @usableFromInline var feeder: ((any EventCursor) throws -> Void)?

    @inlinable
    public func consume(from cursor: any EventCursor) throws {
        if let feeder { return try feeder(cursor) }
        while let event = try cursor.next() { try consume(event) }
    }

    @inlinable
    public func consumeOrdered(_ event: EventView) throws {
        try ordered.consume(event)
    }

    public func eventsPerAggregate() -> [(aggregate: [UInt8], events: Int)] {
        entries.indices.map { (interner.bytes($0), Int(entries[$0].seen)) }.sorted { $0.aggregate.lexicographicallyPrecedes($1.aggregate) }
    }

    @inlinable
    public func drain() -> (rows: [FoldedRow], quarantined: [QuarantineRecord]) {
        ordered.finish()
        let (orderedRows, orderedQuarantines) = ordered.drain()
        var rows: [FoldedRow] = []
        rows.reserveCapacity(entries.count)
        for index in entries.indices where entries[index].status != .irregular {
            guard let state = entries[index].state else { continue }
            var data: [UInt8] = []
            data.reserveCapacity(128)
            projection.encode(state, into: &data)
            let version = entries[index].status == .quarantined ? quarantines[index]!.version! - 1 : entries[index].seen
            rows.append(FoldedRow(aggregate: interner.bytes(index), data: data, version: version))
        }
        rows.append(contentsOf: orderedRows)
        rows.sort { $0.aggregate.lexicographicallyPrecedes($1.aggregate) }
        var records = Array(quarantines.values) + orderedQuarantines
        records.sort { $0.aggregate.utf8.lexicographicallyPrecedes($1.aggregate.utf8) }
        // The states go; the counts stay (`eventsConsumed`, `eventsPerAggregate` come after).
        for index in entries.indices { entries[index].state = nil }
        quarantines = [:]
        return (rows, records)
    }
}
