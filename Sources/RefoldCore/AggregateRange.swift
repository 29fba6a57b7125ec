/// A half-open range of aggregate ids, compared byte for byte: `lower` ≤ id < `upper`
/// (nil bounds are open). One task folds every aggregate of one range.
public struct AggregateRange: Sendable, Equatable {
    public var lower: [UInt8]?
    public var upper: [UInt8]?
    /// The planner's estimate of events in the range.
    public var estimatedEvents: Int64

    public init(lower: [UInt8]?, upper: [UInt8]?, estimatedEvents: Int64) {
        self.lower = lower
        self.upper = upper
        self.estimatedEvents = estimatedEvents
    }

    /// Whether `id` falls in the range.
    public func contains(_ id: [UInt8]) -> Bool {
        if let lower, id.lexicographicallyPrecedes(lower) { return false }
        if let upper, !id.lexicographicallyPrecedes(upper) { return false }
        return true
    }

    /// The range as task spec text: `{"lower":HEX|null,"upper":HEX|null,"events":N}`.
    public var spec: String {
        func hex(_ bytes: [UInt8]?) -> String {
            guard let bytes else { return "null" }
            return "\"" + bytes.map { byte in
                let digits = Array("0123456789abcdef")
                return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            }.joined() + "\""
        }
        return "{\"lower\":\(hex(lower)),\"upper\":\(hex(upper)),\"events\":\(estimatedEvents)}"
    }

    /// Parses `spec`; nil if it is not one.
    public init?(spec: String) {
        guard let tree = try? JSONScanner.parse(Array(spec.utf8)), case .object(let members) = tree else { return nil }
        func bytes(_ key: String) -> [UInt8]?? {
            switch members[Array(key.utf8)] {
            case .null?: return .some(nil)
            case .string(let hex)?:
                guard hex.count % 2 == 0 else { return nil }
                var out: [UInt8] = []
                var index = 0
                while index < hex.count {
                    guard let value = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
                    out.append(value)
                    index += 2
                }
                return .some(out)
            default: return nil
            }
        }
        guard let lower = bytes("lower"), let upper = bytes("upper"), case .integer(let events)? = members[Array("events".utf8)] else { return nil }
        self.init(lower: lower, upper: upper, estimatedEvents: events)
    }
}
