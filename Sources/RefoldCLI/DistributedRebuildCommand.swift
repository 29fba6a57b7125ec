import Foundation
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
        var plan = try DistributedRebuild.plan(options)
        let starting = Date()
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        plan.phases.append(.init(resolved.privateServer != nil ? "start a private Redis" : "resolve Redis", from: starting))
        let outcome = try DistributedRebuild.run(
            options, plan: plan, redis: .init(configuration: resolved.configuration, urlText: resolved.urlText, display: resolved.display),
            hooks: .init(
                progress: { done, total, detail in bar.update(done: done, total: total, detail: detail) },
                warn: { bar.warn($0) },
                signal: { SignalFlag.signal }))
        if let timeline {
            try TimelineWriter.write(outcome, to: timeline)
        }
        return outcome.report
    }
}
