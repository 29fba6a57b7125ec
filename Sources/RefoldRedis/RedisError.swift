/// The one error type of the Redis client.
///
/// Every message is a full sentence that names what failed, where, and what to do.
/// Messages never contain a password: endpoints are printed as `host:port` or a socket path.
public struct RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is, for callers that react differently to each.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidURL, unreachable, connectionLost, timeout, authentication, server, protocolViolation, unknownScript, notRedis
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL could not be parsed; nothing was contacted.
        public static let invalidURL = Code(.invalidURL)
        /// No connection could be made (refused, unknown host, connect timeout).
        public static let unreachable = Code(.unreachable)
        /// An established connection broke during a command; the command may or may not have run.
        public static let connectionLost = Code(.connectionLost)
        /// The server did not answer within the command timeout; the connection was dropped.
        public static let timeout = Code(.timeout)
        /// AUTH or SELECT was refused.
        public static let authentication = Code(.authentication)
        /// The server answered with an error reply (`-ERR …`); the connection is fine.
        public static let server = Code(.server)
        /// The reply did not have the shape the caller expects.
        public static let protocolViolation = Code(.protocolViolation)
        /// A script name that is not in the registry was called.
        public static let unknownScript = Code(.unknownScript)
        /// The server at the address does not speak the Redis protocol (an HTTP server, say).
        public static let notRedis = Code(.notRedis)

        public var description: String { "\(base)" }
    }

    /// The kind of failure.
    public let code: Code
    /// A full-sentence description: what, where, what to do.
    public let message: String
    /// For `.server` errors, the server's own error text (`ERR wrong number of arguments …`).
    public let serverMessage: String?

    public init(_ code: Code, _ message: String, serverMessage: String? = nil) {
        self.code = code
        self.message = message
        self.serverMessage = serverMessage
    }

    public var description: String { message }

    /// Whether retrying after a reconnect can help (the server or network was the problem).
    public var isConnectionFailure: Bool {
        code == .unreachable || code == .connectionLost || code == .timeout
    }

    /// Error replies that mean "not now" rather than "no": the server did not run the command
    /// and will accept it again once it is done loading, electing, or running a long script.
    /// The same list valkey-swift and redis-py retry on.
    public static let transientReplyPrefixes = [
        "LOADING",      // restarted, still reading its RDB/AOF
        "BUSY",         // a script or function is running past busy-reply-threshold
        "READONLY",     // a failover turned this node into a replica; the new primary is coming
        "MASTERDOWN",   // a replica lost its primary (replica-serve-stale-data no)
        "TRYAGAIN",     // Cluster: a multi-key command during resharding
        "CLUSTERDOWN",  // Cluster: slots not served (a failover in progress)
        "NOREPLICAS",   // min-replicas-to-write not met for a moment
        "UNBLOCKED",    // a blocking command was cut off by a role change
    ]

    /// Whether the server answered with a transient error reply (`LOADING`, `BUSY`, …).
    public var isTransientReply: Bool {
        guard code == .server, let text = serverMessage else { return false }
        return Self.isTransientReply(text)
    }

    /// Whether an error reply's text is one of `transientReplyPrefixes` (a whole first word).
    public static func isTransientReply(_ text: String) -> Bool {
        let word = text.prefix { $0 != " " }
        return transientReplyPrefixes.contains { word == $0 }
    }

    /// Whether waiting and trying again can help: the connection failed, or the server said
    /// "not now". Callers retry these within an outage budget; everything else is final.
    public var isTransient: Bool {
        isConnectionFailure || isTransientReply
    }
}
