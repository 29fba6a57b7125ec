import RefoldRedis

/// What heartbeat.lua answered.
public enum HeartbeatOutcome: Sendable, Equatable {
    /// The leases not listed in `lost` were extended.
    case renewed(lost: [String])
    /// The job was cancelled: every lease is lost.
    case cancelled
    /// The job finished (or vanished: `nil`): every lease is lost.
    case closed(state: JobState?)
}

/// heartbeat.lua: renews the leases whose tokens still match and records their progress.
public struct HeartbeatScript: JobScript {
    public typealias Reply = HeartbeatOutcome
    public static let name = "heartbeat"
    public let jobID: String
    public let worker: String
    public let leaseMilliseconds: Int
    public let leases: [(lease: TaskLease, events: Int)]

    public init(jobID: String, worker: String, leaseMilliseconds: Int = 0, leases: [(lease: TaskLease, events: Int)]) {
        self.jobID = jobID
        self.worker = worker
        self.leaseMilliseconds = leaseMilliseconds
        self.leases = leases
    }

    public var arguments: [any RedisArgument] {
        var out: [any RedisArgument] = [worker, leaseMilliseconds, leases.count]
        for (lease, events) in leases {
            out.append(lease.taskID)
            out.append(lease.token)
            out.append(events)
        }
        return out
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> HeartbeatOutcome {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "missing": return .closed(state: nil)
        case "cancelled": return .cancelled
        case "closed": return .closed(state: try ScriptReply.state(parts.last, Self.name, parts))
        case "ok":
            guard parts.count >= 3, let count = Int(parts[2]), parts.count == 3 + count else { throw ScriptReply.violation(Self.name, parts) }
            return .renewed(lost: Array(parts[3...]))
        default:
            throw ScriptReply.violation(Self.name, parts)
        }
    }
}
