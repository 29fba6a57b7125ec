import Foundation
import Synchronization
import RefoldCore
import RefoldProcess
import RefoldRunner
import RefoldSQLite
import RefoldStore

/// The parallel path of `refold rebuild`: resolves Redis and the worker count, then runs
/// `DistributedRebuild`.
enum DistributedRebuildCommand {
    /// Local worker processes are capped: each is a process with its own database
    /// connections, and past the cores they only contend for them.
    static let maxLocalWorkers = 64

    static func run(
        projection: AnyProjection, locations: RebuildLocations, redis: RedisOptions, workers: Int?, tasks: Int?,
        lease: DurationArgument, strict: Bool, replaceTable: Bool = false, waitForWorkers: DurationArgument? = nil,
        timeline: String?, bar: ProgressBar
    ) throws -> RebuildReport {
        let workerCount = workers ?? ProcessInfo.processInfo.activeProcessorCount
        if workerCount == 0, redis.explicitURL() == nil {
            throw CLIError(.badInput, "--workers 0 uses only workers running elsewhere and therefore needs a shared Redis: pass --redis redis://host:port or set REFOLD_REDIS_URL.")
        }
        // SQLite: two tasks per worker. Each task reads the whole table in its own order, so
        // more tasks cost more reading (1M events, 2 workers: 2 tasks 1.17 s, 4 tasks 1.30–1.46 s,
        // 8 tasks 1.6 s); two per worker keep a retry to a quarter of the work and let a fast worker
        // take a slow one's second task. SQLite's plan adds tasks when one would hold more than
        // 12,000 aggregates (memory). A server database: one per worker — its events are
        // interleaved across aggregates, so every range read touches most of the table's pages
        // (PostgreSQL: 2 tasks 3.0 s, 8 tasks 4.3 s for 1M events with 2 workers).
        let taskCount = tasks ?? (DatabaseLocation.isURL(locations.events) ? max(2, workerCount) : max(2, 2 * max(workerCount, 1)))
        var options = DistributedRebuild.Options(
            projection: projection, locations: locations, workers: workerCount, tasks: taskCount,
            leaseMilliseconds: lease.milliseconds, strict: strict)
        options.maxAttempts = 3
        options.replaceForeignTable = replaceTable
        options.policy.waitForWorkers = waitForWorkers?.seconds
        // Check every input before starting a private redis-server (and before writing anything).
        let checked = try DistributedRebuild.check(options)
        // The plan walks the index on a thread of its own while this one starts Redis and the
        // local workers (they connect and wait for their job: `--await-job`), so their start-up
        // is not on the critical path. They are started from this thread, which lives as long
        // as the run: a child started with a parent-death signal gets it when the *thread*
        // that started it ends.
        let jobID = DistributedRebuild.newJobID(projection: projection.name)
        let planning = BackgroundCall { [checked = UncheckedBox(checked), options = UncheckedBox(options)] in
            UncheckedBox(try DistributedRebuild.plan(options.value, checked: checked.value))
        }
        // A private Redis on a Unix socket has its address before it listens: the workers are
        // started with it at once and wait for it (`--await-job`), so their start-up overlaps
        // the server's.
        let started = Result { () throws -> StartedRedis in
            let starting = Date()
            let resolved = try ResolvedRedis(redis, waitUntilReady: false)
            do {
                let early = workerCount > 0 ? try DistributedRebuild.startWorkersEarly(count: workerCount, jobID: jobID, redis: resolved.target) : nil
                do {
                    try resolved.waitUntilReady()
                } catch {
                    early?.discard()
                    throw error
                }
                let phase = RebuildPhase(resolved.privateServer != nil ? "start a private Redis" : "resolve Redis", from: starting)
                return StartedRedis(resolved: resolved, phase: phase, early: early)
            } catch {
                resolved.stop()
                throw error
            }
        }
        let planned = planning.wait().map(\.value)
        if case .failure(let error) = planned {
            if case .success(let ready) = started {
                ready.early?.discard()
                ready.stop()
            }
            throw error
        }
        let ready = try started.get()
        defer { ready.stop() }
        var plan = try planned.get()
        plan.phases.append(ready.phase)
        let outcome = try DistributedRebuild.run(
            options, plan: plan, redis: ready.resolved.target,
            hooks: .init(
                progress: { done, total, detail in bar.update(done: done, total: total, detail: detail) },
                warn: { bar.warn($0) },
                signal: { SignalFlag.signal }),
            early: ready.early)
        if let timeline {
            try TimelineWriter.write(outcome, to: timeline)
        }
        return outcome.report
    }
}

/// Redis resolved (a private server started, or the given one) and the local workers started
/// early, for one rebuild.
struct StartedRedis: Sendable {
    let resolved: ResolvedRedis
    let phase: RebuildPhase
    let early: DistributedRebuild.EarlyWorkers?

    /// Stops the private server. The workers are the run's by then: `DistributedRebuild.run`
    /// stops them before it returns or throws.
    func stop() {
        resolved.stop()
    }
}

/// Carries a value that is used by one thread at a time across a thread hop (the plan's
/// SQLite connection: this thread waits while the other uses it).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Runs a throwing call on a thread of its own; `wait` returns its result.
final class BackgroundCall<Value: Sendable>: Sendable {
    private let result = Mutex<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let outcome = Result { try body() }
            result.withLock { $0 = outcome }
            done.signal()
        }
        thread.start()
    }

    func wait() -> Result<Value, any Error> {
        done.wait()
        done.signal()
        return result.withLock { $0! }
    }
}
