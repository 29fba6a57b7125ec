import RefoldTesting
import Testing

/// The README's "Your own projections" example, exactly: its projection and its test.
@Suite struct ReadmeExampleTests {
    struct ItemCountProjection: Projection {
        let name = "item_count"
        let version = 1

        func apply(_ state: Int64?, _ event: EventView) throws -> Int64? {
            if event.type.equals("OrderPlaced") { return state ?? 0 }
            guard let count = state, event.type.equals("ItemAdded") else { return state }
            return count + 1
        }

        func encode(_ state: Int64, into data: inout [UInt8]) {
            JSONWriter.appendRaw("{\"items_added\":", to: &data)
            JSONWriter.appendInteger(state, to: &data)
            JSONWriter.appendRaw("}", to: &data)
        }
    }

    @Test func countsItemsAndQuarantinesGaps() throws {
        let result = try FoldHarness(ItemCountProjection()).fold([
            TestEvent(version: 1, type: "App\\Events\\OrderPlaced", payload: #"{"customer_id":"c","currency":"EUR"}"#),
            TestEvent(version: 2, type: "App\\Events\\ItemAdded", payload: #"{"sku":"A","qty":1,"price_cents":5}"#),
            TestEvent(aggregate: "order-2", version: 2, type: "App\\Events\\ItemAdded"),
        ])
        #expect(result.row("order-1") == FoldResult.Row(version: 2, json: #"{"items_added":1}"#))
        #expect(result.quarantine("order-2")?.code == .versionGap)
    }
}
