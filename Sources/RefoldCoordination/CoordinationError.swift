import RefoldRedis

/// The one error type of the coordination module.
public struct CoordinationError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        /// Redis could not be reached or broke mid-command (see `redis`).
        case redis
        /// The job id is already taken; a retried fork never duplicates a job.
        case jobExists
        /// The job does not exist (never created, or expired after its retention).
        case jobMissing
        /// The job is in a state that does not allow the operation.
        case jobClosed
        /// A reply did not have the shape docs/PROTOCOL.md promises (a version mismatch?).
        case protocolViolation
        /// An argument was refused before anything was sent.
        case invalidArgument
    }

    public let code: Code
    public let message: String
    /// The Redis failure underneath, for `.redis`.
    public let redis: RedisError?

    public init(_ code: Code, _ message: String, redis: RedisError? = nil) {
        self.code = code
        self.message = message
        self.redis = redis
    }

    /// Wraps a Redis client error as `.redis`.
    public init(_ error: RedisError) {
        self.init(.redis, error.message, redis: error)
    }

    public var description: String { message }

    /// True when the failure was Redis being unreachable or the connection breaking.
    public var isConnectionFailure: Bool { redis?.isConnectionFailure ?? false }
}

extension CoordinationError {
    /// True when waiting can help: the connection failed, or Redis answered "not now"
    /// (`LOADING`, `BUSY`, `READONLY`, `MASTERDOWN`, `TRYAGAIN`, `CLUSTERDOWN`, …).
    public var isTransient: Bool { redis?.isTransient ?? false }

    /// True when Redis could not be reached at all (nothing listens there, or no route).
    public var isUnreachable: Bool { redis?.code == .unreachable }

    /// True when the command was sent but its reply never came (the connection broke or timed
    /// out): it may have run.
    public var mayHaveRun: Bool {
        guard let code = redis?.code else { return false }
        return code == .connectionLost || code == .timeout
    }
}
