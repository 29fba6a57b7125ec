import RefoldRedis

/// written.lua: records an aggregate's latest written version (write-through; only ever raised).
public struct WrittenScript: ProtocolScript {
    public enum Reply: Sendable, Equatable {
        /// The stored version is now this one.
        case raised(Int64)
        /// The stored version was already this high (or higher).
        case kept(Int64)
    }

    public static let name = "written"
    public let aggregate: String
    public let version: Int64
    /// How long the value lives without a newer write, in milliseconds.
    public let retentionMilliseconds: Int64

    /// Seven days: long enough for any reader's question, short enough that idle aggregates cost nothing.
    public static let defaultRetentionMilliseconds: Int64 = 7 * 24 * 3_600_000

    public init(aggregate: String, version: Int64, retentionMilliseconds: Int64 = WrittenScript.defaultRetentionMilliseconds) {
        self.aggregate = aggregate
        self.version = version
        self.retentionMilliseconds = retentionMilliseconds
    }

    /// `refold:written:{<aggregate>}`: the aggregate id is the hash tag, so the values spread over a cluster.
    public static func key(_ aggregate: String) -> String { "refold:written:{\(aggregate)}" }

    public var keys: [String] { [Self.key(aggregate)] }
    public var arguments: [any RedisArgument] { [aggregate, version, retentionMilliseconds] }

    public func validate() throws(CoordinationError) {
        guard !aggregate.isEmpty, aggregate.utf8.count <= 200, !aggregate.contains("{"), !aggregate.contains("}") else {
            throw CoordinationError(.invalidArgument, "the aggregate id \"\(aggregate.prefix(60))\" cannot be recorded (1-200 bytes, no braces).")
        }
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        guard parts.count == 2, let version = Int64(parts[1]) else { throw ScriptReply.violation(Self.name, parts) }
        switch parts[0] {
        case "raised": return .raised(version)
        case "kept": return .kept(version)
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
