import RefoldOrderSummary
import RefoldTesting
import Testing

/// The table-order fold (what rebuild tasks run on SQLite) against the ordered fold (the
/// contract's definition): the same rows and the same quarantine records, on the contract's
/// cases and on random streams full of out-of-order, repeated, missing and NULL versions.
@Suite struct ScanOrderFoldTests {
    let harness = FoldHarness(OrderSummaryProjection())

    static func same(_ a: FoldResult, _ b: FoldResult) -> Bool {
        a.rows == b.rows && a.quarantined == b.quarantined
    }

    @Test(arguments: OrderSummaryFoldTests.cases)
    func everyContractCaseFoldsTheSameInTableOrder(_ test: OrderSummaryFoldTests.Case) throws {
        let events = test.events.map { TestEvent(version: $0.0, type: $0.1, payload: $0.2) }
        let ordered = try harness.fold(events)
        let scanned = try harness.foldInTableOrder(events)
        #expect(Self.same(ordered, scanned), "ordered \(ordered.rows) \(ordered.quarantined) vs table order \(scanned.rows) \(scanned.quarantined)")
    }

    /// 200 random tables of 40 interleaved orders: versions mostly regular, some positions
    /// swapped, duplicated, skipped or NULL, some payloads broken.
    @Test func randomNastyTablesFoldTheSameInTableOrder() throws {
        var random = SeededRandom(seed: 15)
        let skus = ["A", "B", "C", "a-long-sku-of-more-than-16-bytes-1", "a-long-sku-of-more-than-16-bytes-2"]
        var irregularSeen = 0
        var quarantinesSeen = 0
        for _ in 0..<200 {
            var events: [TestEvent] = []
            for order in 0..<40 {
                let name = "order-\(order % 7 == 0 ? "x" : "")\(order)"
                let count = Int.random(in: 1...12, using: &random)
                var versions: [Int64?] = (1...count).map { Int64($0) }
                switch Int.random(in: 0..<12, using: &random) {
                case 0 where count > 2: versions.swapAt(1, 2)  // out of position order
                case 1: versions.append(versions.last!)  // a repeated version, later
                case 2 where count > 1: versions.remove(at: count / 2)  // a gap
                case 3: versions[Int.random(in: 0..<versions.count, using: &random)] = nil
                case 4 where count > 1: versions.insert(1, at: count - 1)  // a late duplicate of 1
                default: break
                }
                for (index, version) in versions.enumerated() {
                    let (type, payload): (String, String)
                    if index == 0 {
                        (type, payload) = ("App\\Events\\OrderPlaced", #"{"customer_id":"c\#(order)","currency":"EUR"}"#)
                    } else {
                        let sku = skus[Int.random(in: 0..<skus.count, using: &random)]
                        switch Int.random(in: 0..<10, using: &random) {
                        case 0: (type, payload) = ("ItemRemoved", #"{"sku":"\#(sku)","qty":1}"#)
                        case 1: (type, payload) = ("OrderPaid", #"{"amount_cents":\#(Int.random(in: 0...900, using: &random))}"#)
                        case 2: (type, payload) = ("ItemAdded", "{broken")
                        case 3: (type, payload) = ("OrderPlaced", #"{"customer_id":"again","currency":"EUR"}"#)
                        default: (type, payload) = ("ItemAdded", #"{"sku":"\#(sku)","qty":\#(Int.random(in: 1...3, using: &random)),"price_cents":\#(Int.random(in: 0...500, using: &random))}"#)
                        }
                    }
                    events.append(TestEvent(aggregate: name, version: version, type: type, payload: payload))
                }
            }
            // Interleave the orders as an application would write them: a random merge that keeps
            // each order's own sequence.
            var queues = Array(Dictionary(grouping: events, by: \.aggregate).sorted { $0.key < $1.key }.map { ArraySlice($0.value) })
            var table: [TestEvent] = []
            while !queues.isEmpty {
                let pick = Int.random(in: 0..<queues.count, using: &random)
                table.append(queues[pick].removeFirst())
                if queues[pick].isEmpty { queues.remove(at: pick) }
            }
            let ordered = try harness.fold(table)
            let scanned = try harness.foldInTableOrder(table)
            #expect(Self.same(ordered, scanned))
            quarantinesSeen += ordered.quarantined.count
            let engine = AnyProjection(OrderSummaryProjection()).scanFold()
            irregularSeen += try countIrregular(table, engine)
        }
        // The streams really exercised both paths.
        #expect(irregularSeen > 600)
        #expect(quarantinesSeen > 600)
    }

    private func countIrregular(_ table: [TestEvent], _ engine: any ScanFold) throws -> Int {
        for (index, event) in table.enumerated() {
            try event.withView(at: Int64(index + 1)) { try engine.consume($0) }
        }
        let irregular = engine.irregularAggregates.count
        // A claim's split between its tasks reads the counts after the rows are drained.
        _ = engine.drain()
        #expect(engine.eventsConsumed == table.count)
        let expected = Dictionary(grouping: table, by: \.aggregate).mapValues(\.count)
        let counted = engine.eventsPerAggregate()
        #expect(counted.count == expected.count)
        for (aggregate, events) in counted {
            #expect(expected[String(decoding: aggregate, as: UTF8.self)] == events)
        }
        return irregular
    }

    @Test func theInternerNumbersIdsDenselyAndFindsThemAgain() {
        var interner = AggregateInterner(capacity: 4)
        var numbers: [String: Int] = [:]
        for index in 0..<5000 {
            let id = "aggregate-\(index % 2500)-\(String(repeating: "x", count: index % 40))"
            let (number, isNew) = Array(id.utf8).withUnsafeBytes { interner.intern($0) }
            if let known = numbers[id] {
                #expect(number == known && !isNew)
            } else {
                #expect(isNew && number == numbers.count)
                numbers[id] = number
            }
        }
        #expect(interner.count == numbers.count)
        for (id, number) in numbers { #expect(interner.bytes(number) == Array(id.utf8)) }
        let (empty, isNew) = [UInt8]().withUnsafeBytes { interner.intern($0) }
        #expect(isNew && interner.bytes(empty).isEmpty)
    }
}
