import RefoldRedis

/// What claim.lua answered.
public enum ClaimOutcome: Sendable, Equatable {
    /// Zero or more leases (zero: nothing ready right now), with the server's time.
    case leases([TaskLease], serverMilliseconds: Int64)
    /// The job is not open (building, joined, failed, cancelled).
    case closed(state: JobState)
    /// The job does not exist.
    case missing
}

/// claim.lua: takes up to `count` ready tasks under leases (`leaseMilliseconds` 0: the job's).
public struct ClaimScript: JobScript {
    public typealias Reply = ClaimOutcome
    public static let name = "claim"
    public let jobID: String
    public let worker: String
    public let count: Int
    public let leaseMilliseconds: Int

    public init(jobID: String, worker: String, count: Int, leaseMilliseconds: Int = 0) {
        self.jobID = jobID
        self.worker = worker
        self.count = count
        self.leaseMilliseconds = leaseMilliseconds
    }

    public var arguments: [any RedisArgument] { [worker, count, leaseMilliseconds] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> ClaimOutcome {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "missing": return .missing
        case "closed": return .closed(state: try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        case "ok":
            guard parts.count >= 3, let now = Int64(parts[1]), let count = Int(parts[2]), parts.count == 3 + 5 * count else {
                throw ScriptReply.violation(Self.name, parts)
            }
            var leases: [TaskLease] = []
            leases.reserveCapacity(count)
            for index in 0..<count {
                let base = 3 + 5 * index
                guard let attempt = Int(parts[base + 2]), let deadline = Int64(parts[base + 3]) else {
                    throw ScriptReply.violation(Self.name, parts)
                }
                leases.append(TaskLease(
                    jobID: jobID, taskID: parts[base], token: parts[base + 1],
                    attempt: attempt, deadlineMilliseconds: deadline, spec: parts[base + 4]))
            }
            return .leases(leases, serverMilliseconds: now)
        default:
            throw ScriptReply.violation(Self.name, parts)
        }
    }
}
