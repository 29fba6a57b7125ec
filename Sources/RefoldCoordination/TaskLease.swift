/// A task held under a lease by one worker.
public struct TaskLease: Sendable, Equatable, Hashable {
    public let jobID: String
    public let taskID: String
    /// The fencing token: only the holder of the current token may heartbeat, complete or fail.
    public let token: String
    /// 1 for the first claim of the task, 2 for the second, …
    public let attempt: Int
    /// Server time (ms) at which the lease expires unless renewed.
    public let deadlineMilliseconds: Int64
    /// The task's spec, as registered at fork.
    public let spec: String

    public init(jobID: String, taskID: String, token: String, attempt: Int, deadlineMilliseconds: Int64, spec: String) {
        self.jobID = jobID
        self.taskID = taskID
        self.token = token
        self.attempt = attempt
        self.deadlineMilliseconds = deadlineMilliseconds
        self.spec = spec
    }
}
