import RefoldCore

/// A ratio measured within one run (so it holds on noisy machines), and which way is better.
public struct BenchRatio: Sendable, Equatable {
    public let name: String
    public let value: Double
    public let higherIsBetter: Bool

    public init(name: String, value: Double, higherIsBetter: Bool) {
        self.name = name
        self.value = value
        self.higherIsBetter = higherIsBetter
    }
}
