/// A task that could not be done, and what that means for it.
public struct TaskFailure: Error, Sendable, CustomStringConvertible {
    /// What the loop does with the task.
    public enum Kind: Sendable, Equatable {
        /// Failed, and may succeed on another attempt: retried with backoff until the job's max attempts.
        case retry
        /// Failed for good (a bug in the task, a refused spec): dead-lettered at once.
        case fatal
        /// This worker cannot do it here (a file missing on this host, a schema that differs):
        /// handed back without spending an attempt, for a worker that can; this worker backs
        /// off from the job for a while.
        case notHere
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `retryable` true is `.retry`, false is `.fatal`.
    public init(retryable: Bool, _ message: String) {
        self.init(retryable ? .retry : .fatal, message)
    }

    public var retryable: Bool { kind == .retry }

    public var description: String { message }
}
