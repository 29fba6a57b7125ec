import RefoldJSON
import Testing

@Suite struct JSONScannerTests {
    func fields(_ text: String, _ wanted: [StaticString]) throws -> [JSONScanner.Field?] {
        let bytes = Array(text.utf8)
        let found = try bytes.withUnsafeBytes { try JSONScanner.fields(of: $0, wanted: wanted) }
        return wanted.indices.map { found[$0] }
    }

    func fieldsOfBytes(_ bytes: [UInt8]) throws -> [JSONScanner.Field?] {
        let found = try bytes.withUnsafeBytes { try JSONScanner.fields(of: $0, wanted: ["a"]) }
        return [found[0]]
    }

    @Test(arguments: [
        "", " ", "{", "}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":tru}", "{\"a\":nul}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"tab\there\"}", "{\"a\":1} {}", "{\"a\":1}x", "{\"a\":[1,]}", "{\"a\":[1 2]}",
        "{\"a\":{\"b\"}}", "{\"a\":\"unterminated}",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONError.malformed) { try fields(text, ["a"]) }
    }

    @Test(arguments: ["[]", "1", "\"x\"", "null", "true"])
    func rejectsNonObjects(_ text: String) {
        #expect(throws: JSONError.self) { try fields(text, ["a"]) }
    }

    @Test func rejectsInvalidUTF8AndBOM() {
        let cases: [[UInt8]] = [
            [0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8),  // BOM
            Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8),  // invalid byte
            Array(#"{"a":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8),  // overlong
            Array(#"{"a":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),  // encoded surrogate
            Array(#"{"a":""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#""}"#.utf8),  // above U+10FFFF
            Array(#"{"a":""#.utf8) + [0xE2, 0x82] + Array(#""}"#.utf8),  // truncated
            Array(#"{"x":""#.utf8) + [0xFF] + Array(#"","a":1}"#.utf8),  // invalid in a skipped field too
        ]
        for bytes in cases {
            #expect(throws: JSONError.malformed) { try fieldsOfBytes(bytes) }
        }
    }

    @Test func integersAndOtherNumbers() throws {
        let found = try fields(#"{"a":-9223372036854775808,"b":9223372036854775807,"c":9223372036854775808,"d":3.0,"e":1e2,"f":-0,"g":"3","h":true,"i":null,"j":{},"k":[]}"#,
                               ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "z"])
        #expect(found == [.integer(.min), .integer(.max), .otherNumber, .otherNumber, .otherNumber, .integer(0), .string(Array("3".utf8)), .bool, .null, .object, .array, nil])
    }

    @Test func escapesDecodeInKeysAndValues() throws {
        let found = try fields(#"{"q\u0074y":"\u00e9\n\"\\\/","x":"\ud83d\ude00","lone":"\ud800"}"#, ["qty", "x", "lone"])
        #expect(found[0] == .string(Array("é\n\"\\/".utf8)))
        #expect(found[1] == .string(Array("😀".utf8)))
        #expect(found[2] == .string([0xED, 0xA0, 0x80]))
    }

    @Test func lastDuplicateWinsAndDeepValuesAreSkipped() throws {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let found = try fields(#"{"a":1,"skip":\#(deep),"a":2}"#, ["a"])
        #expect(found == [.integer(2)])
    }

    @Test func treesCompareWithoutKeyOrder() throws {
        #expect(tree(#"{"a":1,"b":[1,{"c":"x"}]}"#) == tree(#" { "b" : [ 1 , { "c" : "x" } ] , "a" : 1 } "#))
        #expect(tree(#"{"a":1}"#) != tree(#"{"a":2}"#))
        var out: [UInt8] = []
        JSONWriter.canonical(try #require(tree(#"{"b":1,"a":"\u0001"}"#)), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"a":"\u0001","b":1}"#)
    }

    @Test func numbersAroundTheUncheckedDigitsAreExact() throws {
        // 18 digits are read without overflow checks, the 19th and later with them.
        let cases: [(String, JSONScanner.Field)] = [
            ("999999999999999999", .integer(999_999_999_999_999_999)),
            ("-999999999999999999", .integer(-999_999_999_999_999_999)),
            ("1000000000000000000", .integer(1_000_000_000_000_000_000)),
            ("9223372036854775807", .integer(Int64.max)),
            ("-9223372036854775808", .integer(Int64.min)),
            ("9223372036854775808", .otherNumber),
            ("-9223372036854775809", .otherNumber),
            ("99999999999999999999", .otherNumber),
            ("123456789012345678.5", .otherNumber),
            ("7", .integer(7)),
        ]
        for (text, expected) in cases {
            #expect(try fields("{\"a\":\(text)}", ["a"]) == [expected], "\(text)")
        }
    }

    @Test func theCursorWritesWhatTheAppendingWriterWrites() {
        var random = SystemRandomNumberGenerator()
        // Every byte value, escapes, WTF-8 surrogates (0xED 0xA0..), and plain text.
        var strings: [[UInt8]] = [[], Array("plain".utf8), [0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x01, 0x1F], [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xED]]
        strings.append(Array(0...255))
        for _ in 0..<200 { strings.append((0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }) }
        for bytes in strings {
            var expected: [UInt8] = [7]
            JSONWriter.appendString(bytes, to: &expected)
            var written: [UInt8] = [7]
            JSONWriter.append(to: &written, atMost: JSONWriter.stringBound(bytes.count)) { out in bytes.withUnsafeBytes { out.string($0) } }
            #expect(written == expected, "\(bytes)")
            // A row does not keep the worst case's capacity.
            #expect(written.capacity <= 2 * written.count + 256, "\(written.capacity) for \(written.count) bytes")
        }
        let integers: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 12345, Int64.max, Int64.min, Int64.min + 1] + (0..<200).map { _ in Int64.random(in: .min ... .max, using: &random) }
        for value in integers {
            var expected: [UInt8] = []
            JSONWriter.appendInteger(value, to: &expected)
            var written: [UInt8] = []
            JSONWriter.append(to: &written, atMost: JSONWriter.integerBound) { $0.integer(value) }
            #expect(written == expected, "\(value)")
        }
    }

    @Test func stringsScannedEightBytesAtATimeMatchTheTreeParser() throws {
        // Keys and values from an alphabet of plain bytes, quotes, backslashes, escapes,
        // control characters and UTF-8 (valid and not), so the first special byte falls at
        // every position of an 8-byte word; the fast path must agree with the tree parser.
        let pieces: [[UInt8]] = [[0x61], [0x20], [0x7E], [0x22], [0x5C, 0x22], [0x5C, 0x5C], [0x5C, 0x6E], [0x5C], [0x0A], [0x1F],
                                 [0xC3, 0xA9], [0xFF], [0x5C, 0x75, 0x30, 0x30, 0x34, 0x31], [0x7F], [0x2F]]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            func text() -> [UInt8] { (0..<Int.random(in: 0...20, using: &random)).flatMap { _ in pieces.randomElement(using: &random)! } }
            let key = text()
            let value = text()
            let payload = Array(#"{"k":"#.utf8) + [0x22] + value + Array(#"",""#.utf8) + key + Array(#"":1,"z":""#.utf8) + value + [0x22, 0x7D]
            let tree = try? JSONScanner.parse(payload)
            let found = try? payload.withUnsafeBytes { try JSONScanner.fields(of: $0, wanted: ["k", "z"]) }
            #expect((tree == nil) == (found == nil), "\(payload)")
            guard let tree, let found, case .object(let members) = tree else { continue }
            let expected = members[Array("k".utf8)].flatMap { node -> JSONScanner.Field? in
                if case .string(let bytes) = node { return .string(bytes) }
                return node == .integer(1) ? .integer(1) : nil
            }
            #expect(found[0] == expected, "\(payload)")
            #expect(found[1] == members[Array("z".utf8)].flatMap { if case .string(let b) = $0 { .string(b) } else { nil } }, "\(payload)")
        }
    }
}

/// A JSON tree from text (test expectations).
func tree(_ text: String) -> JSONTree? {
    try? JSONScanner.parse(Array(text.utf8))
}
