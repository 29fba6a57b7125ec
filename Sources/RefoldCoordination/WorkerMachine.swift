/// Every decision of a worker, apart from any I/O: which job to try next, when to reap, how
/// long to idle, what each way a task can end means for it, when to back off from a job,
/// when an outage is too long, when a worker bound to one job is done. `WorkerLoop` does
/// the Redis calls and runs the handlers; it asks this type what to do after each of them.
/// No clock of its own (callers pass monotonic seconds), so every rule has a unit test.
///
/// Rules:
/// - Jobs are visited oldest first; after a round that did work the next round starts again
///   from the oldest, so old jobs finish first.
/// - A job's payload is read before anything is claimed; a job this worker cannot run (its
///   kind, projection or version) is skipped for good, without a claim.
/// - A task the worker cannot run on this host (`TaskFailure.Kind.notHere`) is handed back
///   with its reason, as are the tasks claimed with it but not started; the worker then
///   backs off from that job for 1 s, doubling to at most 30 s, until it completes a task of it.
/// - Any other error from a handler fails the task (retryable): released without cost, a
///   poison task would loop forever.
/// - A lost lease drops the task (nobody calls fail or release: someone else may hold it); a
///   stop hands it back.
/// - Idle rounds wait 5 ms, doubling to `maxIdleWait`; expired leases of each job are reaped
///   at most once a second.
/// - Redis may fail transiently for `outageTolerance` seconds in a row; past that, or on any
///   other failure, the worker stops with the error.
public struct WorkerMachine: Sendable {
    public struct Policy: Sendable, Equatable {
        /// Serve only this job, and stop when it is gone or finished.
        public var onlyJob: String?
        /// With `onlyJob`: until this monotonic time, a job not registered yet is waited for
        /// (polled every 2 ms) instead of taken as gone — a coordinator starts its local
        /// workers while it plans, before it registers the job. Once seen, gone is gone.
        public var awaitJobUntil: Double?
        /// Longest idle wait between polls, in seconds.
        public var maxIdleWait: Double = 0.25
        /// How long Redis may be unavailable before the worker gives up, in seconds.
        public var outageTolerance: Double = 60
        /// Seconds between reaps of one job's expired leases.
        public var reapInterval: Double = 1
        /// First and longest back-off from a job this worker cannot run here, in seconds.
        public var firstBackoff: Double = 1
        public var longestBackoff: Double = 30

        public init() {}
    }

    /// How a claimed task ended in the handler.
    public enum TaskEnding: Sendable, Equatable {
        case finished
        /// `TaskFailure` of the given kind.
        case failed(TaskFailure.Kind)
        /// The handler noticed the lease was lost or the worker stopping (`TaskAbandoned`).
        case abandoned
        /// Any other error.
        case otherError
    }

    /// What to do with a task after its handler returned.
    public enum TaskDecision: Sendable, Equatable {
        /// Report it with complete.lua.
        case complete
        /// Report it with fail.lua.
        case fail(retryable: Bool)
        /// Hand it back with release.lua (no attempt spent); `reasoned` when it carries why.
        case release(reasoned: Bool)
        /// Forget it: the lease is gone, someone else may hold the task.
        case drop
    }

    /// What to do after a claim answered.
    public enum ClaimDecision: Sendable, Equatable {
        /// Run these tasks.
        case perform
        /// Nothing ready: try the next job.
        case next
        /// The job is closed or gone: drop it from the index (and stop, when bound to it).
        case forget(stopWorker: Bool)
    }

    /// What to do after a transient or final Redis failure.
    public enum OutageDecision: Sendable, Equatable {
        case retry(after: Double)
        case giveUp
    }

    public let policy: Policy
    private var refused: Set<String> = []
    private var backoff: [String: (until: Double, delay: Double)] = [:]
    private var lastReap: [String: Double] = [:]
    private var idleWait = 0.005
    private var outageSince: Double?
    private var seenJob = false

    public init(policy: Policy) {
        self.policy = policy
    }

    // MARK: Jobs

    /// The jobs to visit this round, in order: the bound job, or the index minus refused jobs
    /// and jobs this worker is backing off from.
    public func jobsToVisit(indexed: [String], now: Double) -> [String] {
        let candidates = policy.onlyJob.map { [$0] } ?? indexed
        return candidates.filter { job in
            !refused.contains(job) && (backoff[job].map { now >= $0.until } ?? true)
        }
    }

    /// A job whose payload this worker cannot run: skip it from now on. Returns true the
    /// first time (say so once).
    public mutating func refuse(_ job: String) -> Bool {
        refused.insert(job).inserted
    }

    /// What a job's status, read before its first claim, means for this worker.
    public enum Arrival: Sendable, Equatable {
        /// Open: make its handler and claim.
        case ready
        /// Not claimable yet: its coordinator has not registered it, or is registering its
        /// tasks (state `building`). A bound worker polls again in 2 ms; others pass it by.
        case wait
        /// Finished or gone: drop it from the index (and stop, when bound to it).
        case gone
    }

    /// Reads a job's state (nil: no such job) before its first claim. A bound worker waits
    /// for a job that does not exist yet within `awaitJobUntil`, until it has seen it once;
    /// every worker waits while a job is `building` (its tasks are being registered: a claim
    /// would find it closed, and a bound worker would take that for its end).
    public mutating func arrival(of job: String, state: JobState?, now: Double) -> Arrival {
        switch state {
        case nil:
            guard policy.onlyJob == job, !seenJob, let until = policy.awaitJobUntil, now < until else { return .gone }
            return .wait
        case .building?:
            return .wait
        case let state? where state.isFinished:
            return .gone
        case _?:
            if policy.onlyJob == job { seenJob = true }
            return .ready
        }
    }

    /// The job's status said it is gone or finished: true when the worker should stop (bound to it).
    public func jobEnded(_ job: String) -> Bool {
        policy.onlyJob == job
    }

    /// Whether to reap this job's expired leases now (records that it was done).
    public mutating func shouldReap(_ job: String, now: Double) -> Bool {
        if let last = lastReap[job], now - last < policy.reapInterval { return false }
        lastReap[job] = now
        return true
    }

    public func afterClaim(_ job: String, _ outcome: ClaimOutcome) -> ClaimDecision {
        switch outcome {
        case .closed(state: .building): return .next  // still being registered
        case .missing, .closed: return .forget(stopWorker: policy.onlyJob == job)
        case .leases(let leases, _): return leases.isEmpty ? .next : .perform
        }
    }

    // MARK: Tasks

    /// What a task's ending means. A lost lease wins over everything: the task may be someone
    /// else's now, so this worker neither fails nor releases it.
    public static func decide(_ ending: TaskEnding, leaseLost: Bool, stopping: Bool) -> TaskDecision {
        if leaseLost && ending != .finished { return .drop }
        switch ending {
        case .finished: return .complete
        case .failed(.retry), .otherError: return .fail(retryable: true)
        case .failed(.fatal): return .fail(retryable: false)
        case .failed(.notHere): return .release(reasoned: true)
        case .abandoned: return stopping ? .release(reasoned: false) : .drop
        }
    }

    /// Whether the tasks claimed together but not started yet should be handed back: the
    /// worker is stopping, or one of them could not run here (the rest could not either).
    public static func releaseRest(stopping: Bool, notHereSeen: Bool) -> Bool {
        stopping || notHereSeen
    }

    /// After a batch of one job: back off when a task could not run here, else clear any back-off.
    /// Returns the back-off in seconds, if one starts.
    public mutating func batchEnded(_ job: String, notHere: Bool, now: Double) -> Double? {
        guard notHere else {
            backoff[job] = nil
            return nil
        }
        let delay = min(policy.longestBackoff, max(policy.firstBackoff, (backoff[job]?.delay ?? policy.firstBackoff / 2) * 2))
        backoff[job] = (now + delay, delay)
        return delay
    }

    // MARK: Pace and outages

    /// The wait before the next round: none after work, 2 ms while the bound job is awaited
    /// (`arrival` said `wait`), else growing up to `maxIdleWait`.
    public mutating func roundEnded(worked: Bool, awaitingJob: Bool = false) -> Double {
        outageSince = nil
        // A coordinator registers the job within moments of starting its workers.
        if awaitingJob { return 0.002 }
        if worked {
            idleWait = 0.005
            return 0
        }
        let wait = idleWait
        idleWait = min(idleWait * 2, policy.maxIdleWait)
        return wait
    }

    /// A Redis call failed.
    public mutating func redisFailed(_ error: CoordinationError, now: Double) -> OutageDecision {
        guard error.isTransient else { return .giveUp }
        let since = outageSince ?? now
        outageSince = since
        if now - since > policy.outageTolerance { return .giveUp }
        return .retry(after: min(1, 0.05 + (now - since) / 4))
    }
}
