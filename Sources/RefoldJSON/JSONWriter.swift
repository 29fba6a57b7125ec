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
        // The leading run that needs no escape (nearly always the whole string) in one append;
        // the rest, if any, through the cursor's escapes (the one place they are written).
        var plain = 0
        while plain < bytes.count, !Cursor.needsEscape(bytes[plain]) { plain += 1 }
        if plain > 0 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<plain])) }
        if plain < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[plain...])
            append(to: &out, atMost: stringBound(rest.count)) { $0.stringContent(rest) }
        }
        out.append(0x22)
    }

    /// Appends a static ASCII string as a JSON string literal.
    public static func appendString(_ text: StaticString, to out: inout [UInt8]) {
        out.append(0x22)
        out.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        out.append(0x22)
    }

    /// Appends raw ASCII (punctuation, keys known to need no escaping).
    @inline(__always) public static func appendRaw(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a decimal integer.
    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        append(to: &out, atMost: integerBound) { $0.integer(value) }
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

extension JSONWriter {
    /// Writes JSON text straight into memory sized beforehand: the fast way to build a row
    /// (each `append` to an array checks its capacity and uniqueness, about 100 instructions a
    /// call; an order line took a dozen). Get one from `append(to:atMost:_:)`. Every write
    /// checks that it stays within the size asked for (a wrong bound stops the process; it can
    /// never write past the memory).
    public struct Cursor {
        @usableFromInline var next: UnsafeMutablePointer<UInt8>
        @usableFromInline let end: UnsafeMutablePointer<UInt8>

        @inlinable init(_ start: UnsafeMutablePointer<UInt8>, end: UnsafeMutablePointer<UInt8>) {
            next = start
            self.end = end
        }

        @inlinable @inline(__always) mutating func reserve(_ count: Int) {
            precondition(end - next >= count, "JSONWriter.Cursor: more bytes written than the bound given")
        }

        /// One byte (punctuation).
        @inlinable @inline(__always) public mutating func byte(_ value: UInt8) {
            reserve(1)
            next.pointee = value
            next += 1
        }

        /// Raw ASCII (punctuation, keys known to need no escaping).
        @inlinable @inline(__always) public mutating func raw(_ text: StaticString) {
            let count = text.utf8CodeUnitCount
            reserve(count)
            next.update(from: text.utf8Start, count: count)
            next += count
        }

        /// `bytes` as a JSON string literal: at most `JSONWriter.stringBound(bytes.count)` bytes.
        /// Control characters and lone surrogates (kept by the scanner in WTF-8 form) are
        /// written as `\u` escapes.
        public mutating func string(_ bytes: UnsafeRawBufferPointer) {
            reserve(JSONWriter.stringBound(bytes.count))
            next.pointee = 0x22
            next += 1
            stringContent(bytes)
            next.pointee = 0x22
            next += 1
        }

        /// Whether `byte` starts something `stringContent` does not copy as it is.
        @inline(__always) static func needsEscape(_ byte: UInt8) -> Bool {
            byte == 0x22 || byte == 0x5C || byte < 0x20 || byte == 0xED
        }

        /// The string's content, escaped, without quotes: at most six bytes per byte (room
        /// checked by the caller).
        mutating func stringContent(_ bytes: UnsafeRawBufferPointer) {
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case 0x22, 0x5C:
                    next[0] = 0x5C
                    next[1] = byte
                    next += 2
                case 0x0A, 0x0D, 0x09:
                    next[0] = 0x5C
                    next[1] = byte == 0x0A ? UInt8(ascii: "n") : (byte == 0x0D ? UInt8(ascii: "r") : UInt8(ascii: "t"))
                    next += 2
                case 0..<0x20:
                    escape(UInt32(byte))
                case 0xED where index + 2 < bytes.count && bytes[index + 1] >= 0xA0:
                    // A lone surrogate the scanner kept in WTF-8 form (3 bytes, written as 6).
                    escape((UInt32(byte & 0x0F) << 12) | (UInt32(bytes[index + 1] & 0x3F) << 6) | UInt32(bytes[index + 2] & 0x3F))
                    index += 2
                default:
                    next.pointee = byte
                    next += 1
                }
                index += 1
            }
        }

        mutating func escape(_ value: UInt32) {
            let hex: StaticString = "0123456789abcdef"
            next[0] = 0x5C
            next[1] = UInt8(ascii: "u")
            next[2] = hex.utf8Start[Int((value >> 12) & 0xF)]
            next[3] = hex.utf8Start[Int((value >> 8) & 0xF)]
            next[4] = hex.utf8Start[Int((value >> 4) & 0xF)]
            next[5] = hex.utf8Start[Int(value & 0xF)]
            next += 6
        }

        /// A decimal integer: at most `JSONWriter.integerBound` bytes.
        public mutating func integer(_ value: Int64) {
            reserve(JSONWriter.integerBound)
            if value == 0 {
                next.pointee = 0x30
                next += 1
                return
            }
            var magnitude = value.magnitude
            if value < 0 {
                next.pointee = UInt8(ascii: "-")
                next += 1
            }
            var digits = 0
            var probe = magnitude
            while probe > 0 {
                digits += 1
                probe /= 10
            }
            var position = digits
            while magnitude > 0 {
                position -= 1
                next[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            next += digits
        }
    }

    /// The most bytes `Cursor.string` writes for a string of `count` bytes (every byte a
    /// six-byte `\u` escape, and the quotes).
    @inlinable public static func stringBound(_ count: Int) -> Int { count * 6 + 2 }
    /// The most bytes `Cursor.integer` writes (`-9223372036854775808`).
    public static let integerBound = 20

    /// Appends what `body` writes through a cursor, at most `bound` bytes.
    @inlinable
    public static func append(to out: inout [UInt8], atMost bound: Int, _ body: (inout Cursor) -> Void) {
        let old = out.count
        if out.capacity < old + bound { out.reserveCapacity(Swift.max(old + bound, out.capacity * 2)) }
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBufferPointer { buffer in
            let start = buffer.baseAddress! + old
            var cursor = Cursor(start, end: start + bound)
            body(&cursor)
            return cursor.next - start
        }
        out.removeLast(bound - written)
        // The bound is the worst case (every byte escaped): a row kept at that capacity would
        // hold two to three times its size until it is written. Keep only what was written.
        if out.capacity > 2 * out.count + 256 {
            out = out.withUnsafeBufferPointer { Array($0) }
        }
    }
}
