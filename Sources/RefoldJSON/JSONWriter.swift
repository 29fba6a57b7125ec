/// Appends JSON text to a byte buffer: the read model's `data` column is built with it.
public enum JSONWriter {
    /// Appends `bytes` as a JSON string literal. Control characters and lone surrogates
    /// (kept by the scanner in WTF-8 form) are written as `\u` escapes.
    public static func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBytes { appendString($0, to: &out) }
    }

    /// Appends borrowed `bytes` as a JSON string literal (as `appendString(_:to:)` for arrays).
    public static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(0x22)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20: appendEscape(UInt32(byte), to: &out)
            case 0xED where index + 2 < bytes.count && bytes[index + 1] >= 0xA0:
                let scalar = (UInt32(byte & 0x0F) << 12) | (UInt32(bytes[index + 1] & 0x3F) << 6) | UInt32(bytes[index + 2] & 0x3F)
                appendEscape(scalar, to: &out)
                index += 2
            default: out.append(byte)
            }
            index += 1
        }
        out.append(0x22)
    }

    static func appendEscape(_ value: UInt32, to out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(0x5C)
        out.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((value >> UInt32(shift)) & 0xF)]) }
    }

    /// Appends a static ASCII string as a JSON string literal.
    public static func appendString(_ text: StaticString, to out: inout [UInt8]) {
        out.append(0x22)
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        out.append(0x22)
    }

    /// Appends raw ASCII (punctuation, keys known to need no escaping).
    @inline(__always) public static func appendRaw(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a decimal integer.
    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value == 0 { out.append(0x30); return }
        var magnitude = value.magnitude
        if value < 0 { out.append(UInt8(ascii: "-")) }
        // Digits from the right into a stack buffer (20 digits hold any UInt64), then one append.
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { digits in
            var start = digits.count
            while magnitude > 0 {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Appends a finite double as a JSON number (shortest text that reads back the same);
    /// NaN and infinities, which JSON cannot carry, as `null`.
    public static func appendDouble(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else {
            appendRaw("null", to: &out)
            return
        }
        out.append(contentsOf: value.description.utf8)
    }

    /// Writes a tree canonically (object keys sorted by bytes): equal trees give equal text.
    public static func canonical(_ tree: JSONTree, to out: inout [UInt8]) {
        switch tree {
        case .string(let bytes): appendString(bytes, to: &out)
        case .integer(let value): appendInteger(value, to: &out)
        case .number(let text): out.append(contentsOf: text)
        case .bool(let value): appendRaw(value ? "true" : "false", to: &out)
        case .null: appendRaw("null", to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                canonical(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                canonical(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
