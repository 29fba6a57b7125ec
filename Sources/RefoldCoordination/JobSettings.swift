/// What a job's coordinator decides when it forks: retries, leases, and the fate of dead tasks.
public struct JobSettings: Sendable, Equatable {
    /// What a dead-lettered task does to the job.
    public enum DeadTaskPolicy: String, Sendable {
        /// The first dead task fails the job at once.
        case failJob = "fail"
        /// The job joins when every task is resolved, reporting the dead ones.
        case joinWithFailures = "join"
    }

    /// Claims a task may have before it is dead-lettered (failures and expired leases both count).
    public var maxAttempts: Int
    /// Lease length in milliseconds; heartbeats renew it.
    public var leaseMilliseconds: Int
    /// First retry delay in milliseconds; doubles with each attempt (capped at one hour).
    public var backoffMilliseconds: Int
    public var onDeadTask: DeadTaskPolicy
    /// How long every key of the job lives after it finishes, in milliseconds.
    public var retentionMilliseconds: Int
    /// Opaque text that workers read to know what to do (the rebuild puts JSON here).
    public var payload: String

    public init(
        maxAttempts: Int = 3,
        leaseMilliseconds: Int = 30_000,
        backoffMilliseconds: Int = 500,
        onDeadTask: DeadTaskPolicy = .joinWithFailures,
        retentionMilliseconds: Int = 24 * 3_600_000,
        payload: String
    ) {
        self.maxAttempts = maxAttempts
        self.leaseMilliseconds = leaseMilliseconds
        self.backoffMilliseconds = backoffMilliseconds
        self.onDeadTask = onDeadTask
        self.retentionMilliseconds = retentionMilliseconds
        self.payload = payload
    }
}

/// One task to register at fork time.
public struct TaskDefinition: Sendable, Equatable {
    /// Unique within the job.
    public var id: String
    /// Opaque text the worker receives with its lease (the rebuild puts a partition range here).
    public var spec: String

    public init(id: String, spec: String) {
        self.id = id
        self.spec = spec
    }
}
