import RefoldRedis

/// What fail.lua answered.
public enum FailOutcome: Sendable, Equatable {
    /// The task will be retried after `delayMilliseconds`.
    case retry(delayMilliseconds: Int64)
    /// The task was dead-lettered; `jobState` is failed or joined when that finished the job.
    case dead(jobState: JobState, fired: Bool)
    /// The caller's lease was already gone.
    case stale
    case closed(state: JobState)
    case missing
}

/// fail.lua: reports a failed task; `retryable` re-queues it with backoff until the job's max
/// attempts, otherwise it is dead-lettered.
public struct FailScript: JobScript {
    public typealias Reply = FailOutcome
    public static let name = "fail"
    public let lease: TaskLease
    public let worker: String
    public let retryable: Bool
    public let error: String

    public init(lease: TaskLease, worker: String, retryable: Bool, error: String) {
        self.lease = lease
        self.worker = worker
        self.retryable = retryable
        self.error = error
    }

    public var jobID: String { lease.jobID }

    public var arguments: [any RedisArgument] { [worker, lease.taskID, lease.token, retryable ? "retry" : "fatal", error] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> FailOutcome {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "retry":
            guard parts.count == 4, let delay = Int64(parts[3]) else { throw ScriptReply.violation(Self.name, parts) }
            return .retry(delayMilliseconds: delay)
        case "dead":
            guard parts.count == 3 else { throw ScriptReply.violation(Self.name, parts) }
            return .dead(jobState: try ScriptReply.state(parts[1], Self.name, parts), fired: parts[2] == "1")
        case "stale": return .stale
        case "missing": return .missing
        case "closed": return .closed(state: try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
