/// How a rebuild is split: ranges that cover the whole aggregate id space exactly once.
public struct PartitionPlan: Sendable, Equatable {
    public let ranges: [AggregateRange]
    /// Events with an aggregate id (NULL-aggregate rows are never projected).
    public let totalEvents: Int64
    /// True when each range's `estimatedEvents` is its exact count of events with an aggregate
    /// at planning time, as the reader selects them (SQLite counts them from the index).
    public var countsAreExact = false
    /// Distinct aggregates in the table, when the source counted or estimated them while
    /// planning (SQLite estimates them from its samples): it sizes tasks and claims for memory,
    /// never a count anything is checked against.
    public var aggregates: Int64?

    public init(ranges: [AggregateRange], totalEvents: Int64) {
        self.ranges = ranges
        self.totalEvents = totalEvents
    }

    /// Builds ranges from sampled boundaries: `samples` are (aggregate id, events before it)
    /// pairs in id order, taken every `total / tasks` events of the index. Boundaries that
    /// repeat (one aggregate bigger than a share: it cannot be split without breaking its
    /// order) collapse, so the plan may have fewer ranges than asked. The first range starts
    /// open and the last ends open, so together they cover every id exactly once.
    public static func fromSamples(_ samples: [(id: [UInt8], before: Int64)], total: Int64) -> PartitionPlan {
        var boundaries: [(id: [UInt8], before: Int64)] = []
        for sample in samples where sample.before > 0 {
            if let last = boundaries.last, !last.id.lexicographicallyPrecedes(sample.id) { continue }
            boundaries.append(sample)
        }
        var ranges: [AggregateRange] = []
        var lower: [UInt8]?
        var start: Int64 = 0
        for boundary in boundaries {
            ranges.append(AggregateRange(lower: lower, upper: boundary.id, estimatedEvents: boundary.before - start))
            lower = boundary.id
            start = boundary.before
        }
        ranges.append(AggregateRange(lower: lower, upper: nil, estimatedEvents: max(0, total - start)))
        return PartitionPlan(ranges: ranges, totalEvents: total)
    }

    /// Splits sorted, weighted ids into about `tasks` ranges of near-equal weight that cover
    /// the whole id space (the first starts open, the last ends open); each range's
    /// `estimatedEvents` is the exact sum of its ids' weights.
    public static func fromWeights(_ weights: [(id: [UInt8], events: Int64)], tasks: Int) -> PartitionPlan {
        let total = weights.reduce(0) { $0 + $1.events }
        let share = max(1, (total + Int64(max(tasks, 1)) - 1) / Int64(max(tasks, 1)))
        var ranges: [AggregateRange] = []
        var lower: [UInt8]?
        var inRange: Int64 = 0
        for (index, entry) in weights.enumerated() {
            if inRange >= share, index > 0 {
                ranges.append(AggregateRange(lower: lower, upper: entry.id, estimatedEvents: inRange))
                lower = entry.id
                inRange = 0
            }
            inRange += entry.events
        }
        ranges.append(AggregateRange(lower: lower, upper: nil, estimatedEvents: inRange))
        return PartitionPlan(ranges: ranges, totalEvents: total)
    }
}
