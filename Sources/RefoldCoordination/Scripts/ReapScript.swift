import RefoldRedis

/// What reap.lua answered.
public enum ReapOutcome: Sendable, Equatable {
    /// Expired leases went back to the queue (`requeued`) or to the dead letters (`dead`);
    /// `finished` is the job's final state when that finished it.
    case reaped(requeued: Int, dead: Int, finished: JobState?)
    case closed(JobState)
    case missing

    /// True when this call finished the job.
    public var fired: Bool {
        if case .reaped(_, _, let finished?) = self { return finished.isFinished }
        return false
    }
}

/// reap.lua: recovers up to `limit` expired leases. Anyone may call it at any time.
public struct ReapScript: JobScript {
    public typealias Reply = ReapOutcome
    public static let name = "reap"
    public let jobID: String
    public let limit: Int

    public init(jobID: String, limit: Int = 1000) {
        self.jobID = jobID
        self.limit = limit
    }

    public var arguments: [any RedisArgument] { [limit] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> ReapOutcome {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "missing": return .missing
        case "closed": return .closed(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        default:
            guard parts.count == 4, let requeued = Int(parts[2]), let dead = Int(parts[3]) else { throw ScriptReply.violation(Self.name, parts) }
            let state = try ScriptReply.state(parts[0], Self.name, parts)
            return .reaped(requeued: requeued, dead: dead, finished: parts[1] == "1" ? state : nil)
        }
    }
}
