import Foundation
import RefoldCoordination
import RefoldCore
import RefoldProcess
import RefoldRedis
import RefoldSQLite

/// A rebuild split into partition tasks and folded by worker processes through the Redis
/// fork-join protocol: the coordinator's side of `refold rebuild` without `--inline`.
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
        /// A crashed local worker is replaced at most this many times in one run.
        public var maxWorkerRestarts: Int
        /// How long Redis may be unreachable before the run gives up, in seconds.
        public var redisOutageTolerance: Double = 30

        public init(projection: AnyProjection, locations: RebuildLocations, workers: Int, tasks: Int, leaseMilliseconds: Int, strict: Bool) {
            self.projection = projection
            self.locations = locations
            self.workers = workers
            self.tasks = tasks
            self.leaseMilliseconds = leaseMilliseconds
            self.strict = strict
            maxWorkerRestarts = 2 * workers + 2
        }
    }

    /// What the run produced: the report, and each task's record for timelines.
    public struct Outcome: Sendable {
        public var report: RebuildReport
        public var results: [TaskResult]
        public var dead: [DeadTask]
        public var workerRestarts: Int
    }

    /// Plans, forks, spawns workers, waits for the join, swaps the shadow in.
    ///
    /// - Parameters:
    ///   - progress: (events done, events total, detail) from the heartbeats' progress.
    ///   - shouldStop: polled; true cancels the job, stops the workers, drops the shadow.
    public static func run(
        _ options: Options, redis: RedisConfiguration, redisURLText: String,
        progress: @escaping (Int64, Int64, String) -> Void = { _, _, _ in },
        shouldStop: @escaping () -> Bool = { false }
    ) throws -> Outcome {
        let start = Date()
        let projection = options.projection
        let name = projection.name
        // Bad input first, before Redis or the read-model database is touched.
        let source = try SQLiteEventSource(path: options.locations.events, layout: options.locations.layout)
        try SQLiteReadModelStore.validate(projection: name)
        let head = try source.headPosition()
        let plan = try source.plan(tasks: options.tasks)
        let client = try CoordinationClient(configuration: redis)
        let store = try SQLiteReadModelStore(path: options.locations.readModels)

        let jobID = "rebuild-\(name.prefix(40))-\(UUID().uuidString.prefix(8).lowercased())"
        let lockSeconds: Int64 = 60
        let owner = "refold rebuild on \(ProcessInfo.processInfo.hostName), pid \(getpid())"
        if let orphan = try store.acquireLock(projection: name, job: jobID, owner: owner, seconds: lockSeconds) {
            // A coordinator that died left its job behind: stop it so its workers let go.
            _ = try? client.cancel(jobID: orphan.job, reason: "orphaned: its coordinator stopped renewing the model lock")
            _ = try? client.drop(jobID: orphan.job, minimumBuildingAgeMilliseconds: 0)
        }
        var cleanups: [() -> Void] = [{ try? store.releaseLock(projection: name, job: jobID) }]
        defer { for cleanup in cleanups.reversed() { cleanup() } }

        try store.createShadow(projection: name)
        var swapped = false
        cleanups.append {
            if !swapped {
                try? store.dropShadow(projection: name)
                try? store.discardQuarantine(projection: name, job: jobID)
            }
        }

        let spec = RebuildJobSpec(projection: name, projectionVersion: projection.version, locations: options.locations, head: head, strict: options.strict)
        let settings = JobSettings(
            maxAttempts: options.maxAttempts, leaseMilliseconds: options.leaseMilliseconds, backoffMilliseconds: 200,
            onDeadTask: options.strict ? .failJob : .joinWithFailures, retentionMilliseconds: 24 * 3_600_000, payload: spec.payload)
        let definitions = plan.ranges.enumerated().map { index, range in
            TaskDefinition(id: String(format: "r%05d", index), spec: range.spec)
        }
        try client.fork(jobID: jobID, settings: settings, tasks: definitions, eventsTotal: plan.totalEvents)
        var finished = false
        cleanups.append {
            if !finished { _ = try? client.cancel(jobID: jobID, reason: "the coordinator stopped before the join") }
            _ = try? client.unindex(jobID: jobID)
        }

        var pool: LocalWorkerPool?
        let logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-\(jobID)")
        if options.workers > 0 {
            try? FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
            pool = try LocalWorkerPool(count: options.workers, redisURL: redisURLText, arguments: ["--job", jobID, "--poll", "20ms"], logDirectory: logDirectory)
            cleanups.append { pool?.stopAll(grace: 5) }
        }

        var lastRenewal = Date()
        var lastReap = Date()
        var failure: RunnerError?
        // Wait for the join, riding through Redis outages (a restart, a failover) of up to
        // `redisOutageTolerance` seconds: workers reconnect on their own, and the protocol's
        // state survives a restart with AOF.
        var status: JobStatus?
        var outageSince: Date?
        while status == nil {
            do {
                status = try client.waitForJoin(jobID: jobID, poll: 0.1, shouldStop: { failure != nil || shouldStop() }) { status in
                    outageSince = nil
                    progress(status.eventsDone, status.eventsTotal, "\(status.done)/\(status.total) tasks")
                    let now = Date()
                    if now.timeIntervalSince(lastRenewal) > 5 {
                        lastRenewal = now
                        do {
                            try store.renewLock(projection: name, job: jobID, seconds: lockSeconds)
                        } catch {
                            failure = RunnerError(.infrastructure, "lost the rebuild lock of \(name): \(error)")
                        }
                    }
                    if now.timeIntervalSince(lastReap) > 1 {
                        lastReap = now
                        _ = try? client.reap(jobID: jobID)
                    }
                    if let pool, pool.replaceCrashed() > 0, pool.restarts > options.maxWorkerRestarts {
                        failure = RunnerError(.infrastructure, "local worker processes kept crashing (\(pool.restarts) restarts); their logs are in \(logDirectory.path).")
                    }
                }
            } catch {
                let coordination = error
                if coordination.code == .jobMissing {
                    throw RunnerError(.infrastructure, "job \(jobID) vanished from Redis at \(redis.url.endpointDescription) during the rebuild (restarted without persistence, or flushed?); the live table of \(name) is untouched.")
                }
                guard coordination.isConnectionFailure else { throw error }
                let since = outageSince ?? Date()
                outageSince = since
                if Date().timeIntervalSince(since) > options.redisOutageTolerance || shouldStop() {
                    throw RunnerError(.infrastructure, "Redis at \(redis.url.endpointDescription) stayed unreachable for \(Int(options.redisOutageTolerance)) s during the rebuild of \(name) (\(coordination.message)); the live table is untouched.")
                }
                progress(0, 0, "Redis unreachable, retrying")
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        guard let status else { throw RunnerError(.infrastructure, "no status") }
        if let failure { throw failure }
        if !status.isFinished {
            throw RunnerError(.infrastructure, "interrupted: the rebuild of \(name) was cancelled (job \(jobID)); the live table is untouched.")
        }
        finished = true

        let results = try client.results(jobID: jobID)
        let dead = try client.deadTasks(jobID: jobID)
        switch status.state {
        case "cancelled":
            throw RunnerError(.notClean, "job \(jobID) was cancelled (\(status.reason.isEmpty ? "by an operator" : status.reason)); the live table of \(name) is untouched.")
        case "failed" where options.strict:
            let first = dead.first?.error ?? "a task failed"
            throw RunnerError(.notClean, "\(first); the live table of \(name) is untouched.")
        default:
            break
        }
        // A model with a dead range would be silently incomplete: only a clean join is swapped in.
        if dead.isEmpty && status.state == "joined" {
            try store.swapIn(projection: name, job: jobID, head: head, projectionVersion: projection.version)
            swapped = true
            try? FileManager.default.removeItem(at: logDirectory)
        }
        let summaries = results.map { TaskSummary(resultJSON: $0.result) }
        let quarantined = swapped ? try store.quarantined(projection: name, job: jobID) : []
        var taskSeconds: [String: Double] = [:]
        for result in results { taskSeconds[result.taskID] = result.seconds }
        let report = RebuildReport(
            projection: name, job: jobID,
            events: summaries.reduce(0) { $0 + $1.events }, aggregates: summaries.reduce(0) { $0 + $1.aggregates },
            rows: summaries.reduce(0) { $0 + $1.rows }, seconds: Date().timeIntervalSince(start),
            tasks: definitions.count, retries: status.retries,
            deadTasks: dead.sorted { $0.taskID < $1.taskID }.map { DeadTaskReport(task: $0.taskID, attempts: $0.attempts, error: $0.error) },
            taskSeconds: taskSeconds, headPosition: head, quarantined: quarantined,
            workers: options.workers, mode: "parallel")
        // Each worker reports its own peak memory with every task it completes (remote ones too).
        var withMemory = report
        let peaks = summaries.compactMap(\.peakRSSKilobytes).filter { $0 > 0 }
        withMemory.workerPeakRSSBytes = peaks.max().map { $0 * 1024 }
        return Outcome(report: withMemory, results: results, dead: dead, workerRestarts: pool?.restarts ?? 0)
    }
}
