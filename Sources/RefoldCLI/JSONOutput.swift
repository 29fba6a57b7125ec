import Foundation

/// A JSON value for reports: ordered keys, integers kept exact.
indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.rendered() == rhs.rendered() }

    func rendered(indent: String? = nil, level: Int = 0) -> String {
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

enum JSONOutput {
    /// Prints one JSON object on standard output (the whole of it, under `--json`).
    static func print(_ pairs: KeyValuePairs<String, JSONValue>) {
        Swift.print(JSONValue.object(pairs.map { ($0.key, $0.value) }).rendered())
    }

    static func print(_ value: JSONValue) {
        Swift.print(value.rendered())
    }
}
