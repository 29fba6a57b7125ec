import RefoldRedis

/// release.lua: hands a task back without spending an attempt (graceful stop, or a worker
/// that cannot run it here, saying why in `reason`).
public struct ReleaseScript: JobScript {
    public enum Reply: Sendable, Equatable {
        case released
        /// The lease was already lost.
        case stale
        case closed(JobState)
        case missing
    }

    public static let name = "release"
    public let lease: TaskLease
    public let reason: String?

    public init(lease: TaskLease, reason: String? = nil) {
        self.lease = lease
        self.reason = reason
    }

    public var jobID: String { lease.jobID }

    public var arguments: [any RedisArgument] {
        var out: [any RedisArgument] = [lease.taskID, lease.token]
        if let reason { out.append(reason) }
        return out
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "released": return .released
        case "stale": return .stale
        case "missing": return .missing
        case "closed": return .closed(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
