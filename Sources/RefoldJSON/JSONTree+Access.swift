extension JSONTree {
    /// Parses `text` as one JSON value, or nil when it is not strict JSON.
    public init?(parsing text: String) {
        guard let tree = try? JSONScanner.parse(Array(text.utf8)) else { return nil }
        self = tree
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONTree? {
        guard case .object(let members) = self else { return nil }
        return members[Array(key.utf8)]
    }

    /// The text of a string value, or nil.
    public var string: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// The value of an integer, or nil (numbers with a fraction or exponent are not integers).
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The value of a boolean, or nil.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A number as a Double (integers included), or nil.
    public var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let digits): return Double(String(decoding: digits, as: UTF8.self))
        default: return nil
        }
    }
}
