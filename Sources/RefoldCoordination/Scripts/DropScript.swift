import RefoldRedis

/// drop.lua: deletes every key of a finished job, or of one stuck in `building` at least
/// `minimumBuildingAgeMilliseconds` (its coordinator died before sealing).
public struct DropScript: JobScript {
    public enum Reply: Sendable, Equatable {
        /// Deleted; the state it had.
        case dropped(JobState)
        /// Still running (open jobs must be cancelled first).
        case active(JobState)
        case missing
    }

    public static let name = "drop"
    public let jobID: String
    public let minimumBuildingAgeMilliseconds: Int64

    public init(jobID: String, minimumBuildingAgeMilliseconds: Int64 = 60_000) {
        self.jobID = jobID
        self.minimumBuildingAgeMilliseconds = minimumBuildingAgeMilliseconds
    }

    public var arguments: [any RedisArgument] { [minimumBuildingAgeMilliseconds] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "dropped": return .dropped(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        case "active": return .active(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        case "missing": return .missing
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
