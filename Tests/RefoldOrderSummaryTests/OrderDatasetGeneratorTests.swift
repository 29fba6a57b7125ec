import RefoldTesting
import Testing

/// The order workload generator: the same seed gives the same events, in a valid shape.
@Suite struct OrderDatasetGeneratorTests {
    @Test func generatorIsDeterministic() {
        let spec = DatasetSpec(size: 500, aggregates: 20, seed: 3, skew: 1, malformed: 5, gaps: 2, nullAggregates: 4)
        let first = Array(DatasetGenerator(spec))
        #expect(first == Array(DatasetGenerator(spec)))
        #expect(first.count == 500)
        #expect(first.filter { $0.aggregate == nil }.count == 4)
        #expect(first != Array(DatasetGenerator(DatasetSpec(size: 500, aggregates: 20, seed: 4))))
        // Every aggregate starts with version 1 and OrderPlaced.
        var seen: Set<String> = []
        for event in first {
            guard let aggregate = event.aggregate else { continue }
            if seen.insert(aggregate).inserted {
                #expect(event.version == 1 && event.eventClass.hasSuffix("OrderPlaced"))
            }
        }
    }
}
