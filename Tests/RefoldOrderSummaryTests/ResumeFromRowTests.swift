import RefoldTesting
import Testing

/// A catch-up continues an aggregate from its row (Projection.decode) or refolds it from its
/// first event: both give the same rows.
@Suite struct ResumeFromRowTests {
    @Test(arguments: [0.0, 1.0])
    func resumingFromTheRowEqualsRefoldingFromTheFirstEvent(skew: Double) throws {
        let projection = AnyProjection(OrderSummaryProjection())
        let events = Array(DatasetGenerator(DatasetSpec(size: 6000, aggregates: 150, seed: 5, skew: skew)))
        let byAggregate = Dictionary(grouping: events.enumerated().filter { $0.element.aggregate != nil }, by: { $0.element.aggregate! })
        var compared = 0
        for (aggregate, numbered) in byAggregate {
            let stored = numbered.map { index, event in
                StoredEvent(position: Int64(index + 1), aggregate: Array(aggregate.utf8), version: event.version,
                            eventClass: Array(event.eventClass.utf8), payload: Array(event.payload.utf8))
            }.sorted(by: StoredEvent.versionOrder)
            let whole = projection.stepper(aggregate: Array(aggregate.utf8))
            for event in stored { try event.withView { try whole.apply($0) } }
            // Stop half-way, write the row, read it back, go on.
            let half = projection.stepper(aggregate: Array(aggregate.utf8))
            for event in stored.prefix(stored.count / 2) { try event.withView { try half.apply($0) } }
            guard let row = half.row(), half.quarantine == nil else { continue }
            let resumed = try #require(projection.stepper(aggregate: row.aggregate, resumingFrom: row.data, version: row.version))
            for event in stored.dropFirst(stored.count / 2) { try event.withView { try resumed.apply($0) } }
            #expect(resumed.row() == whole.row(), "\(aggregate)")
            #expect(resumed.quarantine == whole.quarantine)
            compared += 1
        }
        #expect(compared > 100)
    }

    @Test func aRowThatIsNotOrderSummarysIsNotReadBack() {
        let projection = OrderSummaryProjection()
        #expect(projection.decode(Array("{}".utf8)) == nil)
        #expect(projection.decode(Array(#"{"status":"lost","customer_id":"c","currency":"E","lines":{},"item_count":0,"total_cents":0,"paid_cents":0}"#.utf8)) == nil)
        #expect(projection.decode(Array("not json".utf8)) == nil)
    }
}
