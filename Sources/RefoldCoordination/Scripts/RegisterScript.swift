import RefoldRedis

/// register.lua: adds one chunk of tasks (at most 1000) to a building job.
public struct RegisterScript: JobScript {
    public enum Reply: Sendable, Equatable {
        /// Registered; the job now has this many tasks.
        case registered(Int)
        case closed(JobState)
        case missing
    }

    public static let name = "register"
    public let jobID: String
    public let tasks: [TaskDefinition]

    public init(jobID: String, tasks: [TaskDefinition]) {
        self.jobID = jobID
        self.tasks = tasks
    }

    public var arguments: [any RedisArgument] {
        var out: [any RedisArgument] = [tasks.count]
        out.reserveCapacity(1 + 2 * tasks.count)
        for task in tasks {
            out.append(task.id)
            out.append(task.spec)
        }
        return out
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "ok":
            guard parts.count == 2, let count = Int(parts[1]) else { throw ScriptReply.violation(Self.name, parts) }
            return .registered(count)
        case "closed": return .closed(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        case "missing": return .missing
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
