/// A RESP2 reply copied out of hiredis' memory into a Swift value.
public enum RedisReply: Sendable, Equatable {
    /// A simple status reply such as `OK`.
    case status(String)
    /// An error reply; `RedisConnection.send` throws these, pipelines return them in place.
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A binary-safe bulk string.
    case bulk([UInt8])
    /// The null bulk string or null array.
    case null
    /// A multi-bulk reply.
    case array([RedisReply])

    /// The reply as UTF-8 text (bulk or status), or nil for other shapes.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The reply as bytes (bulk or status), or nil.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The reply as an integer: integer replies, or bulk text holding a decimal integer.
    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk, .status: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of an array reply, or nil.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether this is the null reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
