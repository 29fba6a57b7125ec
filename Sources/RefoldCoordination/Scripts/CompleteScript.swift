import RefoldRedis

/// What happened to one completion.
public enum CompletionOutcome: String, Sendable, Equatable {
    /// Counted now.
    case done
    /// Already counted with this token: a repeat, ignored.
    case duplicate
    /// The lease was lost (expired and reaped, re-claimed): the result is rejected.
    case stale
    /// The job finished before this completion arrived.
    case closed
}

/// What complete.lua answered for a batch.
public struct CompletionReply: Sendable, Equatable {
    /// The job's state after the call.
    public let jobState: JobState
    /// True when this very call finished the job (the join fires exactly once).
    public let fired: Bool
    /// One outcome per completion, in order.
    public let outcomes: [CompletionOutcome]

    public init(jobState: JobState, fired: Bool, outcomes: [CompletionOutcome]) {
        self.jobState = jobState
        self.fired = fired
        self.outcomes = outcomes
    }
}

/// complete.lua: records finished tasks of one job; each is counted exactly once.
public struct CompleteScript: JobScript {
    public typealias Reply = CompletionReply
    public static let name = "complete"
    public let jobID: String
    public let worker: String
    public let completions: [TaskCompletion]

    public init(jobID: String, worker: String, completions: [TaskCompletion]) {
        self.jobID = jobID
        self.worker = worker
        self.completions = completions
    }

    public var arguments: [any RedisArgument] {
        var out: [any RedisArgument] = [worker, completions.count]
        for completion in completions {
            out.append(completion.lease.taskID)
            out.append(completion.lease.token)
            out.append(completion.events)
            out.append(completion.result)
        }
        return out
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> CompletionReply {
        let parts = try ScriptReply.strings(raw, Self.name)
        if parts.first == "missing" {
            throw CoordinationError(.jobMissing, "the job does not exist any more (finished and expired, or dropped).")
        }
        guard parts.count >= 3, let count = Int(parts[2]), parts.count == 3 + count else { throw ScriptReply.violation(Self.name, parts) }
        var outcomes: [CompletionOutcome] = []
        for text in parts[3...] {
            guard let outcome = CompletionOutcome(rawValue: text) else { throw ScriptReply.violation(Self.name, parts) }
            outcomes.append(outcome)
        }
        return CompletionReply(jobState: try ScriptReply.state(parts[0], Self.name, parts), fired: parts[1] == "1", outcomes: outcomes)
    }
}
