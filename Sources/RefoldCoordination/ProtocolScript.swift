import RefoldRedis

/// One call of a protocol script, as a value: which script (`lua/<name>.lua`), the job whose
/// 14 keys it takes, its arguments, and how to read its reply — in the style of valkey-swift's
/// commands. `CoordinationClient.run(_:)` sends any of them.
///
/// ```swift
/// let outcome = try client.run(ClaimScript(jobID: "rebuild-1", worker: "w1", count: 1))
/// ```
public protocol ProtocolScript: Sendable {
    associatedtype Reply: Sendable
    /// The script's file name without `.lua`.
    static var name: String { get }
    /// True for scripts flagged `no-writes`: sent with `EVALSHA_RO`.
    static var readOnly: Bool { get }
    /// KEYS, in order.
    var keys: [String] { get }
    /// ARGV, in order.
    var arguments: [any RedisArgument] { get }
    /// Refuses arguments before anything is sent (e.g. a job id that would break the hash tag).
    func validate() throws(CoordinationError)
    /// Reads the script's reply (pure: unit-tested without a server).
    func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply
}

extension ProtocolScript {
    public static var readOnly: Bool { false }
    public func validate() throws(CoordinationError) {}
}

/// A script of the fork-join protocol: it takes its job's 14 keys (`JobKeys`).
public protocol JobScript: ProtocolScript {
    /// The job whose keys the script takes.
    var jobID: String { get }
}

extension JobScript {
    public var keys: [String] { JobKeys(jobID: jobID).all }

    public func validate() throws(CoordinationError) {
        guard JobKeys.isValid(jobID: jobID) else {
            throw CoordinationError(.invalidArgument, "the job id \"\(jobID)\" is not valid: use 1-100 letters, digits, \".\", \"_\" or \"-\".")
        }
    }
}

/// Helpers every reply parser uses: replies are arrays of strings, first a status word.
enum ScriptReply {
    static func strings(_ reply: RedisReply, _ script: String) throws(CoordinationError) -> [String] {
        guard let elements = reply.array else {
            throw CoordinationError(.protocolViolation, "\(script).lua answered with a non-array reply; is the server running a different protocol version?")
        }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for element in elements {
            guard let text = element.string else {
                throw CoordinationError(.protocolViolation, "\(script).lua answered with a non-string element.")
            }
            out.append(text)
        }
        return out
    }

    static func violation(_ script: String, _ parts: [String]) -> CoordinationError {
        CoordinationError(.protocolViolation, "\(script).lua answered \(parts.prefix(4)) which this client does not understand; is the server running a different protocol version?")
    }

    static func state(_ text: String?, _ script: String, _ parts: [String]) throws(CoordinationError) -> JobState {
        guard let text, let state = JobState(rawValue: text) else { throw violation(script, parts) }
        return state
    }
}
