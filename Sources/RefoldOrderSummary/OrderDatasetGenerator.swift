import RefoldCore

/// Produces a realistic, deterministic order workload: orders are placed, items added and
/// removed, paid, shipped, cancelled, with unknown event types mixed in, namespaced classes,
/// events of different orders interleaved as in a live application, and the defects asked for.
public struct DatasetGenerator: Sequence, IteratorProtocol {
    private var random: SeededRandom
    private let ids: [String]
    private var order: [Int32]
    private var cursor = 0
    private var versions: [Int64]
    private var gapAt: [Int32: Int64] = [:]
    private var malformedLeft: Int
    private var malformedEvery: Int
    private var nextMalformed: Int
    private var nullLeft: Int
    private var nullEvery: Int
    private var emitted = 0
    public let spec: DatasetSpec

    public init(_ spec: DatasetSpec) {
        self.spec = spec
        random = SeededRandom(seed: spec.seed)
        let aggregateCount = Swift.max(1, spec.aggregates)
        var made: [String] = []
        made.reserveCapacity(aggregateCount)
        for _ in 0..<aggregateCount { made.append(Self.uuid(&random)) }
        let nonNull = Swift.max(0, spec.size - spec.nullAggregates)
        // Events per aggregate: Zipf weights over a random permutation of the aggregates.
        var weights = (0..<aggregateCount).map { 1 / pow(Double($0 + 1), spec.skew) }
        weights.shuffle(using: &random)
        let sum = weights.reduce(0, +)
        var counts = weights.map { Int(Double(nonNull) * $0 / sum) }
        var assigned = counts.reduce(0, +)
        var index = 0
        while assigned < nonNull {
            counts[index % aggregateCount] += 1
            assigned += 1
            index += 1
        }
        var sequence: [Int32] = []
        sequence.reserveCapacity(nonNull)
        for (aggregate, count) in counts.enumerated() {
            for _ in 0..<count { sequence.append(Int32(aggregate)) }
        }
        sequence.shuffle(using: &random)
        order = sequence
        versions = Array(repeating: 0, count: aggregateCount)
        // Gaps: chosen aggregates with ≥ 3 events skip the version after their second event.
        let candidates = counts.indices.filter { counts[$0] >= 3 }.shuffled(using: &random)
        for aggregate in candidates.prefix(spec.gaps) { gapAt[Int32(aggregate)] = 2 }
        malformedLeft = spec.malformed
        malformedEvery = spec.malformed > 0 ? Swift.max(2, nonNull / (spec.malformed + 1)) : .max
        nextMalformed = malformedEvery
        nullLeft = spec.nullAggregates
        nullEvery = spec.nullAggregates > 0 ? Swift.max(1, spec.size / (spec.nullAggregates + 1)) : .max
        ids = made
    }

    static func uuid(_ random: inout SeededRandom) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(36)
        for position in 0..<32 {
            if position == 8 || position == 12 || position == 16 || position == 20 { out.append("-") }
            var nibble = Int(random.next() & 0xF)
            if position == 12 { nibble = 4 }
            if position == 16 { nibble = 8 | (nibble & 3) }
            out.append(digits[nibble])
        }
        return out
    }

    static func namespaced(_ type: String, _ random: inout SeededRandom) -> String {
        switch random.next() % 20 {
        case 0..<16: return "App\\Events\\" + type
        case 16..<19: return "App\\Domain\\Orders\\Events\\" + type
        default: return type
        }
    }

    public mutating func next() -> NewEvent? {
        guard emitted < spec.size else { return nil }
        emitted += 1
        if nullLeft > 0, (emitted % nullEvery == 0 || cursor >= order.count) {
            nullLeft -= 1
            return NewEvent(aggregate: nil, version: nil, eventClass: "App\\Events\\SystemTick", payload: #"{"tick":\#(emitted)}"#, metaData: "{}")
        }
        guard cursor < order.count else {
            emitted = spec.size
            return nil
        }
        let aggregate = order[cursor]
        cursor += 1
        var version = versions[Int(aggregate)] + 1
        if let gap = gapAt[aggregate], version == gap + 1 {
            version += 1  // skip one version: a gap the fold must catch
            gapAt[aggregate] = nil
        }
        versions[Int(aggregate)] = version
        var (type, payload) = version == 1 ? ("OrderPlaced", Self.placed(&random)) : Self.followUp(&random)
        if malformedLeft > 0, version > 1, emitted >= nextMalformed, type != "OrderNoteAdded" {
            malformedLeft -= 1
            nextMalformed = emitted + malformedEvery
            payload = Self.malformedPayload(type, &random)
        }
        return NewEvent(
            aggregate: ids[Int(aggregate)], version: version, eventClass: Self.namespaced(type, &random),
            payload: payload, metaData: #"{"aggregate-root-version":\#(version)}"#)
    }

    static func placed(_ random: inout SeededRandom) -> String {
        let currencies = ["EUR", "USD", "GBP", "CHF"]
        return #"{"customer_id":"cust-\#(random.next() % 50_000)","currency":"\#(currencies[Int(random.next() % 4)])"}"#
    }

    static func followUp(_ random: inout SeededRandom) -> (String, String) {
        let sku = "SKU-\(random.next() % 40)"
        switch random.next() % 100 {
        case 0..<50: return ("ItemAdded", #"{"sku":"\#(sku)","qty":\#(1 + random.next() % 4),"price_cents":\#(random.next() % 10_000)}"#)
        case 50..<68: return ("ItemRemoved", #"{"sku":"\#(sku)","qty":\#(1 + random.next() % 3)}"#)
        case 68..<78: return ("OrderPaid", #"{"amount_cents":\#(random.next() % 50_000)}"#)
        case 78..<84: return ("OrderShipped", #"{"carrier":"dhl"}"#)
        case 84..<87: return ("OrderCancelled", random.next() % 2 == 0 ? #"{"reason":"customer request"}"# : "{}")
        default: return ("OrderNoteAdded", #"{"note":"called the customer"}"#)
        }
    }

    static func malformedPayload(_ type: String, _ random: inout SeededRandom) -> String {
        let variants = [
            #"{"sku":"SKU-1","qty":"2","price_cents":100,"amount_cents":"5"}"#,  // integers as strings
            #"{"sku":"SKU-1","qty":2.0,"price_cents":100,"amount_cents":1.5}"#,  // fractions
            #"{"sku":"SKU-1","qty":2,"price_cents":100"#,  // truncated
            #"[1,2,3]"#,  // not an object
            #"{"qty":1,"price_cents":-5,"amount_cents":-1,"reason":7}"#,  // missing / negative / mistyped
            #"{"sku":"SKU-1","qty":NaN,"price_cents":1}"#,  // NaN
        ]
        return variants[Int(random.next() % UInt64(variants.count))]
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
