import RefoldCore
import Testing

@Suite struct PartitionPlanTests {
    func ids(_ names: [String]) -> [[UInt8]] { names.map { Array($0.utf8) } }

    @Test func rangesCoverEveryIdExactlyOnce() {
        let plan = PartitionPlan.fromSamples([(Array("c".utf8), 10), (Array("f".utf8), 20), (Array("f".utf8), 30), (Array("k".utf8), 40)], total: 50)
        #expect(plan.ranges.count == 4)  // the repeated "f" collapses
        #expect(plan.ranges.first?.lower == nil)
        #expect(plan.ranges.last?.upper == nil)
        for pair in zip(plan.ranges, plan.ranges.dropFirst()) { #expect(pair.0.upper == pair.1.lower) }
        for id in ids(["", "a", "c", "cz", "f", "g", "k", "zzz", "\u{FF}"]) {
            #expect(plan.ranges.filter { $0.contains(id) }.count == 1, "\(id) must be in exactly one range")
        }
        #expect(plan.ranges.map(\.estimatedEvents).reduce(0, +) == 50)
    }

    @Test func oneRangeWithoutSamples() {
        let plan = PartitionPlan.fromSamples([], total: 7)
        #expect(plan.ranges == [AggregateRange(lower: nil, upper: nil, estimatedEvents: 7)])
    }

    @Test func specRoundTripsAnyBytes() {
        let range = AggregateRange(lower: [0, 0xFF, 0x41], upper: nil, estimatedEvents: 12)
        #expect(AggregateRange(spec: range.spec) == range)
        #expect(AggregateRange(spec: "nonsense") == nil)
    }

    @Test func statistics() {
        #expect(Statistics.median([3, 1, 2]) == 2)
        #expect(Statistics.median([4, 1, 2, 3]) == 2.5)
        #expect(Statistics.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10)
        #expect(Statistics.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5)
        #expect(Statistics.percentile([], 50) == 0)
    }
}
