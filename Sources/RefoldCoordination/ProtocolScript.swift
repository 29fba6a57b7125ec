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
    /// The job whose keys the script takes.
    var jobID: String { get }
    /// ARGV, in order.
    var arguments: [any RedisArgument] { get }
    /// Reads the script's reply (pure: unit-tested without a server).
    func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply
}

extension ProtocolScript {
    public static var readOnly: Bool { false }
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
