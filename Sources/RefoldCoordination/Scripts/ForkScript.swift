import RefoldRedis

/// fork.lua: creates a job in the `building` state.
public struct ForkScript: JobScript {
    public enum Reply: Sendable, Equatable {
        case created
        /// The id is taken (a retried fork never duplicates a job).
        case exists(JobState)
    }

    public static let name = "fork"
    public let jobID: String
    public let settings: JobSettings

    public init(jobID: String, settings: JobSettings) {
        self.jobID = jobID
        self.settings = settings
    }

    public var arguments: [any RedisArgument] {
        [jobID, LuaScripts.protocolVersion, settings.maxAttempts, settings.leaseMilliseconds,
         settings.backoffMilliseconds, settings.onDeadTask.rawValue, settings.retentionMilliseconds, settings.payload]
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "ok": return .created
        case "exists": return .exists(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
