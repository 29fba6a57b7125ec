import Foundation

/// A JSON value for reports and protocol records: ordered keys, integers kept exact.
/// (Row data is written by `JSONWriter`, byte by byte, for speed; everything else uses this.)
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

    public func rendered(indent: String? = nil, level: Int = 0) -> String {
        switch self {
        case .string(let text): return Self.quote(text)
        case .int(let value): return String(value)
        case .double(let value):
            guard value.isFinite else { return "null" }
            if value == value.rounded(), abs(value) < 1e15 { return String(format: "%.1f", value) }
            return String(format: "%.6g", value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[" + items.map { $0.rendered(indent: indent, level: level + 1) }.joined(separator: ",") + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            if let indent {
                let pad = String(repeating: indent, count: level + 1)
                let body = pairs.map { "\(pad)\(Self.quote($0.0)): \($0.1.rendered(indent: indent, level: level + 1))" }
                return "{\n" + body.joined(separator: ",\n") + "\n" + String(repeating: indent, count: level) + "}"
            }
            return "{" + pairs.map { "\(Self.quote($0.0)):\($0.1.rendered())" }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

