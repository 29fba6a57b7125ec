/// A JSON value for reports and protocol records: ordered keys, integers kept exact. It is
/// written by `JSONWriter`, the one writer (row data uses `JSONWriter` directly, for speed).
///
/// ```swift
/// let text = JSONValue.object([("events", .int(120)), ("swapped", .bool(true))]).rendered()
/// ```
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// A parsed tree as a value (object keys sorted, since the tree keeps no order).
    public init(_ tree: JSONTree) {
        switch tree {
        case .string(let bytes): self = .string(String(decoding: bytes, as: UTF8.self))
        case .integer(let value): self = .int(value)
        case .number(let digits): self = .double(Double(String(decoding: digits, as: UTF8.self)) ?? .nan)
        case .bool(let value): self = .bool(value)
        case .null: self = .null
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members):
            self = .object(members.map { (String(decoding: $0.key, as: UTF8.self), JSONValue($0.value)) }.sorted { $0.0 < $1.0 })
        }
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.rendered() == rhs.rendered() }

    /// Compact JSON text.
    public func rendered() -> String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends compact JSON text to `out`.
    public func write(to out: inout [UInt8]) {
        switch self {
        case .string(let text): JSONWriter.appendString(Array(text.utf8), to: &out)
        case .int(let value): JSONWriter.appendInteger(value, to: &out)
        case .double(let value): JSONWriter.appendDouble(value, to: &out)
        case .bool(let value): JSONWriter.appendRaw(value ? "true" : "false", to: &out)
        case .null: JSONWriter.appendRaw("null", to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(Array(pair.0.utf8), to: &out)
                out.append(UInt8(ascii: ":"))
                pair.1.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }
}
