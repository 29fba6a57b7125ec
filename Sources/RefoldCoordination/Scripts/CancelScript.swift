import RefoldRedis

/// cancel.lua: stops a building or open job; `reason` is shown by status.
public struct CancelScript: JobScript {
    public enum Reply: Sendable, Equatable {
        case cancelled
        /// It had already finished.
        case closed(JobState)
        case missing
    }

    public static let name = "cancel"
    public let jobID: String
    public let reason: String

    public init(jobID: String, reason: String) {
        self.jobID = jobID
        self.reason = reason
    }

    public var arguments: [any RedisArgument] { [reason] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        switch parts.first {
        case "cancelled": return .cancelled
        case "missing": return .missing
        case "closed": return .closed(try ScriptReply.state(parts.dropFirst().first, Self.name, parts))
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}
