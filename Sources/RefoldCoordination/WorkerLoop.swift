import Foundation
import Logging
import Metrics
import RefoldRedis
import Synchronization

/// The worker loop shared by `refold worker`, the rebuild's spawned workers and the
/// coordination benchmark: discover jobs in the index, claim, run, complete — while a
/// heartbeat thread with its own connection keeps the leases alive.
///
/// Coordination is per task, never per event: a handler folds thousands of events between
/// two Redis calls.
public final class WorkerLoop: Sendable {
    /// How the loop behaves.
    public struct Options: Sendable {
        /// This worker's id, stored with each lease and result (host:pid by default).
        public var workerID: String
        /// Lease length to ask for (ms); 0 uses each job's own.
        public var leaseMilliseconds: Int = 0
        /// Serve only this job, and return once it has finished.
        public var onlyJob: String?
        /// With `onlyJob`: wait this many seconds for the job to be registered (see
        /// `WorkerMachine.Policy.awaitJobUntil`).
        public var awaitJobSeconds: Double?
        /// Longest idle wait between polls of the index, in seconds.
        public var maxIdleWait: Double = 0.25
        /// Give up after Redis has been unreachable this long, in seconds.
        public var redisOutageTolerance: Double = 60
        /// Return after completing this many tasks (like Laravel's `queue:work --max-jobs`):
        /// for recycling workers, and for tests that need a job to stop part-way.
        public var maxTasks: Int?

        public init(workerID: String) {
            self.workerID = workerID
        }

        /// `hostname:pid`, unique enough among the workers of one Redis.
        public static func defaultWorkerID() -> String {
            "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        }
    }

    private let configuration: RedisConfiguration
    private let options: Options
    private let handlerFactory: TaskHandlerFactory
    private let logger: Logger
    private let book = LeaseLedger()
    private let finished = Atomic<Bool>(false)
    private let completedTasks = Atomic<Int>(0)
    private let metrics: WorkerMetrics

    public init(configuration: RedisConfiguration, options: Options, logger: Logger, handlerFactory: @escaping TaskHandlerFactory) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        self.handlerFactory = handlerFactory
        self.metrics = WorkerMetrics()
    }

    /// The decisions' policy, from the options.
    var policy: WorkerMachine.Policy {
        var policy = WorkerMachine.Policy()
        policy.onlyJob = options.onlyJob
        policy.awaitJobUntil = options.awaitJobSeconds.map { MonotonicClock.seconds() + $0 }
        policy.maxIdleWait = options.maxIdleWait
        policy.outageTolerance = options.redisOutageTolerance
        return policy
    }

    /// Runs until `shouldStop` returns true (then the current task is finished or handed back)
    /// or, with `onlyJob`, until that job has finished. Blocks the calling thread: run it on a
    /// thread of its own (`WorkerService` does).
    public func run(shouldStop: @escaping @Sendable () -> Bool) throws {
        let client: CoordinationClient
        do {
            client = try connectWithRetry(shouldStop: shouldStop)
        } catch {
            if shouldStop() { return }  // stopped while Redis was not ready yet: nothing was claimed
            throw error
        }
        logger.info("worker ready", metadata: ["refold.worker": "\(options.workerID)", "refold.redis": "\(configuration.url)"])
        let heartbeat = Thread { [self] in heartbeatLoop() }
        heartbeat.name = "refold-heartbeat"
        heartbeat.start()
        defer { finished.store(true, ordering: .releasing) }

        var machine = WorkerMachine(policy: policy)
        var handlers: [String: any TaskHandler] = [:]
        while !shouldStop() {
            if let limit = options.maxTasks, completedTasks.load(ordering: .relaxed) >= limit {
                logger.info("worker stopping: it completed its --max-tasks", metadata: ["refold.max_tasks": "\(limit)"])
                return
            }
            do {
                let indexed = options.onlyJob == nil ? try client.indexedJobs() : []
                var worked = false
                var awaiting = false
                visiting: for jobID in machine.jobsToVisit(indexed: indexed, now: MonotonicClock.seconds()) where !shouldStop() {
                    if handlers[jobID] == nil {
                        let status = try client.status(jobID: jobID)
                        switch machine.arrival(of: jobID, state: status?.state, now: MonotonicClock.seconds()) {
                        case .wait:
                            if jobID == options.onlyJob { awaiting = true }
                            continue
                        case .gone:
                            try client.unindex(jobID: jobID)
                            if machine.jobEnded(jobID) { return }
                            continue
                        case .ready:
                            break
                        }
                        guard let status else { continue }
                        do {
                            handlers[jobID] = try handlerFactory(jobID, status.payload)
                        } catch {
                            if machine.refuse(jobID) {
                                logger.warning("skipping job: this worker cannot run it", metadata: [
                                    "refold.job": "\(jobID)", "refold.reason": "\((error as? TaskFailure)?.message ?? "\(error)")",
                                ])
                            }
                            continue
                        }
                    }
                    guard let handler = handlers[jobID] else { continue }
                    if machine.shouldReap(jobID, now: MonotonicClock.seconds()) { _ = try client.reap(jobID: jobID) }
                    let outcome = try claim(client, jobID: jobID, count: claimCount(handler.claimBatch))
                    switch machine.afterClaim(jobID, outcome) {
                    case .forget(let stopWorker):
                        handlers[jobID] = nil
                        try client.unindex(jobID: jobID)
                        if stopWorker { return }
                    case .next:
                        continue
                    case .perform:
                        guard case .leases(let leases, let serverNow) = outcome else { continue }
                        let notHere = try perform(leases, serverNow: serverNow, handler: handler, client: client, shouldStop: shouldStop)
                        if let delay = machine.batchEnded(jobID, notHere: notHere != nil, now: MonotonicClock.seconds()) {
                            logger.warning("handed a task back: this worker cannot run it here; backing off from the job", metadata: [
                                "refold.job": "\(jobID)", "refold.reason": "\(notHere ?? "")", "refold.backoff_seconds": "\(Int(delay))",
                            ])
                        }
                        worked = true
                        break visiting  // start again from the oldest job
                    }
                }
                let wait = machine.roundEnded(worked: worked, awaitingJob: awaiting)
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            } catch {
                switch machine.redisFailed(error, now: MonotonicClock.seconds()) {
                case .giveUp:
                    throw error
                case .retry(let after):
                    logger.warning("Redis is not available; retrying", metadata: ["refold.error": "\(error.message)"])
                    Thread.sleep(forTimeInterval: after)
                }
            }
        }
    }

    /// Claims; when the connection broke after the claim was sent (it may have run, its reply
    /// lost), hands back whatever Redis says this worker holds, then rethrows.
    private func claim(_ client: CoordinationClient, jobID: String, count: Int) throws(CoordinationError) -> ClaimOutcome {
        // Written with a Result and `mayHaveRun`: a typed catch comparing the nested
        // `error.redis?.code` before rethrowing crashed the 6.3 optimizer in release builds.
        let result = Result { () throws(CoordinationError) -> ClaimOutcome in
            try client.claim(jobID: jobID, worker: options.workerID, count: count, leaseMilliseconds: options.leaseMilliseconds)
        }
        if case .failure(let error) = result, error.mayHaveRun {
            handBack(client, jobID: jobID)
        }
        return try result.get()
    }

    private func handBack(_ client: CoordinationClient, jobID: String) {
        if let handed = try? client.handBackLostClaims(jobID: jobID, worker: options.workerID), handed > 0 {
            logger.info("handed back tasks whose claim reply was lost", metadata: ["refold.job": "\(jobID)", "refold.tasks": "\(handed)"])
        }
    }

    /// How many tasks to claim: the handler's batch, but never past `maxTasks`.
    private func claimCount(_ batch: Int) -> Int {
        guard let limit = options.maxTasks else { return batch }
        return max(1, min(batch, limit - completedTasks.load(ordering: .relaxed)))
    }

    /// Nothing listening at the first contact is a wrong address, most likely: fail at once (a
    /// service manager restarts the worker if Redis was merely late). A server that is there
    /// but not ready (loading, failing over) is waited for. An early worker (`awaitJobSeconds`)
    /// is started by its coordinator together with a private Redis: nothing listening is tried
    /// again every 2 ms within its wait for the job.
    private func connectWithRetry(shouldStop: @Sendable () -> Bool) throws(CoordinationError) -> CoordinationClient {
        let deadline = options.awaitJobSeconds.map { MonotonicClock.seconds() + $0 }
        while true {
            do {
                return try CoordinationClient.connect(
                    configuration: configuration, budget: OutageBudget(seconds: options.redisOutageTolerance, retryUnreachable: false), refuseEviction: true, shouldStop: shouldStop,
                    onRetry: { error, _ in logger.warning("Redis is not available yet; retrying", metadata: ["refold.error": "\(error.message)"]) })
            } catch {
                guard let deadline, error.isUnreachable, MonotonicClock.seconds() < deadline, !shouldStop() else { throw error }
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
    }

    /// Runs the claimed tasks and completes the finished ones in one call. Returns the reason
    /// when a task was handed back because this worker cannot run it here.
    private func perform(
        _ leases: [TaskLease], serverNow: Int64, handler: any TaskHandler,
        client: CoordinationClient, shouldStop: @escaping @Sendable () -> Bool
    ) throws(CoordinationError) -> String? {
        let now = MonotonicClock.seconds()
        book.state.withLock { book in
            for lease in leases { book.hold(lease, serverMilliseconds: serverNow, now: now) }
        }
        var completions: [TaskCompletion] = []
        var notHere: String?
        let executions = leases.map { TaskExecution(lease: $0, book: book, stopping: shouldStop) }
        // A handler may do a whole claim at once; its results then go through the same decisions.
        let started = MonotonicClock.seconds()
        let together = leases.count > 1 ? handler.perform(batch: executions).flatMap { $0.count == leases.count ? $0 : nil } : nil
        for (index, lease) in leases.enumerated() {
            if together == nil, WorkerMachine.releaseRest(stopping: shouldStop(), notHereSeen: notHere != nil) {
                for rest in leases[index...] {
                    _ = try? client.release(lease: rest, reason: notHere.map { "worker \(options.workerID): \($0)" })
                    book.state.withLock { $0.drop(rest) }
                    metrics.count(.released)
                }
                break
            }
            let execution = executions[index]
            let taskStarted = together == nil ? MonotonicClock.seconds() : started
            var ending = WorkerMachine.TaskEnding.finished
            var message = ""
            var output: TaskOutput?
            do {
                if let together {
                    output = try together[index].get()
                } else {
                    output = try handler.perform(execution)
                }
            } catch let failure as TaskFailure {
                ending = .failed(failure.kind)
                message = failure.message
            } catch is TaskAbandoned {
                ending = .abandoned
            } catch {
                ending = .otherError
                message = "\(error)"
            }
            metrics.taskSeconds.recordSeconds(MonotonicClock.seconds() - taskStarted)
            // Ask before dropping the lease from the book: a dropped lease reads as lost.
            let decision = WorkerMachine.decide(ending, leaseLost: execution.leaseLost, stopping: shouldStop())
            if decision != .complete { book.state.withLock { $0.drop(lease) } }
            switch decision {
            case .complete:
                if let output { completions.append(TaskCompletion(lease: lease, events: output.events, result: output.result)) }
            case .fail(let retryable):
                metrics.count(.failed)
                logger.warning("task failed", metadata: [
                    "refold.job": "\(lease.jobID)", "refold.task": "\(lease.taskID)", "refold.error": "\(message)",
                ])
                _ = try client.fail(lease: lease, worker: options.workerID, retryable: retryable, error: message)
            case .release(let reasoned):
                metrics.count(.released)
                if reasoned { notHere = message }
                _ = try? client.release(lease: lease, reason: reasoned ? "worker \(options.workerID): \(message)" : nil)
            case .drop:
                metrics.count(.abandoned)
                logger.info("lease lost; task abandoned", metadata: ["refold.job": "\(lease.jobID)", "refold.task": "\(lease.taskID)"])
            }
        }
        guard !completions.isEmpty else { return notHere }
        let reply = try completeWithRetry(completions, client: client, shouldStop: shouldStop)
        book.state.withLock { book in
            for completion in completions { book.drop(completion.lease) }
        }
        for (completion, outcome) in zip(completions, reply.outcomes) {
            if outcome == .done || outcome == .duplicate {
                metrics.count(.completed)
                completedTasks.add(1, ordering: .relaxed)
                metrics.events.increment(by: Int64(completion.events))
            } else {
                metrics.count(.stale)
                logger.info("completion rejected: the lease was lost", metadata: [
                    "refold.job": "\(completion.lease.jobID)", "refold.task": "\(completion.lease.taskID)",
                ])
            }
        }
        return notHere
    }

    /// Completion is idempotent (a repeat answers "duplicate"), so it is retried through short outages.
    private func completeWithRetry(
        _ completions: [TaskCompletion], client: CoordinationClient, shouldStop: @Sendable () -> Bool
    ) throws(CoordinationError) -> CompletionReply {
        let start = MonotonicClock.seconds()
        while true {
            do {
                return try client.complete(jobID: completions[0].lease.jobID, worker: options.workerID, completions: completions)
            } catch let error where error.isTransient && MonotonicClock.seconds() - start < options.redisOutageTolerance && !shouldStop() {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Renews held leases every third of the shortest lease, on its own connection, so a long
    /// task never starves its heartbeat.
    private func heartbeatLoop() {
        var client: CoordinationClient?
        while !finished.load(ordering: .acquiring) {
            let interval = book.state.withLock { $0.heartbeatInterval } ?? 0.05
            Thread.sleep(forTimeInterval: min(max(interval, 0.01), 0.05))
            let now = MonotonicClock.seconds()
            let due = book.state.withLock { book -> [String: [(lease: TaskLease, events: Int)]]? in
                _ = book.expireUnconfirmed(now: now)
                return book.heartbeatPlan()
            }
            guard let plan = due, !plan.isEmpty else { continue }
            // Only beat when a third of the lease has passed since the last confirmation.
            if !heartbeatDue(now: now) { continue }
            do {
                let connection = try client ?? CoordinationClient(configuration: configuration)
                client = connection
                for (jobID, leases) in plan {
                    let sentAt = MonotonicClock.seconds()
                    let outcome = try connection.heartbeat(jobID: jobID, worker: options.workerID, leaseMilliseconds: options.leaseMilliseconds, leases: leases)
                    let lost = book.state.withLock { $0.apply(outcome, sent: leases.map(\.lease), sentAt: sentAt) }
                    for lease in lost {
                        logger.info("lease lost", metadata: ["refold.job": "\(lease.jobID)", "refold.task": "\(lease.taskID)"])
                    }
                }
                lastBeat.store(MonotonicClock.seconds().bitPattern, ordering: .relaxed)
            } catch {
                // Redis unreachable: keep trying; LeaseBook presumes leases lost when overdue.
                logger.debug("heartbeat failed", metadata: ["refold.error": "\(error)"])
            }
        }
    }

    private let lastBeat = Atomic<UInt64>(0)

    private func heartbeatDue(now: Double) -> Bool {
        let last = Double(bitPattern: lastBeat.load(ordering: .relaxed))
        let interval = book.state.withLock { $0.heartbeatInterval } ?? 1
        return now - last >= interval
    }
}
