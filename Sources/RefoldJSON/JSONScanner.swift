/// A strict RFC 8259 scanner over UTF-8 bytes, built for the fold's hot path: it validates a
/// whole payload and hands back only the top-level fields a projection asks for, without
/// Foundation and without building a tree.
///
/// Strictness (the contract's rules): UTF-8 only (no BOM, no invalid or overlong sequences,
/// no encoded surrogates), no NaN/Infinity, no text after the value, control characters must
/// be escaped, numbers follow the JSON grammar exactly. Duplicate keys: the last one wins.
public struct JSONScanner {
    /// A top-level field's value, as much as a projection needs to know.
    public enum Field: Equatable, Sendable {
        /// A string, decoded to UTF-8 bytes (escapes resolved; a lone `\uD800` surrogate is
        /// kept as its 3-byte WTF-8 form so distinct strings stay distinct).
        case string([UInt8])
        /// A number with no fraction and no exponent that fits in Int64.
        case integer(Int64)
        /// Any other number: `3.0`, `1e2`, or an integer outside Int64.
        case otherNumber
        case bool
        case null
        case object
        case array
    }

    /// The values found for up to four wanted names without a heap allocation (a projection
    /// rarely needs more; beyond four they live in an array). The subscript is inlinable: a
    /// projection in another module reads its fields once per event, and an unspecialized
    /// generic subscript there looked up `Slots<FieldView>`'s metadata on every call (3.6 % of
    /// a rebuild's samples in `swift_getGenericMetadata`).
    public struct Slots<Value> {
        @usableFromInline var first: Value?
        @usableFromInline var second: Value?
        @usableFromInline var third: Value?
        @usableFromInline var fourth: Value?
        @usableFromInline var rest: [Value?]

        init(count: Int) {
            rest = count > 4 ? Array(repeating: nil, count: count - 4) : []
        }

        @inlinable public subscript(index: Int) -> Value? {
            get {
                switch index {
                case 0: return first
                case 1: return second
                case 2: return third
                case 3: return fourth
                default: return rest[index - 4]
                }
            }
            set {
                switch index {
                case 0: first = newValue
                case 1: second = newValue
                case 2: third = newValue
                case 3: fourth = newValue
                default: rest[index - 4] = newValue
                }
            }
        }
    }

    /// The wanted fields' values, owned.
    public typealias Fields = Slots<Field>
    /// The wanted fields' values as views of the payload: a concrete type around `Slots`, so
    /// that a projection's module handles it as one (dropping a generic `Slots<FieldView>`
    /// there went through its value witnesses: about 130 instructions per event).
    public struct FieldViews {
        @usableFromInline var slots: Slots<FieldView>

        init(count: Int) {
            slots = Slots(count: count)
        }

        @inlinable public subscript(index: Int) -> FieldView? {
            get { slots[index] }
            set { slots[index] = newValue }
        }
    }

    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var index: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.index = 0
    }

    /// A top-level field's value as a borrowed view of the payload: what `Field` says, without
    /// copying a string. Valid only while the payload's bytes are.
    public enum FieldView {
        case string(StringView)
        case integer(Int64)
        case otherNumber
        case bool
        case null
        case object
        case array

        /// The same value as an owned `Field` (strings decoded and copied).
        public var field: Field {
            switch self {
            case .string(let view): return .string(view.decoded())
            case .integer(let value): return .integer(value)
            case .otherNumber: return .otherNumber
            case .bool: return .bool
            case .null: return .null
            case .object: return .object
            case .array: return .array
            }
        }
    }

    /// A validated JSON string in its payload.
    public struct StringView {
        /// The string with its quotes, as it stands in the payload.
        @usableFromInline let quoted: UnsafeRawBufferPointer
        /// No escapes: `raw` is the decoded string.
        public let isPlain: Bool

        /// The bytes between the quotes, escapes not resolved.
        @inlinable public var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: quoted.dropFirst().dropLast()) }

        /// The decoded bytes (escapes resolved), copied.
        public func decoded() -> [UInt8] {
            if isPlain { return Array(raw) }
            var scanner = JSONScanner(quoted)
            var out: [UInt8] = []
            out.reserveCapacity(quoted.count)
            // Already validated when it was scanned, so this cannot fail.
            try? scanner.readString(into: &out)
            return out
        }

        /// Calls `body` with the decoded bytes: the payload's own bytes when the string has no
        /// escapes (no copy), a decoded copy otherwise. Inlinable: called once per event from a
        /// projection's module, where an unspecialized call instantiated generic metadata.
        @inlinable
        public func withDecoded<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
            if isPlain { return try body(raw) }
            let copy = decoded()
            let result = copy.withUnsafeBytes { bytes in Result { () throws(E) -> R in try body(bytes) } }
            return try result.get()
        }
    }

    /// Parses `bytes` as one JSON object and returns, for each name in `wanted`, its value
    /// (the last occurrence), or nil if absent. Throws if the text is not a strict JSON object.
    public static func fields(of bytes: UnsafeRawBufferPointer, wanted: [StaticString]) throws(JSONError) -> Fields {
        let views = try fieldViews(of: bytes, wanted: wanted)
        var found = Fields(count: wanted.count)
        for slot in wanted.indices { found[slot] = views[slot]?.field }
        return found
    }

    /// `fields(of:wanted:)` without copying strings: the hot path of a fold. The whole payload
    /// is validated exactly as strictly; the views borrow `bytes`.
    public static func fieldViews(of bytes: UnsafeRawBufferPointer, wanted: [StaticString]) throws(JSONError) -> FieldViews {
        var scanner = JSONScanner(bytes)
        var found = FieldViews(count: wanted.count)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else {
            // Tell "valid JSON but not an object" from "not JSON at all".
            try scanner.skipValue()
            scanner.skipWhitespace()
            throw scanner.index == bytes.count ? JSONError.notAnObject : JSONError.malformed
        }
        scanner.index += 1
        scanner.skipWhitespace()
        var key: [UInt8] = []
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.index += 1
        } else {
            while true {
                guard scanner.peek() == UInt8(ascii: "\"") else { throw JSONError.malformed }
                var slot = -1
                if let raw = scanner.plainString() {
                    // Fast path: a key without escapes is compared in place.
                    for (position, name) in wanted.enumerated() where raw.equals(name) {
                        slot = position
                        break
                    }
                } else {
                    key.removeAll(keepingCapacity: true)
                    try scanner.readString(into: &key)
                    for (position, name) in wanted.enumerated() where Self.equal(key, name) {
                        slot = position
                        break
                    }
                }
                scanner.skipWhitespace()
                guard scanner.peek() == UInt8(ascii: ":") else { throw JSONError.malformed }
                scanner.index += 1
                scanner.skipWhitespace()
                if slot >= 0 {
                    found[slot] = try scanner.readFieldView()
                } else {
                    try scanner.skipValue()
                }
                scanner.skipWhitespace()
                guard let next = scanner.peek() else { throw JSONError.malformed }
                scanner.index += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw JSONError.malformed }
                scanner.skipWhitespace()
            }
        }
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw JSONError.malformed }
        return found
    }

    /// Parses a whole JSON text into a tree (for `verify` and tests, not the hot path).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONTree {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        let tree = try scanner.readTree(depth: 0)
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw JSONError.malformed }
        return tree
    }

    /// Parses a byte array into a tree.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONTree {
        do {
            return try bytes.withUnsafeBytes { raw in try parse(raw) }
        } catch let error as JSONError {
            throw error
        } catch {
            throw .malformed
        }
    }

    /// If the string at the cursor is plain printable ASCII with no escapes, consumes it and
    /// returns its bytes (without quotes); otherwise leaves the cursor and returns nil.
    @inline(__always) mutating func plainString() -> UnsafeRawBufferPointer? {
        let end = plainEnd(from: index + 1)
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<end])
        index = end + 1
        return slice
    }

    /// Where the run of plain printable ASCII starting at `start` ends: the index of the first
    /// quote, backslash, control character or non-ASCII byte, or `bytes.count`. Eight bytes
    /// at a time: each test flags a byte's high bit; a flag can spill only into bytes above a
    /// byte truly flagged, so the lowest flag is exact.
    @inline(__always) func plainEnd(from start: Int) -> Int {
        var index = start
        let count = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        while index + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quotes = word ^ (ones &* 0x22)
            let backslashes = word ^ (ones &* 0x5C)
            let flags = (((word &- ones &* 0x20) & ~word) | ((quotes &- ones) & ~quotes)
                | ((backslashes &- ones) & ~backslashes) | word) & (ones &* 0x80)
            if flags != 0 { return index + flags.trailingZeroBitCount >> 3 }
            index += 8
        }
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return index }
            index += 1
        }
        return count
    }

    @inline(__always) static func equal(_ key: [UInt8], _ name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        let start = name.utf8Start
        for offset in 0..<key.count where key[offset] != start[offset] { return false }
        return true
    }

    @inline(__always) func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            index += 1
        }
    }

    mutating func readFieldView() throws(JSONError) -> FieldView {
        guard let byte = peek() else { throw JSONError.malformed }
        switch byte {
        case UInt8(ascii: "\""): return .string(try scanString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if let integer = try readNumber() { return .integer(integer) }
            return .otherNumber
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            try skipValue()
            return .bool
        case UInt8(ascii: "n"):
            try skipValue()
            return .null
        case UInt8(ascii: "{"):
            try skipValue()
            return .object
        case UInt8(ascii: "["):
            try skipValue()
            return .array
        default:
            throw JSONError.malformed
        }
    }

    /// Validates the string at the cursor (on its opening quote) and returns it as a view.
    mutating func scanString() throws(JSONError) -> StringView {
        let opening = index
        // Fast path: printable ASCII up to the closing quote.
        let end = plainEnd(from: opening + 1)
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            index = end + 1
            return StringView(quoted: UnsafeRawBufferPointer(rebasing: bytes[opening..<index]), isPlain: true)
        }
        // Escapes or UTF-8: validate by decoding into a scratch buffer.
        var scratch: [UInt8] = []
        try readString(into: &scratch)
        let quoted = UnsafeRawBufferPointer(rebasing: bytes[opening..<index])
        return StringView(quoted: quoted, isPlain: !quoted.contains(UInt8(ascii: "\\")))
    }

    /// Reads a number; returns its value when it is an integer that fits in Int64.
    mutating func readNumber() throws(JSONError) -> Int64? {
        let start = index
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw JSONError.malformed }
        var value: Int64 = 0
        var fits = true
        if first == 0x30 {
            index += 1
        } else {
            // Up to 18 digits cannot overflow: no checks for those (nearly every number).
            let fastEnd = Swift.min(bytes.count, index + 18)
            while index < fastEnd {
                let digit = bytes[index] &- 0x30
                guard digit <= 9 else { break }
                value = value &* 10 &- Int64(digit)
                index += 1
            }
            while let digit = peek(), digit >= 0x30, digit <= 0x39 {
                let d = Int64(digit - 0x30)
                // Accumulate negatively so Int64.min fits.
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times.subtractingReportingOverflow(d)
                if o1 || o2 { fits = false } else { value = next }
                index += 1
            }
        }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard let digit = peek(), digit >= 0x30, digit <= 0x39 else { throw JSONError.malformed }
            while let digit = peek(), digit >= 0x30, digit <= 0x39 { index += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), digit >= 0x30, digit <= 0x39 else { throw JSONError.malformed }
            while let digit = peek(), digit >= 0x30, digit <= 0x39 { index += 1 }
        }
        _ = start
        guard integral, fits else { return nil }
        if negative { return value }
        guard value != Int64.min else { return nil }
        return -value
    }

    /// Reads a string (the cursor on its opening quote), appending its decoded bytes.
    mutating func readString(into out: inout [UInt8]) throws(JSONError) {
        index += 1  // opening quote
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard let escape = peek() else { throw JSONError.malformed }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if scalar >= 0xD800, scalar <= 0xDBFF, index + 1 < bytes.count,
                       bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        let save = index
                        index += 2
                        let low = try readHex4()
                        if low >= 0xDC00, low <= 0xDFFF {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    JSONScanner.appendUTF8(scalar, to: &out)
                default:
                    throw JSONError.malformed
                }
                continue
            }
            if byte < 0x20 { throw JSONError.malformed }
            if byte < 0x80 {
                out.append(byte)
                index += 1
                continue
            }
            let length = try utf8SequenceLength(at: index)
            for offset in 0..<length { out.append(bytes[index + offset]) }
            index += length
        }
        throw JSONError.malformed
    }

    mutating func readHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw JSONError.malformed }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw JSONError.malformed
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Length of a valid multi-byte UTF-8 sequence at `position`, or throws (strict: no
    /// overlongs, no surrogates, nothing above U+10FFFF).
    func utf8SequenceLength(at position: Int) throws(JSONError) -> Int {
        let lead = bytes[position]
        func continuation(_ offset: Int) -> UInt8? {
            let at = position + offset
            guard at < bytes.count else { return nil }
            let byte = bytes[at]
            return byte & 0xC0 == 0x80 ? byte : nil
        }
        switch lead {
        case 0xC2...0xDF:
            guard continuation(1) != nil else { throw JSONError.malformed }
            return 2
        case 0xE0...0xEF:
            guard let second = continuation(1), continuation(2) != nil else { throw JSONError.malformed }
            if lead == 0xE0 && second < 0xA0 { throw JSONError.malformed }  // overlong
            if lead == 0xED && second > 0x9F { throw JSONError.malformed }  // surrogate
            return 3
        case 0xF0...0xF4:
            guard let second = continuation(1), continuation(2) != nil, continuation(3) != nil else { throw JSONError.malformed }
            if lead == 0xF0 && second < 0x90 { throw JSONError.malformed }
            if lead == 0xF4 && second > 0x8F { throw JSONError.malformed }
            return 4
        default:
            throw JSONError.malformed
        }
    }

    /// Validates and skips one value of any kind, iteratively (no recursion limit to hit).
    mutating func skipValue() throws(JSONError) {
        var closers: [UInt8] = []
        var scratch: [UInt8] = []
        repeat {
            skipWhitespace()
            guard let byte = peek() else { throw JSONError.malformed }
            // A value.
            switch byte {
            case UInt8(ascii: "\""):
                if plainString() == nil {
                    scratch.removeAll(keepingCapacity: true)
                    try readString(into: &scratch)
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                _ = try readNumber()
            case UInt8(ascii: "t"): try expectLiteral("true")
            case UInt8(ascii: "f"): try expectLiteral("false")
            case UInt8(ascii: "n"): try expectLiteral("null")
            case UInt8(ascii: "{"):
                index += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "}") {
                    index += 1
                } else {
                    closers.append(UInt8(ascii: "}"))
                    try readKeyAndColon(&scratch)
                    continue
                }
            case UInt8(ascii: "["):
                index += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                } else {
                    closers.append(UInt8(ascii: "]"))
                    continue
                }
            default:
                throw JSONError.malformed
            }
            // After a value: close containers or move to the next element.
            while let closer = closers.last {
                skipWhitespace()
                guard let next = peek() else { throw JSONError.malformed }
                index += 1
                if next == closer {
                    closers.removeLast()
                    continue
                }
                guard next == UInt8(ascii: ",") else { throw JSONError.malformed }
                if closer == UInt8(ascii: "}") {
                    skipWhitespace()
                    try readKeyAndColon(&scratch)
                }
                break
            }
        } while !closers.isEmpty
    }

    mutating func readKeyAndColon(_ scratch: inout [UInt8]) throws(JSONError) {
        guard peek() == UInt8(ascii: "\"") else { throw JSONError.malformed }
        scratch.removeAll(keepingCapacity: true)
        try readString(into: &scratch)
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw JSONError.malformed }
        index += 1
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw JSONError.malformed }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { throw JSONError.malformed }
        index += count
    }

    mutating func readTree(depth: Int) throws(JSONError) -> JSONTree {
        guard depth < 10_000 else { throw JSONError.malformed }
        skipWhitespace()
        guard let byte = peek() else { throw JSONError.malformed }
        switch byte {
        case UInt8(ascii: "\""):
            var value: [UInt8] = []
            try readString(into: &value)
            return .string(value)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            if let integer = try readNumber() { return .integer(integer) }
            return .number(Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index])))
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONTree] = []
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                items.append(try readTree(depth: depth + 1))
                skipWhitespace()
                guard let next = peek() else { throw JSONError.malformed }
                index += 1
                if next == UInt8(ascii: "]") { return .array(items) }
                guard next == UInt8(ascii: ",") else { throw JSONError.malformed }
            }
        case UInt8(ascii: "{"):
            index += 1
            var members: [[UInt8]: JSONTree] = [:]
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
            var key: [UInt8] = []
            while true {
                skipWhitespace()
                try readKeyAndColon(&key)
                members[key] = try readTree(depth: depth + 1)
                skipWhitespace()
                guard let next = peek() else { throw JSONError.malformed }
                index += 1
                if next == UInt8(ascii: "}") { return .object(members) }
                guard next == UInt8(ascii: ",") else { throw JSONError.malformed }
            }
        default:
            throw JSONError.malformed
        }
    }
}

/// Why a JSON text was refused.
public enum JSONError: Error, Equatable, Sendable {
    /// Not strict RFC 8259 UTF-8 JSON.
    case malformed
    /// Valid JSON, but not an object.
    case notAnObject
}

/// A parsed JSON value; objects compare without regard to key order.
public indirect enum JSONTree: Equatable, Sendable {
    case string([UInt8])
    case integer(Int64)
    /// A non-integer number, kept as its text.
    case number([UInt8])
    case bool(Bool)
    case null
    case array([JSONTree])
    case object([[UInt8]: JSONTree])
}
