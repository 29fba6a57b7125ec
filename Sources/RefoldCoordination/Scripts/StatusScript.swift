import RefoldRedis

/// status.lua: reads a job without changing anything (`no-writes`: sent with `EVALSHA_RO`,
/// so a read-only ACL user may call it, and replicas serve it). nil: the job does not exist.
public struct StatusScript: JobScript {
    public typealias Reply = JobStatus?
    public static let name = "status"
    public static let readOnly = true
    public let jobID: String

    public init(jobID: String) {
        self.jobID = jobID
    }

    public var arguments: [any RedisArgument] { [] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> JobStatus? {
        let parts = try ScriptReply.strings(raw, Self.name)
        if parts.first == "missing" { return nil }
        guard parts.first == "ok", parts.count % 2 == 1 else { throw ScriptReply.violation(Self.name, parts) }
        var fields: [String: String] = [:]
        var index = 1
        while index + 1 < parts.count {
            fields[parts[index]] = parts[index + 1]
            index += 2
        }
        return JobStatus(jobID: jobID, fields: fields, state: try ScriptReply.state(fields["state"], Self.name, parts))
    }
}
