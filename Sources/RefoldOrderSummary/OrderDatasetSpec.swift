import RefoldCore

/// Describes a dataset: `refold generate`'s options.
public struct DatasetSpec: Sendable, Equatable {
    /// Total events, NULL-aggregate rows included.
    public var size: Int
    public var aggregates: Int
    public var seed: UInt64
    /// Zipf exponent of events per aggregate: 0 is uniform, 1 is strongly skewed.
    public var skew: Double
    /// Handled events whose payload is made invalid.
    public var malformed: Int
    /// Aggregates with a skipped version.
    public var gaps: Int
    /// Rows with a NULL aggregate (not projected).
    public var nullAggregates: Int

    public init(size: Int, aggregates: Int, seed: UInt64 = 1, skew: Double = 0, malformed: Int = 0, gaps: Int = 0, nullAggregates: Int = 0) {
        self.size = size
        self.aggregates = aggregates
        self.seed = seed
        self.skew = skew
        self.malformed = malformed
        self.gaps = gaps
        self.nullAggregates = nullAggregates
    }
}
