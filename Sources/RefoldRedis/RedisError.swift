/// The one error type of the Redis client.
///
/// Every message is a full sentence that names what failed, where, and what to do.
/// Messages never contain a password: endpoints are printed as `host:port` or a socket path.
public struct RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is, for callers that react differently to each.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidURL, unreachable, connectionLost, timeout, authentication, server, protocolViolation, unknownScript
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
}
