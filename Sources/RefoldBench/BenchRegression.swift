import RefoldCore

/// A ratio that got worse than the baseline by more than the tolerance.
public struct BenchRegression: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let baseline: Double
    public let current: Double
    public let higherIsBetter: Bool

    /// The relative change towards worse (0.2 = 20 % worse).
    public var worseBy: Double {
        guard baseline != 0 else { return 0 }
        return higherIsBetter ? (baseline - current) / baseline : (current - baseline) / baseline
    }

    public var description: String {
        "\(name): \(format(current)) vs baseline \(format(baseline)) (\(Int((worseBy * 100).rounded()))% worse; \(higherIsBetter ? "higher" : "lower") is better)"
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
