/// How a rebuild is split: ranges that cover the whole aggregate id space exactly once.
public struct PartitionPlan: Sendable, Equatable {
    public let ranges: [AggregateRange]
    /// Events with an aggregate id (NULL-aggregate rows are never projected).
    public let totalEvents: Int64

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
}
