import RefoldRedis

/// seal.lua: opens a building job for claiming, once every task is registered.
public struct SealScript: JobScript {
    public enum Reply: Sendable, Equatable {
        /// Sealed: `open`, or `joined` for a job with no tasks.
        case sealed(JobState)
        /// Fewer tasks are registered than the coordinator counted (a chunk was lost).
        case incomplete(registered: Int)
        case closed(JobState)
        case missing
    }

    public static let name = "seal"
    public let jobID: String
    public let taskCount: Int
    public let eventsTotal: Int64

    public init(jobID: String, taskCount: Int, eventsTotal: Int64) {
        self.jobID = jobID
        self.taskCount = taskCount
        self.eventsTotal = eventsTotal
    }

    public var arguments: [any RedisArgument] { [taskCount, eventsTotal] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "ok": return .sealed(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        case "incomplete": return .incomplete(registered: Int(parts.dropFirst().first ?? "") ?? 0)
        case "closed": return .closed(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        case "missing": return .missing
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
