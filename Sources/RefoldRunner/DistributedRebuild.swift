import Foundation
import RefoldCoordination
import RefoldCore
import RefoldProcess
import RefoldRedis
import RefoldSQLite

/// A rebuild split into partition tasks and folded by worker processes through the Redis
/// fork-join protocol: the coordinator's side of `refold rebuild` without `--inline`.
///
/// The run has four phases, each its own function: `plan` (read-only checks of every input,
/// the head, the partition plan), `fork` (lock, shadow table, the job in Redis, local
/// workers), `supervise` (the loop around `RebuildSupervisor`'s decisions) and `finish`
/// (check every result against the plan, swap or keep the live table, the report).
public enum DistributedRebuild {
    public struct Options: Sendable {
        public var projection: AnyProjection
        public var locations: RebuildLocations
        /// Local worker processes to spawn (0: only workers running elsewhere).
        public var workers: Int
        public var tasks: Int
        public var leaseMilliseconds: Int
        public var strict: Bool
        public var maxAttempts: Int = 3
        /// Keep a foreign table of the projection's name as a backup instead of refusing.
        public var replaceForeignTable = false
        /// How the coordinator supervises the job (outage budget, waiting for workers, …).
        public var policy = RebuildSupervisor.Policy()

        public init(projection: AnyProjection, locations: RebuildLocations, workers: Int, tasks: Int, leaseMilliseconds: Int, strict: Bool) {
            self.projection = projection
            self.locations = locations
            self.workers = workers
            self.tasks = tasks
            self.leaseMilliseconds = leaseMilliseconds
            self.strict = strict
            policy.maxWorkerRestarts = 2 * workers + 2
        }
    }

    /// What the run produced: the report, and each task's record for timelines.
    public struct Outcome: Sendable {
        public var report: RebuildReport
        public var results: [TaskResult]
        public var dead: [DeadTask]
        public var workerRestarts: Int
        /// The coordinator's own steps, in order, on the wall clock (for the timeline).
        public var phases: [Phase]
    }

    public typealias Phase = RebuildPhase

    /// The run's side channels: progress, warnings, and signals.
    public struct Hooks {
        /// (events done, events total, detail) from the heartbeats' progress.
        public var progress: (Int64, Int64, String) -> Void = { _, _, _ in }
        /// One line for standard error (no worker yet, a worker handing tasks back, Redis retries).
        public var warn: (String) -> Void = { _ in }
        /// The SIGINT/SIGTERM received, if any; polled.
        public var signal: () -> Int32? = { nil }

        public init(progress: @escaping (Int64, Int64, String) -> Void = { _, _, _ in }, warn: @escaping (String) -> Void = { _ in }, signal: @escaping () -> Int32? = { nil }) {
            self.progress = progress
            self.warn = warn
            self.signal = signal
        }
    }

    /// How to reach Redis: the configuration, the URL text for spawned workers (password
    /// included, passed in their environment), and a display form without the password.
    public struct RedisTarget: Sendable {
        public var configuration: RedisConfiguration
        public var urlText: String
        public var display: String

        public init(configuration: RedisConfiguration, urlText: String, display: String? = nil) {
            self.configuration = configuration
            self.urlText = urlText
            self.display = display ?? configuration.url.description
        }
    }

    /// Plans, forks, supervises, finishes. Throws for bad input (nothing written), an
    /// infrastructure failure or an interruption (the live table kept); returns a report
    /// otherwise — with `swapped` false when dead tasks or rejected results kept the live table.
    public static func run(_ options: Options, redis: RedisTarget, hooks: Hooks = Hooks()) throws -> Outcome {
        try run(options, plan: plan(options), redis: redis, hooks: hooks)
    }

    /// The same, with a plan made earlier by `plan(_:)` (the CLI plans before it starts a
    /// private redis-server, so bad input never costs one).
    public static func run(_ options: Options, plan planned: Plan, redis: RedisTarget, hooks: Hooks = Hooks(), early: EarlyWorkers? = nil) throws -> Outcome {
        let start = planned.madeAt
        var phases = planned.phases
        var mark = Date()
        let client: CoordinationClient
        let forked: Forked
        do {
            client = try connect(redis, hooks: hooks)
            phases.append(Phase("connect", from: mark))
            forked = try fork(options, planned, client: client, redis: redis, early: early)
        } catch {
            // Nothing was registered (`fork` undoes what it did when it fails).
            early?.discard()
            throw error
        }
        defer { forked.cleanUp() }
        phases += forked.phases
        do {
            // The coordinator's own count of every range, while the workers start up: what
            // each completed task is checked against at the join.
            mark = Date()
            let expected = try expectations(planned, forked)
            phases.append(Phase("count each range", from: mark))
            mark = Date()
            let (status, restarts) = try supervise(projection: options.projection.name, policy: options.policy, forked, client: client, redis: redis, hooks: hooks)
            phases.append(Phase("wait for the join", from: mark))
            var outcome = try finish(options, planned, forked, expectations: expected, status: status, client: client, restarts: restarts, started: start)
            outcome.phases = phases + outcome.phases
            outcome.report.phases = outcome.phases
            return outcome
        } catch {
            // `refold status` lists the job as finished either way, with why it ended so.
            var why = (error as? RunnerError)?.message ?? "\(error)"
            if let range = why.range(of: "; not swapped: ") { why = String(why[..<range.lowerBound]) }
            try? client.recordFinished(jobID: forked.jobID, summary: JSONValue.object([("swapped", .bool(false)), ("not_swapped_because", .string(why))]).rendered())
            throw error
        }
    }

    // MARK: Plan

    /// Everything known before anything is written.
    public struct Plan {
        let source: any EventSource
        let head: Int64
        let partition: PartitionPlan
        /// Where a foreign table of the projection's name will be kept (`--replace-table`).
        let backupName: String?
        /// When planning started: the run's time counts from here.
        let madeAt: Date
        /// "plan", and whatever the caller did before `run` (starting a private Redis).
        public var phases: [Phase] = []
    }

    /// What `check` found: the inputs are usable, and the head to rebuild up to.
    public struct Checked {
        let source: any EventSource
        let head: Int64
        let backupName: String?
        let madeAt: Date
    }

    /// Read-only checks of every input, in the order a user would fix them: the event table,
    /// the read-model target (its folder, Refold's tables, a foreign table of that name, a
    /// running rebuild), then the head. Fast: no pass over the table.
    public static func check(_ options: Options) throws -> Checked {
        let madeAt = Date()
        let source = try Stores.events(options.locations.events, layout: options.locations.layout)
        let backup = try Stores.preflight(
            options.locations.readModels, projection: options.projection.name, replaceForeign: options.replaceForeignTable)
        let head = try source.headPosition()
        return Checked(source: source, head: head, backupName: backup, madeAt: madeAt)
    }

    /// Every input checked, then the plan.
    public static func plan(_ options: Options) throws -> Plan {
        try plan(options, checked: check(options))
    }

    /// The plan, after `check`: the tasks' ranges and their counts.
    public static func plan(_ options: Options, checked: Checked) throws -> Plan {
        let (source, head) = (checked.source, checked.head)
        // A table-order task holds one state per aggregate of its range: more tasks when a
        // range would hold too many, so a worker's memory stays flat whatever the table's size.
        var partition = try source.plan(tasks: options.tasks, aggregatesPerTask: RangeRebuild.aggregatesPerTask)
        // The plan's counts are the ranges' counts up to the head only if nothing was appended
        // while it was made (positions only grow: a new event lands above the head).
        if partition.countsAreExact, try source.headPosition() != head { partition.countsAreExact = false }
        return Plan(source: source, head: head, partition: partition, backupName: checked.backupName, madeAt: checked.madeAt, phases: [Phase("plan", from: checked.madeAt)])
    }

    // MARK: Early workers

    /// Local workers serving one job. Started early (before the job is registered, while the
    /// coordinator plans) they connect and wait for it (`--await-job`), so their start-up
    /// overlaps the plan.
    public struct EarlyWorkers: Sendable {
        public let jobID: String
        public let pool: LocalWorkerPool
        public let logDirectory: URL
        public let spawned: Phase

        /// Stops the workers and removes their log folder: the run ended before their job was
        /// registered, so they did nothing worth reading.
        public func discard() {
            pool.stopAll(grace: 5)
            try? FileManager.default.removeItem(at: logDirectory)
        }
    }

    /// A new job id for a rebuild of `projection`.
    public static func newJobID(projection name: String) -> String {
        "rebuild-\(name.prefix(40))-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The folder of a job's worker logs (kept when the rebuild fails, removed after a swap or
    /// a stop by signal).
    static func logDirectory(jobID: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("refold-\(jobID)")
    }

    /// The arguments of a local worker serving only `jobID`. An early worker waits up to an
    /// hour for its job (a plan takes seconds even on large tables; a coordinator that dies
    /// first takes its workers with it: `--parent-pid`).
    static func workerArguments(jobID: String, awaitJob: Bool) -> [String] {
        ["--job", jobID, "--poll", "20ms"] + (awaitJob ? ["--await-job", "3600s"] : [])
    }

    /// Starts `count` local workers for `jobID` before the job exists. The caller discards them
    /// if the job is never registered; each also exits with its coordinator.
    public static func startWorkersEarly(count: Int, jobID: String, redis: RedisTarget) throws -> EarlyWorkers {
        try startWorkers(count: count, jobID: jobID, redis: redis, awaitJob: true)
    }

    /// Starts `count` local workers for `jobID`, logging to the job's log folder.
    static func startWorkers(count: Int, jobID: String, redis: RedisTarget, awaitJob: Bool) throws -> EarlyWorkers {
        let spawning = Date()
        let logs = logDirectory(jobID: jobID)
        try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let pool = try LocalWorkerPool(count: count, redisURL: redis.urlText, arguments: workerArguments(jobID: jobID, awaitJob: awaitJob), logDirectory: logs)
        return EarlyWorkers(jobID: jobID, pool: pool, logDirectory: logs, spawned: Phase("spawn workers", from: spawning))
    }

    /// Connects to Redis before anything is written. A server that is not listening fails at
    /// once (a wrong address, most likely); one that is loading its dataset or busy is waited
    /// for within the outage budget.
    static func connect(_ redis: RedisTarget, hooks: Hooks) throws -> CoordinationClient {
        var told = false
        return try CoordinationClient.connect(
            configuration: redis.configuration, budget: OutageBudget(seconds: 30, retryUnreachable: false), refuseEviction: true,
            shouldStop: { hooks.signal() != nil },
            onRetry: { error, _ in
                if !told { hooks.warn("Redis at \(redis.display) is not ready (\(error.redis?.serverMessage ?? error.message)); waiting up to 30 s") }
                told = true
            })
    }

    // MARK: Fork

    /// What the fork made, and how to undo what must not outlive the run.
    final class Forked {
        let jobID: String
        let store: any ReadModelStore
        let definitions: [TaskDefinition]
        var pool: LocalWorkerPool?
        let logDirectory: URL
        var forkedAt = MonotonicClock.seconds()
        /// Run in reverse order when the run ends, however it ends.
        var cleanups: [() -> Void] = []
        var swapped = false
        var finished = false
        /// Whether the workers' log folder goes when they have stopped: after a swap, or when
        /// a signal stopped the run (nothing went wrong to read about). Kept otherwise.
        var discardLogs = false
        var phases: [Phase] = []

        init(jobID: String, store: any ReadModelStore, definitions: [TaskDefinition]) {
            self.jobID = jobID
            self.store = store
            self.definitions = definitions
            logDirectory = DistributedRebuild.logDirectory(jobID: jobID)
        }

        /// Registers the job (its cancel on an early end is a clean-up) and starts local workers.
        func start(settings: JobSettings, eventsTotal: Int64, workers: Int, client: CoordinationClient, redis: RedisTarget, outageBudget: Double, early: EarlyWorkers? = nil) throws {
            cleanups.append { [unowned self] in
                if !self.finished { _ = try? client.cancel(jobID: self.jobID, reason: "the coordinator stopped before the join") }
                _ = try? client.unindex(jobID: self.jobID)
            }
            let registering = Date()
            try client.fork(jobID: jobID, settings: settings, tasks: definitions, eventsTotal: eventsTotal,
                            budget: OutageBudget(seconds: outageBudget, retryUnreachable: true))
            phases.append(Phase("register the job", from: registering))
            if let started = try early ?? (workers > 0 ? DistributedRebuild.startWorkers(count: workers, jobID: jobID, redis: redis, awaitJob: false) : nil) {
                pool = started.pool
                phases.append(started.spawned)
                cleanups.append { [unowned self] in
                    started.pool.stopAll(grace: 5)
                    if self.discardLogs { try? FileManager.default.removeItem(at: self.logDirectory) }
                }
            }
            forkedAt = MonotonicClock.seconds()
        }

        func cleanUp() {
            for cleanup in cleanups.reversed() { cleanup() }
            cleanups = []
        }
    }

    static let lockSeconds: Int64 = 60

    /// Takes the model's lock, makes the shadow table, registers the job, starts local
    /// workers. Whatever fails half-way is undone before the error is thrown.
    static func fork(_ options: Options, _ plan: Plan, client: CoordinationClient, redis: RedisTarget, early: EarlyWorkers? = nil) throws -> Forked {
        let name = options.projection.name
        let forked = Forked(
            jobID: early?.jobID ?? newJobID(projection: name),
            store: try Stores.readModels(options.locations.readModels),
            definitions: plan.partition.ranges.enumerated().map { index, range in
                TaskDefinition(id: String(format: "r%05d", index), spec: range.spec)
            })
        let (jobID, store) = (forked.jobID, forked.store)
        let locking = Date()
        do {
            let owner = "refold rebuild on \(ProcessInfo.processInfo.hostName), pid \(getpid())"
            if let orphan = try store.acquireLock(projection: name, job: jobID, owner: owner, seconds: lockSeconds, redis: redis.display) {
                // A coordinator that died left its job behind: stop it so its workers let go.
                _ = try? client.cancel(jobID: orphan.job, reason: "orphaned: its coordinator stopped renewing the model lock")
                _ = try? client.drop(jobID: orphan.job, minimumBuildingAgeMilliseconds: 0)
            }
            forked.cleanups.append { try? store.releaseLock(projection: name, job: jobID) }
            try store.createShadow(projection: name)
            forked.phases.append(Phase("lock, shadow table", from: locking))
            forked.cleanups.append { [unowned forked] in
                if !forked.swapped {
                    try? store.dropShadow(projection: name)
                    try? store.discardQuarantine(projection: name, job: jobID)
                }
            }
            var spec = RebuildJobSpec(projection: name, projectionVersion: options.projection.version, locations: options.locations, head: plan.head, strict: options.strict)
            if !DatabaseLocation.isURL(options.locations.events) {
                spec.claimBatch = claimBatch(plan.partition, localWorkers: options.workers)
            }
            let settings = JobSettings(
                maxAttempts: options.maxAttempts, leaseMilliseconds: options.leaseMilliseconds, backoffMilliseconds: 200,
                onDeadTask: options.strict ? .failJob : .joinWithFailures, retentionMilliseconds: 24 * 3_600_000, payload: spec.payload)
            try forked.start(settings: settings, eventsTotal: plan.partition.totalEvents, workers: options.workers, client: client, redis: redis, outageBudget: options.policy.outageBudget, early: early)
            return forked
        } catch {
            forked.cleanUp()
            throw error
        }
    }

    /// How many tasks a worker claims at once (SQLite). Local workers only: each claims its
    /// share of the tasks together and reads the table once for all of them (a task stays the
    /// unit of retry); with workers elsewhere, one at a time, so a slow host's share can move.
    /// A claim's tasks are folded as one range, so together they stay within the aggregates one
    /// task may hold: a worker's memory stays where the plan put it. Long aggregates hold larger
    /// states (5M events on 20k orders: 121 MB for claims of two at 250 events an order, 86 MB
    /// one task at a time): claims of one then.
    static func claimBatch(_ partition: PartitionPlan, localWorkers: Int) -> Int {
        guard localWorkers > 0, let aggregates = partition.aggregates, aggregates > 0 else { return 1 }
        let tasks = partition.ranges.count
        let perTask = max(1, (aggregates + Int64(tasks) - 1) / Int64(tasks))
        let long = partition.totalEvents > 100 * aggregates
        let byMemory = long ? 1 : Int(max(1, RangeRebuild.aggregatesPerTask / perTask))
        return min(16, max(1, min(tasks / localWorkers, byMemory)))
    }

    // MARK: Supervise

    /// Waits for the join: reads the job's status, feeds it to the supervisor, carries out
    /// what it decides, and blocks on the job's signal list between reads.
    static func supervise(projection name: String, policy: RebuildSupervisor.Policy, _ forked: Forked, client: CoordinationClient, redis: RedisTarget, hooks: Hooks) throws -> (JobStatus, Int) {
        var supervisor = RebuildSupervisor(job: forked.jobID, policy: policy, redisDisplay: redis.display, forkedAt: forked.forkedAt)
        var pending: [RebuildSupervisor.Event] = []
        while true {
            if let signal = hooks.signal() {
                pending.append(.signal(signal))
            } else if let pool = forked.pool, case let crashed = pool.crashedCount(), crashed > 0 {
                pending.append(.workersCrashed(count: crashed, now: MonotonicClock.seconds()))
            } else {
                // Counted before the read: a worker exits 0 only after it saw the job finished
                // (or was told to stop), so a read after its exit that finds the job unfinished
                // means it left early.
                let left = forked.pool?.cleanExitCount() ?? 0
                do {
                    if let status = try client.status(jobID: forked.jobID) {
                        pending.append(.status(status, now: MonotonicClock.seconds()))
                        if left > 0, !status.isFinished { pending.append(.workersLeft(count: left)) }
                    } else {
                        pending.append(.redisFailed(CoordinationError(.jobMissing, "job \(forked.jobID) is missing"), now: MonotonicClock.seconds()))
                    }
                } catch {
                    pending.append(.redisFailed(error, now: MonotonicClock.seconds()))
                }
            }
            var waitForSignal = true
            while !pending.isEmpty {
                let event = pending.removeFirst()
                for action in supervisor.handle(event) {
                    switch action {
                    case .renewLock:
                        do {
                            try forked.store.renewLock(projection: name, job: forked.jobID, seconds: lockSeconds)
                        } catch {
                            pending.append(.lockLost(error.message))
                        }
                    case .reap:
                        _ = try? client.reap(jobID: forked.jobID)
                    case .replaceCrashedWorkers:
                        forked.pool?.replaceCrashed()
                    case .replaceExitedWorkers:
                        forked.pool?.replaceCrashed(includingCleanExits: true)
                    case .warn(let line):
                        hooks.warn(line)
                    case .progress(let done, let total, let detail):
                        hooks.progress(done, total, detail)
                        if detail.hasPrefix("Redis") { waitForSignal = false }
                    case .cancel(let reason):
                        _ = try? client.cancel(jobID: forked.jobID, reason: reason)
                        forked.finished = true
                    case .finished(let status):
                        forked.finished = true
                        return (status, supervisor.workerRestarts)
                    case .stop(let error):
                        if case .interrupted = error.code { forked.discardLogs = true }
                        throw RunnerError(error.code, "\(error.message); not swapped: \(forked.store.untouched(projection: name)).")
                    }
                }
            }
            if waitForSignal {
                // Returns at once when the job finishes; otherwise after 100 ms, to read progress.
                try? client.waitForSignal(jobID: forked.jobID, seconds: 0.1)
            } else {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }

    // MARK: Finish

    /// Checks every result against the plan; swaps the shadow in only after a clean join
    /// whose every task passed; reports either way.
    /// The events each task must have folded: its range's rows with position ≤ head, counted
    /// by the coordinator itself from the aggregate index.
    static func expectations(_ plan: Plan, _ forked: Forked) throws -> [String: RebuildResultCheck.Expectation] {
        var expectations: [String: RebuildResultCheck.Expectation] = [:]
        for (definition, range) in zip(forked.definitions, plan.partition.ranges) {
            let events = plan.partition.countsAreExact ? range.estimatedEvents : try plan.source.countEvents(range: range, head: plan.head)
            expectations[definition.id] = .init(range: range, events: events)
        }
        return expectations
    }

    static func finish(_ options: Options, _ plan: Plan, _ forked: Forked, expectations: [String: RebuildResultCheck.Expectation], status: JobStatus, client: CoordinationClient, restarts: Int, started: Date) throws -> Outcome {
        let name = options.projection.name
        let jobID = forked.jobID
        var phases: [Phase] = []
        let checking = Date()
        let budget = OutageBudget(seconds: options.policy.outageBudget)
        let results = try budget.run { () throws(CoordinationError) in try client.results(jobID: jobID) }
        let dead = try budget.run { () throws(CoordinationError) in try client.deadTasks(jobID: jobID) }
        switch status.state {
        case .cancelled:
            let who = status.reason.isEmpty ? "an operator" : status.reason
            throw RunnerError(.notClean, "not swapped: job \(jobID) was \(who.hasPrefix("cancelled") ? who : "cancelled: \(who)"); \(forked.store.untouched(projection: name)).")
        case .failed where options.strict:
            let first = dead.first?.error ?? "a task failed"
            throw RunnerError(.notClean, "\(first); the live table of \(name) is untouched.")
        default:
            break
        }

        // Every completed task, checked against the coordinator's own count of its range.
        let check = RebuildResultCheck(job: jobID, expectations: expectations)
        var accepted: [String: RebuildTaskResult] = [:]
        var rejected: [RejectedTaskReport] = []
        for result in results.sorted(by: { $0.taskID < $1.taskID }) {
            let range = expectations[result.taskID]?.range ?? AggregateRange(lower: nil, upper: nil, estimatedEvents: 0)
            let stored = try forked.store.shadowCounts(projection: name, job: jobID, range: range)
            switch check.check(result, stored: .init(rows: stored.rows, quarantined: stored.quarantined)) {
            case .success(let parsed): accepted[result.taskID] = parsed
            case .failure(let problem): rejected.append(RejectedTaskReport(task: result.taskID, worker: result.worker, reason: problem.description))
            }
        }

        var verdict: String?
        if !dead.isEmpty {
            verdict = "\(dead.count) task\(dead.count == 1 ? "" : "s") of job \(jobID) died (\(dead.sorted { $0.taskID < $1.taskID }.prefix(3).map { "\($0.taskID) after \($0.attempts) attempt\($0.attempts == 1 ? "" : "s"): \($0.error)" }.joined(separator: "; ")))"
        } else if !rejected.isEmpty {
            verdict = "\(rejected.count) completed task\(rejected.count == 1 ? " was" : "s were") rejected (" + rejected.prefix(3).map { "\($0.task) completed by worker \($0.worker): \($0.reason)" }.joined(separator: "; ") + ")"
        } else if status.state != .joined {
            verdict = "job \(jobID) ended \(status.state)\(status.reason.isEmpty ? "" : ": \(status.reason)")"
        }

        phases.append(Phase("check the results", from: checking))
        let swapping = Date()
        var keptAs: String?
        if verdict == nil {
            keptAs = try forked.store.swapIn(projection: name, job: jobID, head: plan.head, projectionVersion: options.projection.version, keepForeignAs: plan.backupName)
            forked.swapped = true
            forked.discardLogs = true
        }
        phases.append(Phase(forked.swapped ? "swap" : "keep the live table", from: swapping))
        let quarantined = forked.swapped ? try forked.store.quarantined(projection: name, job: jobID) : []
        var taskSeconds: [String: Double] = [:]
        for result in results { taskSeconds[result.taskID] = result.seconds }
        let counted = accepted.values
        var report = RebuildReport(
            projection: name, job: jobID,
            events: Int(counted.reduce(0) { $0 + $1.events }), aggregates: Int(counted.reduce(0) { $0 + $1.aggregates }),
            rows: Int(counted.reduce(0) { $0 + $1.rows }), seconds: Date().timeIntervalSince(started),
            tasks: forked.definitions.count, retries: status.retries,
            deadTasks: dead.sorted { $0.taskID < $1.taskID }.map { DeadTaskReport(task: $0.taskID, attempts: $0.attempts, error: $0.error) },
            taskSeconds: taskSeconds, headPosition: plan.head, quarantined: quarantined,
            workers: options.workers, mode: "parallel")
        report.swapped = forked.swapped
        report.notSwappedBecause = verdict
        if !forked.swapped { report.untouched = forked.store.untouched(projection: name) }
        report.rejectedTasks = rejected
        report.previousTableKeptAs = keptAs
        // Each worker reports its own peak memory with every task it completes (remote ones too).
        report.workerPeakRSSBytes = counted.map(\.peakRSSKilobytes).filter { $0 > 0 }.max().map { $0 * 1024 }
        try? client.recordFinished(jobID: jobID, summary: report.summaryJSON)
        RebuildMetrics.finished(projection: name, swapped: report.swapped)
        return Outcome(report: report, results: results, dead: dead, workerRestarts: restarts, phases: phases)
    }
}
