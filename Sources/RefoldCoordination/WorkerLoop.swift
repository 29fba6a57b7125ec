import Foundation
import Logging
import RefoldRedis
import Synchronization

/// A finished task's output.
public struct TaskOutput: Sendable {
    /// Events the task processed (its progress contribution).
    public var events: Int
    /// Opaque result stored with the task (the rebuild stores its task report as JSON).
    public var result: String

    public init(events: Int, result: String) {
        self.events = events
        self.result = result
    }
}

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

/// Thrown by a handler that noticed `TaskExecution.shouldAbandon`; the loop then drops or releases the task.
public struct TaskAbandoned: Error, Sendable {
    public init() {}
}

/// One claimed task as a handler sees it: the lease, the job's payload, and a line back to the
/// loop for progress and for "stop now".
public final class TaskExecution: Sendable {
    public let lease: TaskLease
    /// The job's payload (what fork was given).
    public let jobPayload: String
    private let book: LeaseLedger
    private let stopping: @Sendable () -> Bool

    init(lease: TaskLease, jobPayload: String, book: LeaseLedger, stopping: @escaping @Sendable () -> Bool) {
        self.lease = lease
        self.jobPayload = jobPayload
        self.book = book
        self.stopping = stopping
    }

    /// Records how many events are done; the heartbeat carries it to the coordinator's progress bar.
    public func reportProgress(events: Int) {
        book.state.withLock { $0.setProgress(lease, events: events) }
    }

    /// True when the lease is lost or the worker is shutting down: stop and throw `TaskAbandoned`.
    /// Cheap enough to call every few thousand events.
    public var shouldAbandon: Bool {
        leaseLost || stopping()
    }

    /// True when the lease is known or presumed lost (someone else may hold the task now).
    public var leaseLost: Bool {
        let now = MonotonicClock.seconds()
        return book.state.withLock { $0.isLost(lease, now: now) }
    }
}

/// The lease book shared by a worker's task thread and its heartbeat thread.
final class LeaseLedger: Sendable {
    let state = Mutex(LeaseBook())
}

/// What a worker does with the tasks of one kind of job.
public protocol TaskHandler: Sendable {
    /// How many tasks to claim per call (1 for heavy tasks, many for tiny ones).
    var claimBatch: Int { get }
    /// Does one task. Throw `TaskFailure` to fail it, `TaskAbandoned` after `shouldAbandon`.
    func perform(_ task: TaskExecution) throws -> TaskOutput
}

/// Chooses the handler for a job from its payload; throws `TaskFailure` (fatal) when this
/// worker must not run the job (unknown kind, different projection version, …).
public typealias TaskHandlerFactory = @Sendable (_ jobID: String, _ payload: String) throws -> any TaskHandler

/// Monotonic seconds for lease bookkeeping (never wall-clock time).
public enum MonotonicClock {
    public static func seconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
    }
}

/// Counters a worker keeps about itself.
public struct WorkerStatistics: Sendable, Equatable {
    public var completed = 0
    public var failed = 0
    public var abandoned = 0
    public var released = 0
    public var stale = 0
    public init() {}
}

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
        /// Longest idle wait between polls of the index, in seconds.
        public var maxIdleWait: Double = 0.25
        /// Give up after Redis has been unreachable this long, in seconds.
        public var redisOutageTolerance: Double = 60

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
    private let statistics = Mutex(WorkerStatistics())

    public init(configuration: RedisConfiguration, options: Options, logger: Logger, handlerFactory: @escaping TaskHandlerFactory) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        self.handlerFactory = handlerFactory
    }

    /// The counters so far.
    public var currentStatistics: WorkerStatistics { statistics.withLock { $0 } }

    /// Runs until `shouldStop` returns true (then the current task is finished or handed back)
    /// or, with `onlyJob`, until that job has finished. Blocks the calling thread.
    public func run(shouldStop: @escaping @Sendable () -> Bool) throws {
        let client = try connectWithRetry(shouldStop: shouldStop)
        logger.info("worker ready", metadata: ["refold.worker": "\(options.workerID)", "refold.redis": "\(configuration.url)"])
        let heartbeat = Thread { [self] in heartbeatLoop() }
        heartbeat.name = "refold-heartbeat"
        heartbeat.start()
        defer { finished.store(true, ordering: .releasing) }

        var handlers: [String: (handler: any TaskHandler, payload: String)] = [:]
        var refused: Set<String> = []
        var backoff: [String: (until: Double, delay: Double)] = [:]
        var idleWait = 0.005
        var lastReap = 0.0
        var outageSince: Double?

        while !shouldStop() {
            do {
                let jobs = try options.onlyJob.map { [$0] } ?? client.indexedJobs()
                outageSince = nil
                var worked = false
                for jobID in jobs where !refused.contains(jobID) && !shouldStop() {
                    let handler: any TaskHandler
                    let payload: String
                    if let known = handlers[jobID] {
                        (handler, payload) = known
                    } else {
                        guard let status = try client.status(jobID: jobID) else {
                            try client.unindex(jobID: jobID)
                            if options.onlyJob != nil { return }
                            continue
                        }
                        if status.isFinished {
                            try client.unindex(jobID: jobID)
                            if options.onlyJob != nil { return }
                            continue
                        }
                        payload = status.payload
                        do {
                            handler = try handlerFactory(jobID, status.payload)
                        } catch {
                            // Never claim what this worker cannot run: another worker (another
                            // build, another language) may be able to. Said once per job.
                            let reason = (error as? TaskFailure)?.message ?? "\(error)"
                            logger.warning("skipping job: this worker cannot run it", metadata: ["refold.job": "\(jobID)", "refold.reason": "\(reason)"])
                            refused.insert(jobID)
                            continue
                        }
                        handlers[jobID] = (handler, payload)
                    }
                    let now = MonotonicClock.seconds()
                    if let pause = backoff[jobID], now < pause.until { continue }
                    if now - lastReap > 1 {
                        lastReap = now
                        _ = try client.reap(jobID: jobID)
                    }
                    switch try client.claim(jobID: jobID, worker: options.workerID, count: handler.claimBatch, leaseMilliseconds: options.leaseMilliseconds) {
                    case .missing, .closed:
                        handlers[jobID] = nil
                        try client.unindex(jobID: jobID)
                        if options.onlyJob != nil { return }
                    case .leases(let leases, let serverNow):
                        if leases.isEmpty { continue }
                        worked = true
                        if let notHere = try perform(leases, serverNow: serverNow, handler: handler, payload: payload, client: client, shouldStop: shouldStop) {
                            let delay = min(30, max(1, (backoff[jobID]?.delay ?? 0.5) * 2))
                            backoff[jobID] = (MonotonicClock.seconds() + delay, delay)
                            logger.warning("handed a task back: this worker cannot run it here; backing off from the job", metadata: [
                                "refold.job": "\(jobID)", "refold.reason": "\(notHere)", "refold.backoff_seconds": "\(Int(delay))",
                            ])
                        } else {
                            backoff[jobID] = nil
                        }
                    }
                    if worked { break }  // start again from the oldest job
                }
                if worked {
                    idleWait = 0.005
                } else {
                    Thread.sleep(forTimeInterval: idleWait)
                    idleWait = min(idleWait * 2, options.maxIdleWait)
                }
            } catch let error as CoordinationError where error.isTransient {
                let now = MonotonicClock.seconds()
                let since = outageSince ?? now
                outageSince = since
                if now - since > options.redisOutageTolerance { throw error }
                logger.warning("Redis is unreachable; retrying", metadata: ["refold.error": "\(error.message)"])
                Thread.sleep(forTimeInterval: min(1, 0.05 + (now - since) / 4))
            }
        }
    }

    private func connectWithRetry(shouldStop: @Sendable () -> Bool) throws(CoordinationError) -> CoordinationClient {
        try CoordinationClient.connect(
            configuration: configuration, budget: OutageBudget(seconds: options.redisOutageTolerance), shouldStop: shouldStop,
            onRetry: { error, _ in logger.warning("Redis is not available yet; retrying", metadata: ["refold.error": "\(error.message)"]) })
    }

    /// Runs the claimed tasks and completes them in one call. Returns the reason when a task
    /// was handed back because this worker cannot run it here (`TaskFailure.Kind.notHere`).
    private func perform(
        _ leases: [TaskLease], serverNow: Int64, handler: any TaskHandler, payload: String,
        client: CoordinationClient, shouldStop: @escaping @Sendable () -> Bool
    ) throws(CoordinationError) -> String? {
        let now = MonotonicClock.seconds()
        book.state.withLock { book in
            for lease in leases { book.hold(lease, serverMilliseconds: serverNow, now: now) }
        }
        var completions: [TaskCompletion] = []
        var notHere: String?
        for (index, lease) in leases.enumerated() {
            let execution = TaskExecution(lease: lease, jobPayload: payload, book: book, stopping: shouldStop)
            if shouldStop() || notHere != nil {
                // Shutting down, or this worker cannot run the job here: hand back what was
                // claimed but not started.
                for rest in leases[index...] {
                    _ = try? client.release(lease: rest, reason: notHere.map { "worker \(options.workerID): \($0)" })
                    book.state.withLock { $0.drop(rest) }
                    statistics.withLock { $0.released += 1 }
                }
                break
            }
            do {
                let output = try handler.perform(execution)
                completions.append(TaskCompletion(lease: lease, events: output.events, result: output.result))
            } catch {
                // Ask before dropping the lease from the book: a dropped lease reads as lost.
                let lost = execution.leaseLost
                book.state.withLock { $0.drop(lease) }
                let failure: TaskFailure
                switch error {
                case let known as TaskFailure:
                    failure = known
                case is TaskAbandoned:
                    if lost {
                        statistics.withLock { $0.abandoned += 1 }
                        logger.info("lease lost; task abandoned", metadata: ["refold.job": "\(lease.jobID)", "refold.task": "\(lease.taskID)"])
                    } else {
                        // Stopping (SIGTERM): hand the task back at once so another worker takes it.
                        _ = try? client.release(lease: lease)
                        statistics.withLock { $0.released += 1 }
                    }
                    continue
                default:
                    // Anything else is a failure that counts: released without cost, a poison
                    // task would loop forever.
                    failure = TaskFailure(.retry, "\(error)")
                }
                if lost {
                    statistics.withLock { $0.abandoned += 1 }
                    continue
                }
                if failure.kind == .notHere {
                    notHere = failure.message
                    _ = try? client.release(lease: lease, reason: "worker \(options.workerID): \(failure.message)")
                    statistics.withLock { $0.released += 1 }
                    continue
                }
                statistics.withLock { $0.failed += 1 }
                logger.warning("task failed", metadata: [
                    "refold.job": "\(lease.jobID)", "refold.task": "\(lease.taskID)", "refold.error": "\(failure.message)",
                ])
                _ = try client.fail(lease: lease, worker: options.workerID, retryable: failure.retryable, error: failure.message)
            }
        }
        guard !completions.isEmpty else { return notHere }
        let reply = try completeWithRetry(completions, client: client, shouldStop: shouldStop)
        book.state.withLock { book in
            for completion in completions { book.drop(completion.lease) }
        }
        statistics.withLock { stats in
            for outcome in reply.outcomes {
                if outcome == .done || outcome == .duplicate { stats.completed += 1 } else { stats.stale += 1 }
            }
        }
        for (completion, outcome) in zip(completions, reply.outcomes) where outcome == .stale {
            logger.info("completion rejected: the lease was lost", metadata: [
                "refold.job": "\(completion.lease.jobID)", "refold.task": "\(completion.lease.taskID)",
            ])
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
            } catch let error where error.isTransient && MonotonicClock.seconds() - start < options.redisOutageTolerance {
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
