import RefoldTesting
import Testing

@Suite struct OrderSummaryFoldTests {
    static let placed = TestEvent(version: 1, type: "App\\Events\\OrderPlaced", payload: #"{"customer_id":"c1","currency":"EUR"}"#)

    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let events: [(Int64?, String, String)]
        /// Expected row data and version, or nil for no row.
        let row: (String, Int64)?
        /// Expected quarantine (code, version), or nil.
        let quarantine: (QuarantineCode, Int64?)?
        var description: String { name }
    }

    static let base = #"{"status":"placed","customer_id":"c1","currency":"EUR","lines":{},"item_count":0,"total_cents":0,"paid_cents":0}"#
    static func state(status: String = "placed", lines: String = "{}", items: Int = 0, total: Int64 = 0, paid: Int64 = 0) -> String {
        #"{"status":"\#(status)","customer_id":"c1","currency":"EUR","lines":\#(lines),"item_count":\#(items),"total_cents":\#(total),"paid_cents":\#(paid)}"#
    }
    static let place: (Int64?, String, String) = (1, "App\\Events\\OrderPlaced", #"{"customer_id":"c1","currency":"EUR"}"#)

    static let cases: [Case] = [
        Case(name: "placed", events: [place], row: (base, 1), quarantine: nil),
        Case(name: "placed with bare class name", events: [(1, "OrderPlaced", #"{"customer_id":"c1","currency":"EUR"}"#)], row: (base, 1), quarantine: nil),
        Case(name: "empty strings are strings", events: [(1, "X\\OrderPlaced", #"{"customer_id":"","currency":""}"#)],
             row: (#"{"status":"placed","customer_id":"","currency":"","lines":{},"item_count":0,"total_cents":0,"paid_cents":0}"#, 1), quarantine: nil),
        Case(name: "item added twice updates price", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":2,"price_cents":100}"#), (3, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":150}"#)],
             row: (state(lines: #"{"A":{"qty":3,"price_cents":150}}"#, items: 3, total: 350), 3), quarantine: nil),
        Case(name: "item removed partially", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":3,"price_cents":100}"#), (3, "ItemRemoved", #"{"sku":"A","qty":1}"#)],
             row: (state(lines: #"{"A":{"qty":2,"price_cents":100}}"#, items: 2, total: 200), 3), quarantine: nil),
        Case(name: "item removed beyond qty deletes line", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":2,"price_cents":100}"#), (3, "ItemRemoved", #"{"sku":"A","qty":5}"#)],
             row: (state(items: 0, total: 0), 3), quarantine: nil),
        Case(name: "item removed of unknown sku does nothing", events: [place, (2, "ItemRemoved", #"{"sku":"Z","qty":1}"#)],
             row: (base, 2), quarantine: nil),
        Case(name: "removal at the current price after a price change", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":100}"#), (3, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":300}"#), (4, "ItemRemoved", #"{"sku":"A","qty":1}"#)],
             row: (state(lines: #"{"A":{"qty":1,"price_cents":300}}"#, items: 1, total: 100), 4), quarantine: nil),
        Case(name: "paid adds up", events: [place, (2, "OrderPaid", #"{"amount_cents":500}"#), (3, "OrderPaid", #"{"amount_cents":0}"#)],
             row: (state(status: "paid", paid: 500), 3), quarantine: nil),
        Case(name: "shipped", events: [place, (2, "OrderShipped", "{}")], row: (state(status: "shipped"), 2), quarantine: nil),
        Case(name: "cancelled without reason", events: [place, (2, "OrderCancelled", "{}")], row: (state(status: "cancelled"), 2), quarantine: nil),
        Case(name: "cancelled with reason", events: [place, (2, "OrderCancelled", #"{"reason":"x"}"#)], row: (state(status: "cancelled"), 2), quarantine: nil),
        Case(name: "unknown type advances version only", events: [place, (2, "OrderNoteAdded", "not json at all")], row: (base, 2), quarantine: nil),
        Case(name: "unknown type before placed: no row yet", events: [(1, "Misc", "{}"), (2, "OrderPlaced", #"{"customer_id":"c1","currency":"EUR"}"#)], row: (base, 2), quarantine: nil),
        Case(name: "only unknown events: no row", events: [(1, "Misc", "{}")], row: nil, quarantine: nil),
        Case(name: "type is case-sensitive", events: [place, (2, "itemadded", #"{"sku":"A"}"#)], row: (base, 2), quarantine: nil),
        Case(name: "extra fields ignored, duplicate key last wins", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":9,"qty":1,"price_cents":5,"x":[1,{"y":null}]}"#)],
             row: (state(lines: #"{"A":{"qty":1,"price_cents":5}}"#, items: 1, total: 5), 2), quarantine: nil),
        Case(name: "negative total allowed", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":0}"#)],
             row: (state(lines: #"{"A":{"qty":1,"price_cents":0}}"#, items: 1), 2), quarantine: nil),

        // version_gap
        Case(name: "first version must be 1", events: [(2, "OrderPlaced", #"{"customer_id":"c1","currency":"EUR"}"#)], row: nil, quarantine: (.versionGap, 2)),
        Case(name: "skipped version", events: [place, (3, "OrderPaid", #"{"amount_cents":1}"#)], row: (base, 1), quarantine: (.versionGap, 3)),
        Case(name: "NULL version", events: [(nil, "OrderPlaced", #"{"customer_id":"c1","currency":"EUR"}"#)], row: nil, quarantine: (.versionGap, nil)),
        Case(name: "duplicate version", events: [place, (1, "OrderPaid", #"{"amount_cents":1}"#)], row: (base, 1), quarantine: (.versionGap, 1)),
        Case(name: "gap is checked before the payload", events: [place, (3, "ItemAdded", "garbage")], row: (base, 1), quarantine: (.versionGap, 3)),
        Case(name: "nothing after a quarantine is applied", events: [place, (3, "OrderPaid", #"{"amount_cents":1}"#), (4, "OrderPaid", #"{"amount_cents":1}"#)], row: (base, 1), quarantine: (.versionGap, 3)),

        // duplicate_placed / before_placed, decided before the payload is read
        Case(name: "second OrderPlaced", events: [place, (2, "OrderPlaced", #"{"customer_id":"c2","currency":"USD"}"#)], row: (base, 1), quarantine: (.duplicatePlaced, 2)),
        Case(name: "second OrderPlaced with bad payload is duplicate_placed", events: [place, (2, "OrderPlaced", "{")], row: (base, 1), quarantine: (.duplicatePlaced, 2)),
        Case(name: "ItemAdded before placed", events: [(1, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":1}"#)], row: nil, quarantine: (.beforePlaced, 1)),
        Case(name: "shipped before placed with garbage payload", events: [(1, "OrderShipped", "garbage")], row: nil, quarantine: (.beforePlaced, 1)),

        // bad_payload
        Case(name: "placed missing currency", events: [(1, "OrderPlaced", #"{"customer_id":"c1"}"#)], row: nil, quarantine: (.badPayload, 1)),
        Case(name: "placed customer not a string", events: [(1, "OrderPlaced", #"{"customer_id":5,"currency":"EUR"}"#)], row: nil, quarantine: (.badPayload, 1)),
        Case(name: "qty as string", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":"2","price_cents":1}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "qty 3.0", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":3.0,"price_cents":1}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "qty 1e2", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":1e2,"price_cents":1}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "qty true", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":true,"price_cents":1}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "qty 0", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":0,"price_cents":1}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "price 2^63", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":9223372036854775808}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "negative price", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":1,"price_cents":-1}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "removed qty 0", events: [place, (2, "ItemRemoved", #"{"sku":"A","qty":0}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "removed unknown sku still validated", events: [place, (2, "ItemRemoved", #"{"sku":"Z"}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "paid negative", events: [place, (2, "OrderPaid", #"{"amount_cents":-5}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "shipped payload not an object", events: [place, (2, "OrderShipped", "[]")], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "cancelled reason not a string", events: [place, (2, "OrderCancelled", #"{"reason":7}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "NaN", events: [place, (2, "OrderPaid", #"{"amount_cents":NaN}"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "text after the value", events: [place, (2, "OrderPaid", #"{"amount_cents":1} x"#)], row: (base, 1), quarantine: (.badPayload, 2)),
        Case(name: "byte order mark", events: [place, (2, "OrderPaid", "\u{FEFF}{\"amount_cents\":1}")], row: (base, 1), quarantine: (.badPayload, 2)),

        // overflow
        Case(name: "paid overflows", events: [place, (2, "OrderPaid", #"{"amount_cents":9223372036854775807}"#), (3, "OrderPaid", #"{"amount_cents":1}"#)],
             row: (state(status: "paid", paid: Int64.max), 2), quarantine: (.overflow, 3)),
        Case(name: "qty × price overflows", events: [place, (2, "ItemAdded", #"{"sku":"A","qty":4,"price_cents":4611686018427387904}"#)], row: (base, 1), quarantine: (.overflow, 2)),
        Case(name: "bad payload beats overflow", events: [place, (2, "OrderPaid", #"{"amount_cents":9223372036854775807}"#), (3, "OrderPaid", #"{"amount_cents":-1}"#)],
             row: (state(status: "paid", paid: Int64.max), 2), quarantine: (.badPayload, 3)),
    ]

    let harness = FoldHarness(OrderSummaryProjection())

    @Test(arguments: cases)
    func foldCase(_ test: Case) throws {
        let events = test.events.map { TestEvent(version: $0.0, type: $0.1, payload: $0.2) }
        let result = try harness.fold(events)
        let (rows, quarantined) = (result.rows, result.quarantined)
        if let (data, version) = test.row {
            #expect(rows.count == 1)
            #expect(result.row("order-1") == FoldResult.Row(version: version, json: data))
        } else {
            #expect(rows.isEmpty, "expected no row")
        }
        if let (code, version) = test.quarantine {
            #expect(quarantined.count == 1)
            #expect(quarantined.first?.code == code)
            #expect(quarantined.first?.version == version)
            #expect(quarantined.first?.aggregate == "order-1")
            #expect(quarantined.first?.reason.isEmpty == false)
        } else {
            #expect(quarantined.isEmpty, "unexpected quarantine \(quarantined)")
        }
    }

    @Test func aggregatesAreIndependentAndOrdered() throws {
        var events: [TestEvent] = []
        for name in ["a", "b", "c"] {
            events.append(TestEvent(aggregate: name, version: 1, type: "OrderPlaced", payload: #"{"customer_id":"\#(name)","currency":"EUR"}"#))
            events.append(TestEvent(aggregate: name, version: name == "b" ? 3 : 2, type: "OrderPaid", payload: #"{"amount_cents":7}"#))
        }
        let result = try harness.fold(events)
        let (rows, quarantined) = (result.rows, result.quarantined)
        #expect(rows.map { String(decoding: $0.aggregate, as: UTF8.self) } == ["a", "b", "c"])
        #expect(rows.map(\.version) == [2, 1, 2])
        #expect(quarantined.map(\.aggregate) == ["b"])
        #expect(quarantined.first?.position == 4)
        #expect(result.quarantine("b")?.code == .versionGap)
    }

    @Test func theHarnessReadsEventsInTableOrderWhateverOrderTheyAreGiven() throws {
        let shuffled = [
            TestEvent(aggregate: "z", version: 2, type: "OrderPaid", payload: #"{"amount_cents":1}"#),
            TestEvent(aggregate: "a", version: 1, type: "OrderPlaced", payload: #"{"customer_id":"c","currency":"EUR"}"#),
            TestEvent(aggregate: "z", version: 1, type: "OrderPlaced", payload: #"{"customer_id":"c","currency":"EUR"}"#),
        ]
        let result = try harness.fold(shuffled)
        #expect(result.row("z")?.version == 2)
        #expect(result.row("a")?.version == 1)
        #expect(result.row("missing") == nil)
    }

    @Test func rowDataIsCanonicalAndStable() throws {
        let events = [Self.placed, TestEvent(version: 2, type: "ItemAdded", payload: #"{"sku":"b\"q","qty":1,"price_cents":2}"#),
                      TestEvent(version: 3, type: "ItemAdded", payload: #"{"sku":"a\u00e9","qty":1,"price_cents":2}"#)]
        let once = try harness.fold(events).rows
        let twice = try harness.fold(events).rows
        #expect(once == twice)
        let text = String(decoding: once[0].data, as: UTF8.self)
        #expect(text.contains(#""aé":{"qty":1,"price_cents":2},"b\"q":"#))
    }

    /// Skus up to 16 bytes live in a line's packed key and longer ones beside it: lines of every
    /// length, sharing prefixes, removed and added again, come out in byte order and read back.
    @Test func linesOfEverySkuLengthKeepByteOrderAndReadBack() throws {
        let skus = ["", "0123456789abcde", "0123456789abcdef", "0123456789abcdef1", "0123456789abcdef0", "b", "0123456789abcdef0-and-more"]
        var events = [Self.placed]
        for sku in skus {
            events.append(TestEvent(version: Int64(events.count + 1), type: "ItemAdded", payload: #"{"sku":"\#(sku)","qty":3,"price_cents":10}"#))
        }
        events.append(TestEvent(version: Int64(events.count + 1), type: "ItemRemoved", payload: #"{"sku":"0123456789abcdef0","qty":3}"#))
        events.append(TestEvent(version: Int64(events.count + 1), type: "ItemRemoved", payload: #"{"sku":"0123456789abcde","qty":1}"#))
        events.append(TestEvent(version: Int64(events.count + 1), type: "ItemAdded", payload: #"{"sku":"0123456789abcdef0","qty":2,"price_cents":7}"#))
        let folded = try #require(try harness.fold(events).rows.first)
        let row = (text: String(decoding: folded.data, as: UTF8.self), version: folded.version)
        let expected = #"{"":{"qty":3,"price_cents":10},"0123456789abcde":{"qty":2,"price_cents":10},"0123456789abcdef":{"qty":3,"price_cents":10},"0123456789abcdef0":{"qty":2,"price_cents":7},"0123456789abcdef0-and-more":{"qty":3,"price_cents":10},"0123456789abcdef1":{"qty":3,"price_cents":10},"b":{"qty":3,"price_cents":10}}"#
        #expect(row.text.contains(#""lines":"# + expected), "\(row.text)")
        #expect(row.text.contains(#""item_count":19,"total_cents":184"#), "\(row.text)")
        let projection = OrderSummaryProjection()
        let state = try #require(projection.decode(Array(row.text.utf8)))
        var again: [UInt8] = []
        projection.encode(state, into: &again)
        #expect(String(decoding: again, as: UTF8.self) == row.text)
        #expect(state.lines.count == 7)
        let line = state.lines[.init(Array("0123456789abcdef0".utf8))]
        #expect(line?.qty == 2 && line?.priceCents == 7)
        #expect(state.lines[.init(Array("0123456789abcdef2".utf8))] == nil)
    }
}
