import RefoldCore

/// One event in a test, as plain values (the columns of a `stored_events` row that matter).
public struct TestEvent: Sendable, Equatable {
    public var aggregate: String
    /// nil: a NULL `aggregate_version` (a gap).
    public var version: Int64?
    /// The event class, e.g. `App\Events\ItemAdded` (the type is the text after the last `\`).
    public var type: String
    /// The payload (`event_properties`), JSON text — or anything, to test bad payloads.
    public var payload: String
    /// The global position (`id`); nil numbers events in the order given, from 1.
    public var position: Int64?

    public init(aggregate: String = "order-1", version: Int64?, type: String, payload: String = "{}", position: Int64? = nil) {
        self.aggregate = aggregate
        self.version = version
        self.type = type
        self.payload = payload
        self.position = position
    }
}

/// Given these events, expect these rows and this quarantine: runs a projection through
/// Refold's real fold engine (`AggregateFold`), in the order the event table would deliver
/// the events, with no database.
///
/// ```swift
/// let result = try FoldHarness(ItemCountProjection()).fold([
///     TestEvent(version: 1, type: "App\\Events\\OrderPlaced", payload: #"{"customer_id":"c","currency":"EUR"}"#),
///     TestEvent(version: 2, type: "App\\Events\\ItemAdded", payload: #"{"sku":"A","qty":1,"price_cents":5}"#),
/// ])
/// #expect(result.row("order-1") == FoldResult.Row(version: 2, json: #"{"items_added":1}"#))
/// #expect(result.quarantined.isEmpty)
/// ```
public struct FoldHarness<P: Projection> {
    public let projection: P

    public init(_ projection: P) {
        self.projection = projection
    }

    /// Folds `events` (any order: they are sorted by aggregate, version — NULL first — and
    /// position, as the event source reads them). Throws `ProjectionFailure` when the
    /// projection throws something other than a `DataError`.
    public func fold(_ events: [TestEvent]) throws -> FoldResult {
        let numbered = events.enumerated().map { index, event in
            (event: event, position: event.position ?? Int64(index + 1))
        }
        let ordered = numbered.sorted { a, b in
            let (x, y) = (Array(a.event.aggregate.utf8), Array(b.event.aggregate.utf8))
            if x != y { return x.lexicographicallyPrecedes(y) }
            if a.event.version != b.event.version { return (a.event.version ?? .min) < (b.event.version ?? .min) }
            return a.position < b.position
        }
        let engine = AggregateFold(projection)
        for (event, position) in ordered {
            try event.withView(at: position) { try engine.consume($0) }
        }
        engine.finish()
        let (rows, quarantined) = engine.drain()
        return FoldResult(rows: rows, quarantined: quarantined)
    }

    /// Folds `events` the way a rebuild task reads SQLite: in position order, aggregates
    /// interleaved (`ScanOrderFold`), then the irregular aggregates replayed in (version,
    /// position) order. It must give exactly what `fold` gives; a projection's tests can
    /// compare the two.
    public func foldInTableOrder(_ events: [TestEvent]) throws -> FoldResult {
        let numbered = events.enumerated().map { index, event in
            (event: event, position: event.position ?? Int64(index + 1))
        }
        let engine = AnyProjection(projection).scanFold()
        for (event, position) in numbered.sorted(by: { $0.position < $1.position }) {
            try event.withView(at: position) { try engine.consume($0) }
        }
        let byAggregate = Dictionary(grouping: numbered) { Array($0.event.aggregate.utf8) }
        for aggregate in engine.irregularAggregates {
            let own = (byAggregate[aggregate] ?? []).sorted { a, b in
                if a.event.version != b.event.version { return (a.event.version ?? .min) < (b.event.version ?? .min) }
                return a.position < b.position
            }
            for (event, position) in own {
                try event.withView(at: position) { try engine.consumeOrdered($0) }
            }
        }
        let (rows, quarantined) = engine.drain()
        return FoldResult(rows: rows, quarantined: quarantined)
    }

}

extension TestEvent {
    /// Calls `body` with this event as a fold sees it, at `position`.
    public func withView(at position: Int64, _ body: (EventView) throws -> Void) throws {
        let (aggregate, eventClass, payload) = (Array(aggregate.utf8), Array(type.utf8), Array(payload.utf8))
        try aggregate.withUnsafeBytes { a in
            try eventClass.withUnsafeBytes { c in
                try payload.withUnsafeBytes { p in
                    try body(EventView(position: position, aggregate: a, version: version, eventClass: c, payload: p))
                }
            }
        }
    }
}

/// What a fold produced: rows by aggregate, and quarantined aggregates.
public struct FoldResult: Sendable {
    /// A row as a test compares it: its version and its JSON (key order and spacing ignored).
    public struct Row: Sendable, Equatable, CustomStringConvertible {
        public let version: Int64
        public let json: JSONTree?
        public let text: String

        public init(version: Int64, json text: String) {
            self.version = version
            self.json = try? JSONScanner.parse(Array(text.utf8))
            self.text = text
        }

        /// Equal versions and equal JSON values (not text).
        public static func == (lhs: Row, rhs: Row) -> Bool {
            lhs.version == rhs.version && lhs.json != nil && lhs.json == rhs.json
        }

        public var description: String { "v\(version) \(text)" }
    }

    public let rows: [FoldedRow]
    public let quarantined: [QuarantineRecord]

    public init(rows: [FoldedRow], quarantined: [QuarantineRecord]) {
        self.rows = rows
        self.quarantined = quarantined
    }

    /// The row of `aggregate`, or nil when it has none (never got state, or quarantined before).
    public func row(_ aggregate: String) -> Row? {
        rows.first { $0.aggregate == Array(aggregate.utf8) }.map { Row(version: $0.version, json: String(decoding: $0.data, as: UTF8.self)) }
    }

    /// The quarantine record of `aggregate`, or nil.
    public func quarantine(_ aggregate: String) -> QuarantineRecord? {
        quarantined.first { $0.aggregate == aggregate }
    }
}
