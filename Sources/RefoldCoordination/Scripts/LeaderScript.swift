import RefoldRedis

/// leader.lua: the live service's leadership of one projection, as a lease in Redis.
public struct LeaderScript: ProtocolScript {
    public enum Operation: String, Sendable {
        case acquire, renew, release
    }

    /// Who holds the lease, since when, and for how much longer.
    public struct Holder: Sendable, Equatable {
        public let owner: String
        public let token: String
        public let sinceMilliseconds: Int64
        public let remainingMilliseconds: Int64
    }

    public enum Reply: Sendable, Equatable {
        /// The caller holds it now.
        case held(Holder)
        /// Another runner holds it.
        case taken(Holder)
        case released
        /// Nobody (or somebody else) held it: nothing to release.
        case free
    }

    public static let name = "leader"
    public let projection: String
    public let operation: Operation
    public let owner: String
    public let token: String
    public let leaseMilliseconds: Int

    public init(projection: String, operation: Operation, owner: String, token: String, leaseMilliseconds: Int) {
        self.projection = projection
        self.operation = operation
        self.owner = owner
        self.token = token
        self.leaseMilliseconds = leaseMilliseconds
    }

    public static func key(_ projection: String) -> String { "refold:{live:\(projection)}:leader" }

    public var keys: [String] { [Self.key(projection)] }
    public var arguments: [any RedisArgument] { [operation.rawValue, owner, token, leaseMilliseconds] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "released": return .released
        case "free": return .free
        case "held", "taken":
            guard parts.count == 5 else { throw ScriptReply.violation(Self.name, parts) }
            let holder = Holder(owner: parts[1], token: parts[2], sinceMilliseconds: Int64(parts[3]) ?? 0, remainingMilliseconds: Int64(parts[4]) ?? 0)
            return parts[0] == "held" ? .held(holder) : .taken(holder)
        default:
            throw ScriptReply.violation(Self.name, parts)
        }
    }
}
