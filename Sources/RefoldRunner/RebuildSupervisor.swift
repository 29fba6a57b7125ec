import RefoldCoordination

/// The coordinator's decisions while a job runs, apart from any I/O: it takes events (a
/// fresh job status, a Redis failure, crashed local workers, a signal) with the time they
/// happened, and answers with actions for the loop around it to carry out. No clock of its
/// own, no Redis, no processes — every rule below has a millisecond unit test.
///
/// Rules:
/// - The model's lock is renewed every `lockRenewal` seconds, expired leases are reaped every
///   `reapInterval` (workers reap too; the coordinator makes sure it happens with none left).
/// - If no task has been claimed `noClaimWarning` seconds after the fork, say so once, with
///   how to start a worker; after `waitForWorkers` (if set) the job is cancelled: exit 3.
/// - A worker that hands tasks back with a reason (it cannot run them on its host) is named
///   once per distinct reason, so a stalled job says why.
/// - Redis may fail transiently for up to `outageBudget` seconds in a row; past that, or on
///   any other failure, the run gives up (the workers' tasks expire; nothing is swapped).
/// - Local workers that crash are replaced, at most `maxWorkerRestarts` times in all. So are
///   local workers that exited cleanly while the job was not finished (a worker bound to a
///   job exits 0 only when it is over): said once, they count against the same limit.
/// - SIGINT/SIGTERM cancel the job; an operator's cancel ends the run as not clean.
public struct RebuildSupervisor: Sendable {
    public struct Policy: Sendable, Equatable {
        public var lockRenewal: Double = 5
        public var reapInterval: Double = 1
        public var noClaimWarning: Double = 10
        /// Seconds to wait for a first claim before cancelling; nil waits forever.
        public var waitForWorkers: Double?
        public var outageBudget: Double = 30
        public var maxWorkerRestarts: Int = 6

        public init() {}
    }

    public enum Event: Sendable {
        /// The loop read the job's status at `now`.
        case status(JobStatus, now: Double)
        /// A Redis call failed at `now`.
        case redisFailed(CoordinationError, now: Double)
        /// `count` local workers were found dead (crashed or killed) at `now`.
        case workersCrashed(count: Int, now: Double)
        /// `count` local workers had exited with status 0 before a status read that found the
        /// job not finished.
        case workersLeft(count: Int)
        /// The model's lock could not be renewed.
        case lockLost(String)
        /// SIGINT or SIGTERM reached the coordinator.
        case signal(Int32)
    }

    public enum Action: Sendable, Equatable {
        case renewLock
        case reap
        case replaceCrashedWorkers
        /// Replace the local workers that exited, cleanly or not.
        case replaceExitedWorkers
        /// One line for standard error.
        case warn(String)
        /// Progress to show: events done and total, a detail text.
        case progress(done: Int64, total: Int64, detail: String)
        /// Cancel the job in Redis with this reason (the loop then ends with `stop`).
        case cancel(reason: String)
        /// The job finished (joined, failed or cancelled): go on to the finish.
        case finished(JobStatus)
        /// End the run with this error (after any `cancel` before it).
        case stop(RunnerError)
    }

    public let job: String
    public let policy: Policy
    /// How to reach the job's Redis, for messages (never with a password).
    public let redisDisplay: String
    private let forkedAt: Double
    private var lastRenewal: Double
    private var lastReap: Double = -.infinity
    private var claimed = false
    private var progressed = false
    private var warnedNoClaim = false
    private var outageSince: Double?
    private var restarts = 0
    private var reasonsSeen: Set<String> = []
    private var warnedLeft = false
    private var done = false

    public init(job: String, policy: Policy, redisDisplay: String, forkedAt: Double) {
        self.job = job
        self.policy = policy
        self.redisDisplay = redisDisplay
        self.forkedAt = forkedAt
        self.lastRenewal = forkedAt
    }

    /// How many crashed local workers were replaced so far.
    public var workerRestarts: Int { restarts }

    /// Whether a `finished` or `stop` action was given: nothing more will be decided.
    public var isDone: Bool { done }

    public mutating func handle(_ event: Event) -> [Action] {
        guard !done else { return [] }
        switch event {
        case .status(let status, let now):
            return onStatus(status, now: now)
        case .redisFailed(let error, let now):
            if error.code == .jobMissing {
                return end(.stop(RunnerError(.infrastructure, "job \(job) vanished from Redis at \(redisDisplay) during the rebuild (restarted without persistence, or flushed?)")))
            }
            guard error.isTransient else {
                return end(.stop(RunnerError(.infrastructure, "Redis at \(redisDisplay) failed during the rebuild: \(error.message)")))
            }
            let since = outageSince ?? now
            outageSince = since
            if now - since > policy.outageBudget {
                return end(.stop(RunnerError(.infrastructure, "Redis at \(redisDisplay) stayed unavailable for \(Int(policy.outageBudget)) s during the rebuild (\(error.message))")))
            }
            return [.progress(done: 0, total: 0, detail: "Redis unavailable, retrying")]
        case .workersCrashed(let count, _):
            guard count > 0 else { return [] }
            return restart(count, overLimit: "local worker processes kept crashing") ?? [.replaceCrashedWorkers]
        case .workersLeft(let count):
            guard count > 0 else { return [] }
            if let over = restart(count, overLimit: "local worker processes kept exiting before job \(job) finished") { return over }
            var actions: [Action] = []
            if !warnedLeft {
                warnedLeft = true
                actions.append(.warn("\(count == 1 ? "a local worker" : "\(count) local workers") exited before job \(job) finished; starting new ones (their logs are kept if the run fails)"))
            }
            return actions + [.replaceExitedWorkers]
        case .lockLost(let why):
            let reason = "the coordinator lost the model's lock: \(why)"
            return end(.cancel(reason: reason), .stop(RunnerError(.infrastructure, reason)))
        case .signal(let number):
            let name = number == 2 ? "SIGINT" : number == 15 ? "SIGTERM" : "signal \(number)"
            return end(.cancel(reason: "the coordinator was interrupted (\(name))"),
                       .stop(RunnerError(.interrupted(number), "interrupted by \(name): job \(job) was cancelled")))
        }
    }

    /// Counts `count` restarts of local workers; past the limit, the run's end (nil otherwise).
    private mutating func restart(_ count: Int, overLimit why: String) -> [Action]? {
        restarts += count
        guard restarts > policy.maxWorkerRestarts else { return nil }
        let reason = "\(why) (\(restarts) restarts)"
        return end(.cancel(reason: reason), .stop(RunnerError(.infrastructure, reason)))
    }

    private mutating func end(_ actions: Action...) -> [Action] {
        done = true
        return actions
    }

    private mutating func onStatus(_ status: JobStatus, now: Double) -> [Action] {
        outageSince = nil
        var actions: [Action] = [.progress(done: status.eventsDone, total: status.eventsTotal, detail: "\(status.done)/\(status.total) tasks")]
        if status.isFinished { return actions + end(.finished(status)) }
        if now - lastRenewal >= policy.lockRenewal {
            lastRenewal = now
            actions.append(.renewLock)
        }
        if now - lastReap >= policy.reapInterval {
            lastReap = now
            actions.append(.reap)
        }
        if !claimed, Self.anyClaim(status) { claimed = true }
        if !progressed, Self.anyProgress(status) { progressed = true }
        // --wait-for-workers: workers that only hand tasks back (they cannot run them on their
        // host) do not count as working on the job.
        let stuck = !progressed && (status.releases > 0 ? status.leased == 0 : !claimed)
        if stuck, let limit = policy.waitForWorkers, now - forkedAt >= limit {
            let reason = status.releases > 0
                ? "workers claimed tasks of job \(job) but handed every one back for \(Self.duration(limit)) (--wait-for-workers)\(status.releaseReason.isEmpty ? "" : "; the last reason: \(status.releaseReason)")"
                : "no worker claimed a task of job \(job) within \(Self.duration(limit)) (--wait-for-workers)"
            return actions + end(.cancel(reason: reason), .stop(RunnerError(.infrastructure, "\(reason); start `refold worker --redis \(redisDisplay)` where the databases are, then run the rebuild again")))
        }
        if !claimed {
            let waited = now - forkedAt
            if !warnedNoClaim, waited >= policy.noClaimWarning {
                warnedNoClaim = true
                actions.append(.warn("no worker has claimed a task of job \(job) in \(Int(policy.noClaimWarning)) s; start one with `refold worker --redis \(redisDisplay)` (or rebuild with --workers N to run local workers)"))
            }
        }
        if !status.releaseReason.isEmpty, !reasonsSeen.contains(status.releaseReason) {
            reasonsSeen.insert(status.releaseReason)
            actions.append(.warn("a worker handed a task of job \(job) back: \(status.releaseReason)"))
        }
        return actions
    }

    /// Whether any task was worked on: finished, failed, retried, or reported events.
    static func anyProgress(_ status: JobStatus) -> Bool {
        status.done > 0 || status.dead > 0 || status.retries > 0 || status.stalls > 0 || status.eventsDone > 0
    }

    /// Whether any task of the job was ever claimed.
    static func anyClaim(_ status: JobStatus) -> Bool {
        status.leased > 0 || status.done > 0 || status.dead > 0 || status.retries > 0 || status.releases > 0 || status.stalls > 0 || status.eventsDone > 0
    }

    static func duration(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(Int(seconds * 1000)) ms"
    }
}
