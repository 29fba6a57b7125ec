import Foundation
import RefoldRedis

/// The typed API over the fork-join scripts of `lua/`, on one Redis connection.
///
/// Calls block the calling thread (they are Redis round trips): call them from a thread of
/// your own, or through `BlockingPool` from async code — never on the cooperative pool.
///
/// ```swift
/// let client = try CoordinationClient(configuration: config)
/// try client.fork(jobID: "rebuild-1", settings: JobSettings(payload: "{}"), tasks: tasks)
/// let outcome = try client.run(ClaimScript(jobID: "rebuild-1", worker: "w1", count: 1))
/// ```
public final class CoordinationClient: Sendable {
    /// The connection, with every protocol script registered.
    public let redis: RedisConnection

    /// Connects to Redis and loads every script of the protocol.
    public init(configuration: RedisConfiguration) throws(CoordinationError) {
        do {
            redis = try RedisConnection(configuration, scripts: LuaScripts.all)
        } catch {
            throw CoordinationError(error)
        }
    }

    /// Connects, retrying transient failures (a server still loading its dataset, say) within
    /// `budget`. Roles that keep state in Redis (coordinators, workers, the live service) pass
    /// `refuseEviction`: a Redis that may evict keys would silently drop a job's keys.
    public static func connect(
        configuration: RedisConfiguration, budget: OutageBudget,
        refuseEviction: Bool = false,
        shouldStop: () -> Bool = { false },
        onRetry: (CoordinationError, Double) -> Void = { _, _ in }
    ) throws(CoordinationError) -> CoordinationClient {
        let client = try budget.run(shouldStop: shouldStop, onRetry: onRetry) { () throws(CoordinationError) in
            try CoordinationClient(configuration: configuration)
        }
        if refuseEviction { try client.refuseEvictingRedis() }
        return client
    }

    /// Throws unless every node (every master of a cluster) has `maxmemory-policy noeviction`.
    /// Any other policy may evict a job's keys under memory pressure (the `volatile-*` ones too:
    /// every job key has a retention TTL), and a job whose keys vanish cannot be trusted.
    public func refuseEvictingRedis() throws(CoordinationError) {
        let replies: [(node: String, reply: RedisReply)]
        do {
            replies = try redis.everyMaster(RedisCommand("INFO", "memory"))
        } catch {
            // A user whose ACL does not allow INFO cannot be checked; the deployment guide says
            // what to set, and the protocol itself does not need INFO.
            if error.serverMessage?.hasPrefix("NOPERM") == true { return }
            throw CoordinationError(error)
        }
        for (node, reply) in replies {
            guard let text = reply.string, let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("maxmemory_policy:") }) else { continue }
            let policy = line.dropFirst("maxmemory_policy:".count).trimmingCharacters(in: .whitespaces)
            if policy != "noeviction" {
                throw CoordinationError(.invalidArgument, "Redis at \(node) has maxmemory-policy \(policy), so it may evict Refold's job keys under memory pressure; set maxmemory-policy noeviction there (CONFIG SET maxmemory-policy noeviction, and in redis.conf) or give Refold a Redis of its own (docs/DEPLOY.md).")
            }
        }
    }

    /// Runs one protocol script with its job's 14 keys and reads its reply.
    public func run<Script: ProtocolScript>(_ script: Script) throws(CoordinationError) -> Script.Reply {
        try script.validate()
        let raw: RedisReply
        do {
            raw = try redis.evalScript(Script.name, keys: script.keys, arguments: script.arguments, readOnly: Script.readOnly)
        } catch {
            throw CoordinationError(error)
        }
        return try script.reply(raw)
    }

    private func command(_ command: RedisCommand) throws(CoordinationError) -> RedisReply {
        do {
            return try redis.send(command)
        } catch {
            throw CoordinationError(error)
        }
    }

    // MARK: Fork

    /// Creates the job, registers its tasks in chunks while it is "building", seals it open in
    /// one step, and lists it in the job index. Throws `.jobExists` if the id is taken.
    ///
    /// Each step is retried through `budget`. A retried step is harmless: a fork that finds
    /// its own job (same payload, still building) goes on, registering a chunk twice is a
    /// no-op, and a seal that finds the job already open was the earlier attempt's.
    public func fork(
        jobID: String,
        settings: JobSettings,
        tasks: [TaskDefinition],
        eventsTotal: Int64 = 0,
        chunkSize: Int = 1000,
        budget: OutageBudget = .none
    ) throws(CoordinationError) {
        if case .exists(let state) = try budget.run({ () throws(CoordinationError) in try run(ForkScript(jobID: jobID, settings: settings)) }) {
            let existing = try budget.run { () throws(CoordinationError) in try status(jobID: jobID) }
            guard let existing, existing.state == .building, existing.payload == settings.payload else {
                throw CoordinationError(.jobExists, "a job with id \"\(jobID)\" already exists (state \(state)); pick another id or drop the old job.")
            }
        }
        var start = 0
        let size = max(1, min(chunkSize, 1000))
        while start < tasks.count {
            let chunk = RegisterScript(jobID: jobID, tasks: Array(tasks[start..<min(start + size, tasks.count)]))
            switch try budget.run({ () throws(CoordinationError) in try run(chunk) }) {
            case .registered: break
            case .closed(let state):
                throw CoordinationError(.jobClosed, "registering tasks of job \"\(jobID)\" failed: the job is \(state) (was it cancelled meanwhile?).")
            case .missing:
                throw CoordinationError(.jobClosed, "registering tasks of job \"\(jobID)\" failed: the job is gone (was it dropped meanwhile?).")
            }
            start += size
        }
        var attempts = 0
        let sealed = try budget.run { () throws(CoordinationError) in
            attempts += 1
            return try run(SealScript(jobID: jobID, taskCount: tasks.count, eventsTotal: eventsTotal))
        }
        switch sealed {
        case .sealed: break
        case .closed(let state) where attempts > 1 && (state == .open || state == .joined): break  // our earlier attempt sealed it
        default:
            throw CoordinationError(.jobClosed, "sealing job \"\(jobID)\" failed: \(sealed).")
        }
        _ = try budget.run { () throws(CoordinationError) in
            try command(RedisCommand("ZADD", JobKeys.index, Int64(Date().timeIntervalSince1970 * 1000), jobID))
        }
    }

    // MARK: Work

    /// Takes up to `count` ready tasks under leases. `leaseMilliseconds` 0 uses the job's lease.
    public func claim(jobID: String, worker: String, count: Int, leaseMilliseconds: Int = 0) throws(CoordinationError) -> ClaimOutcome {
        try run(ClaimScript(jobID: jobID, worker: worker, count: count, leaseMilliseconds: leaseMilliseconds))
    }

    /// Renews the given leases and reports progress; returns which leases were lost.
    public func heartbeat(
        jobID: String, worker: String, leaseMilliseconds: Int = 0, leases: [(lease: TaskLease, events: Int)]
    ) throws(CoordinationError) -> HeartbeatOutcome {
        try run(HeartbeatScript(jobID: jobID, worker: worker, leaseMilliseconds: leaseMilliseconds, leases: leases))
    }

    /// Reports finished tasks of one job in one call.
    public func complete(jobID: String, worker: String, completions: [TaskCompletion]) throws(CoordinationError) -> CompletionReply {
        try run(CompleteScript(jobID: jobID, worker: worker, completions: completions))
    }

    /// Reports a failed task: `retryable` re-queues it with backoff (until max attempts), otherwise it is dead-lettered.
    public func fail(lease: TaskLease, worker: String, retryable: Bool, error: String) throws(CoordinationError) -> FailOutcome {
        try run(FailScript(lease: lease, worker: worker, retryable: retryable, error: error))
    }

    /// Hands a task back without failing it (graceful shutdown, or a worker that cannot run it
    /// here, saying why in `reason`). Returns false if the lease was already lost.
    @discardableResult
    public func release(lease: TaskLease, reason: String? = nil) throws(CoordinationError) -> Bool {
        try run(ReleaseScript(lease: lease, reason: reason)) == .released
    }

    /// After a claim whose reply was lost (the connection broke after sending it): the tasks
    /// that Redis says `worker` holds but the worker never heard of are handed back at once,
    /// without spending an attempt, instead of waiting for their leases to expire and counting
    /// an attempt each (three such losses would bury a task on a flaky link). Best effort: what
    /// cannot be handed back now is reaped when its lease expires. Returns how many went back.
    @discardableResult
    public func handBackLostClaims(jobID: String, worker: String) throws(CoordinationError) -> Int {
        let keys = JobKeys(jobID: jobID)
        let owned = try hashRecords(keys.owners).filter { String(decoding: $0.1, as: UTF8.self) == worker }.map(\.0)
        guard !owned.isEmpty else { return 0 }
        // States and tokens of every owned task in two calls, not two per task.
        let states = try command(RedisCommand("HMGET", arguments: [keys.states] + owned)).array ?? []
        let tokens = try command(RedisCommand("HMGET", arguments: [keys.all[4]] + owned)).array ?? []
        var handed = 0
        for (index, task) in owned.enumerated() where index < states.count && index < tokens.count {
            guard states[index].string == TaskState.leased.rawValue, let token = tokens[index].string else { continue }
            let lease = TaskLease(jobID: jobID, taskID: task, token: token, attempt: 0, deadlineMilliseconds: 0, spec: "")
            if try release(lease: lease, reason: "worker \(worker): the reply to its claim was lost on the way; handed back") { handed += 1 }
        }
        return handed
    }

    /// Moves up to `limit` expired leases back to the queue or to the dead letters.
    @discardableResult
    public func reap(jobID: String, limit: Int = 1000) throws(CoordinationError) -> ReapOutcome {
        try run(ReapScript(jobID: jobID, limit: limit))
    }

    // MARK: Operators

    /// Cancels a building or open job. Returns false if it had already finished.
    @discardableResult
    public func cancel(jobID: String, reason: String) throws(CoordinationError) -> Bool {
        let reply = try run(CancelScript(jobID: jobID, reason: reason))
        if reply == .missing {
            throw CoordinationError(.jobMissing, "there is no job \"\(jobID)\" in Redis (finished jobs expire after their retention).")
        }
        _ = try? command(RedisCommand("ZREM", JobKeys.index, jobID))
        return reply == .cancelled
    }

    /// The job's state, or nil if it does not exist.
    public func status(jobID: String) throws(CoordinationError) -> JobStatus? {
        try run(StatusScript(jobID: jobID))
    }

    /// Deletes every key of a finished job, or of one stuck in "building" for `minimumBuildingAge` ms.
    /// Returns the state the job had, or nil if the job is still active (or missing).
    @discardableResult
    public func drop(jobID: String, minimumBuildingAgeMilliseconds: Int64 = 60_000) throws(CoordinationError) -> JobState? {
        let reply = try run(DropScript(jobID: jobID, minimumBuildingAgeMilliseconds: minimumBuildingAgeMilliseconds))
        switch reply {
        case .dropped(let state):
            _ = try command(RedisCommand("ZREM", JobKeys.index, jobID))
            return state
        case .missing:
            _ = try command(RedisCommand("ZREM", JobKeys.index, jobID))
            return nil
        case .active:
            return nil
        }
    }

    /// The ids listed in the job index, oldest first.
    public func indexedJobs() throws(CoordinationError) -> [String] {
        let reply = try command(RedisCommand("ZRANGE", JobKeys.index, 0, -1))
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Removes a job from the index (workers do it when claim says the job is closed or missing).
    public func unindex(jobID: String) throws(CoordinationError) {
        _ = try command(RedisCommand("ZREM", JobKeys.index, jobID))
    }

    /// Every completed task's record.
    public func results(jobID: String) throws(CoordinationError) -> [TaskResult] {
        try hashRecords(JobKeys(jobID: jobID).results).map { (key, value) throws(CoordinationError) in
            try TaskResult(taskID: key, record: value)
        }
    }

    /// Every dead-lettered task's record.
    public func deadTasks(jobID: String) throws(CoordinationError) -> [DeadTask] {
        try hashRecords(JobKeys(jobID: jobID).dead).map { (key, value) throws(CoordinationError) in
            try DeadTask(taskID: key, record: value)
        }
    }

    /// Every task's state and the worker of its last claim (operators and tests).
    public func tasks(jobID: String) throws(CoordinationError) -> [String: (state: TaskState, owner: String?)] {
        let keys = JobKeys(jobID: jobID)
        let owners = Dictionary(try hashRecords(keys.owners).map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
        var out: [String: (state: TaskState, owner: String?)] = [:]
        for (task, raw) in try hashRecords(keys.states) {
            guard let state = TaskState(rawValue: String(decoding: raw, as: UTF8.self)) else {
                throw CoordinationError(.protocolViolation, "task \(task) of job \(jobID) has an unknown state.")
            }
            out[task] = (state, owners[task])
        }
        return out
    }

    private func hashRecords(_ key: String) throws(CoordinationError) -> [(String, [UInt8])] {
        var records: [(String, [UInt8])] = []
        var cursor = "0"
        repeat {
            let reply = try command(RedisCommand("HSCAN", key, cursor, "COUNT", 1000))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let items = parts[1].array else {
                throw CoordinationError(.protocolViolation, "HSCAN of \(key) answered an unexpected shape.")
            }
            var index = 0
            while index + 1 < items.count {
                records.append((items[index].string ?? "", items[index + 1].bytes ?? []))
                index += 2
            }
            cursor = next
        } while cursor != "0"
        return records
    }

    /// Blocks until the job's signal list has its element (the job finished) or `seconds` pass.
    public func waitForSignal(jobID: String, seconds: Double) throws(CoordinationError) {
        let signal = JobKeys(jobID: jobID).signal
        // BLMOVE from the list to itself waits for the signal without consuming it, so the
        // list (and its expiry) stays for every other waiter.
        do {
            try redis.send(RedisCommand("BLMOVE", signal, signal, "LEFT", "RIGHT", String(format: "%.3f", seconds)), extraWait: seconds)
        } catch {
            throw CoordinationError(error)
        }
    }

    /// Waits until the job finishes: blocks on the job's signal list in slices of `poll`
    /// seconds, calling `progress` with a fresh status after each slice. Throws `.jobMissing`
    /// if the job vanishes, and stops early when `shouldStop` returns true.
    public func waitForJoin(
        jobID: String,
        poll: Double = 0.25,
        shouldStop: () -> Bool = { false },
        progress: (JobStatus) -> Void = { _ in }
    ) throws(CoordinationError) -> JobStatus {
        while true {
            guard let status = try status(jobID: jobID) else {
                throw CoordinationError(.jobMissing, "job \"\(jobID)\" disappeared from Redis while waiting for its join (was it dropped, or did Redis lose its data?).")
            }
            progress(status)
            if status.isFinished || shouldStop() { return status }
            try waitForSignal(jobID: jobID, seconds: poll)
        }
    }

    // MARK: History

    /// The sorted set of finished jobs (member: job id, score: finished ms), newest last,
    /// kept to the latest `historyLimit`. Like `refold:jobs` it lives outside every job's slot
    /// and only clients write it; entries whose job expired are skipped and removed by readers.
    public static let historyKey = "refold:history"
    public static let historyLimit = 200

    /// Records a finished job for `refold status`: its report summary in the job hash (field
    /// `report`, expiring with the job) and its id in the history.
    public func recordFinished(jobID: String, summary: String) throws(CoordinationError) {
        let keys = JobKeys(jobID: jobID)
        // A job that vanished (a Redis that lost its data) is not recreated as a bare hash.
        guard try command(RedisCommand("EXISTS", keys.job)).int == 1 else { return }
        _ = try command(RedisCommand("HSET", keys.job, "report", summary))
        _ = try command(RedisCommand("ZADD", Self.historyKey, Int64(Date().timeIntervalSince1970 * 1000), jobID))
        _ = try command(RedisCommand("ZREMRANGEBYRANK", Self.historyKey, 0, -(Self.historyLimit + 1)))
    }

    /// Recently finished jobs still in Redis, newest first (at most `limit`).
    public func recentJobs(limit: Int) throws(CoordinationError) -> [JobStatus] {
        let reply = try command(RedisCommand("ZREVRANGE", Self.historyKey, 0, max(0, Self.historyLimit - 1)))
        var statuses: [JobStatus] = []
        for id in reply.array?.compactMap(\.string) ?? [] where statuses.count < limit {
            guard JobKeys.isValid(jobID: id) else { continue }
            if let status = try status(jobID: id) {
                statuses.append(status)
            } else {
                _ = try command(RedisCommand("ZREM", Self.historyKey, id))
            }
        }
        return statuses
    }
}
