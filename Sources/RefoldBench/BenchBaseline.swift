import RefoldCore

/// A stored set of ratios to compare later runs with (`refold bench --save` / `--baseline`).
public struct BenchBaseline: Sendable, Equatable {
    public var ratios: [BenchRatio]
    /// Free-form facts about the run (size, workers, machine), shown when comparing.
    public var context: [String: String]

    public init(ratios: [BenchRatio], context: [String: String] = [:]) {
        self.ratios = ratios
        self.context = context
    }

    /// The file form: `{"version":1,"ratios":{name:{"value":x,"better":"lower"|"higher"}},"context":{…}}`.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.appendRaw("{\n  \"version\": 1,\n  \"ratios\": {", to: &out)
        for (index, ratio) in ratios.sorted(by: { $0.name < $1.name }).enumerated() {
            JSONWriter.appendRaw(index == 0 ? "\n    " : ",\n    ", to: &out)
            JSONWriter.appendString(Array(ratio.name.utf8), to: &out)
            JSONWriter.appendRaw(": {\"value\": ", to: &out)
            out.append(contentsOf: Array(BenchBaseline.number(ratio.value).utf8))
            JSONWriter.appendRaw(", \"better\": ", to: &out)
            JSONWriter.appendString(ratio.higherIsBetter ? "higher" : "lower", to: &out)
            out.append(UInt8(ascii: "}"))
        }
        JSONWriter.appendRaw("\n  },\n  \"context\": {", to: &out)
        for (index, key) in context.keys.sorted().enumerated() {
            JSONWriter.appendRaw(index == 0 ? "\n    " : ",\n    ", to: &out)
            JSONWriter.appendString(Array(key.utf8), to: &out)
            JSONWriter.appendRaw(": ", to: &out)
            JSONWriter.appendString(Array((context[key] ?? "").utf8), to: &out)
        }
        JSONWriter.appendRaw("\n  }\n}\n", to: &out)
        return out
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let text = "\(value)"
        return text.contains("e") || text.contains(".") ? text : text + ".0"
    }

    /// Reads the file form; nil with a reason when it is not one.
    public init(decoding bytes: [UInt8]) throws(BenchBaselineError) {
        guard let tree = try? JSONScanner.parse(bytes), case .object(let root) = tree else {
            throw BenchBaselineError("it is not a JSON object")
        }
        guard case .integer(1)? = root[Array("version".utf8)] else { throw BenchBaselineError("it has no \"version\": 1") }
        guard case .object(let entries)? = root[Array("ratios".utf8)] else { throw BenchBaselineError("it has no \"ratios\" object") }
        var ratios: [BenchRatio] = []
        for (key, value) in entries {
            let name = String(decoding: key, as: UTF8.self)
            guard case .object(let fields) = value else { throw BenchBaselineError("ratio \"\(name)\" is not an object") }
            let number: Double
            switch fields[Array("value".utf8)] {
            case .integer(let integer)?: number = Double(integer)
            case .number(let text)?: number = Double(String(decoding: text, as: UTF8.self)) ?? .nan
            default: throw BenchBaselineError("ratio \"\(name)\" has no numeric \"value\"")
            }
            guard number.isFinite else { throw BenchBaselineError("ratio \"\(name)\" has an unreadable value") }
            guard case .string(let better)? = fields[Array("better".utf8)], better == Array("higher".utf8) || better == Array("lower".utf8) else {
                throw BenchBaselineError("ratio \"\(name)\" needs \"better\": \"higher\" or \"lower\"")
            }
            ratios.append(BenchRatio(name: name, value: number, higherIsBetter: better == Array("higher".utf8)))
        }
        var context: [String: String] = [:]
        if case .object(let entries)? = root[Array("context".utf8)] {
            for (key, value) in entries {
                if case .string(let text) = value { context[String(decoding: key, as: UTF8.self)] = String(decoding: text, as: UTF8.self) }
            }
        }
        self.init(ratios: ratios.sorted { $0.name < $1.name }, context: context)
    }

    /// Why this baseline cannot be compared with a run described by `context`, or nil when it
    /// can: ratios of different datasets or sizes (or worker counts) differ without any
    /// regression. Keys missing on either side are not compared (older baselines).
    public func mismatch(with context: [String: String]) -> String? {
        for key in ["dataset", "events", "workers"] {
            guard let stored = self.context[key], let current = context[key], stored != current else { continue }
            return "the baseline was measured with \(key) \(stored), this run has \(current)"
        }
        return nil
    }

    /// The ratios of `current` that are worse than this baseline by more than `tolerance`
    /// (0.15 = 15 %). Ratios missing on either side are not compared.
    public func regressions(in current: [BenchRatio], tolerance: Double) -> [BenchRegression] {
        var found: [BenchRegression] = []
        for ratio in current {
            guard let stored = ratios.first(where: { $0.name == ratio.name }) else { continue }
            let regression = BenchRegression(name: ratio.name, baseline: stored.value, current: ratio.value, higherIsBetter: stored.higherIsBetter)
            if regression.worseBy > tolerance { found.append(regression) }
        }
        return found.sorted { $0.name < $1.name }
    }

    /// Parses a tolerance written `15%` or `0.15`.
    public static func tolerance(_ text: String) -> Double? {
        if text.hasSuffix("%") {
            return Double(text.dropLast()).flatMap { $0 >= 0 ? $0 / 100 : nil }
        }
        return Double(text).flatMap { $0 >= 0 && $0 < 10 ? $0 : nil }
    }
}
