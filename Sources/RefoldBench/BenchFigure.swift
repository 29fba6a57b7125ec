import RefoldCore

/// One measured figure over repeats: medians are reported, with min and max.
public struct BenchFigure: Sendable, Equatable {
    public let name: String
    public let samples: [Double]

    public init(name: String, samples: [Double]) {
        self.name = name
        self.samples = samples
    }

    public var median: Double { Statistics.median(samples) }
    public var min: Double { samples.min() ?? 0 }
    public var max: Double { samples.max() ?? 0 }
}
