import Foundation
import RefoldCore
import RefoldProcess
import RefoldRunner
import RefoldSQLite

/// The parallel path of `refold rebuild`: resolves Redis and the worker count, then runs
/// `DistributedRebuild`.
enum DistributedRebuildCommand {
    static func run(
        projection: AnyProjection, locations: RebuildLocations, redis: RedisOptions, workers: Int?, tasks: Int?,
        lease: DurationArgument, strict: Bool, timeline: String?, bar: ProgressBar
    ) throws -> RebuildReport {
        let workerCount = workers ?? ProcessInfo.processInfo.activeProcessorCount
        if workerCount == 0, redis.explicitURL() == nil {
            throw CLIError(.badInput, "--workers 0 uses only workers running elsewhere and therefore needs a shared Redis: pass --redis redis://host:port or set REFOLD_REDIS_URL.")
        }
        let taskCount = tasks ?? max(8, 4 * max(workerCount, 1))
        // Check the inputs before starting a private redis-server.
        _ = try RefoldSQLiteCheck.events(locations)
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        var options = DistributedRebuild.Options(
            projection: projection, locations: locations, workers: workerCount, tasks: taskCount,
            leaseMilliseconds: lease.milliseconds, strict: strict)
        options.maxAttempts = 3
        let outcome = try DistributedRebuild.run(
            options, redis: resolved.configuration, redisURLText: resolved.urlText,
            progress: { done, total, detail in bar.update(done: done, total: total, detail: detail) },
            shouldStop: { SignalFlag.isRaised })
        if let timeline {
            try TimelineWriter.write(outcome, to: timeline)
        }
        return outcome.report
    }
}

enum RefoldSQLiteCheck {
    /// Opens the event table read-only, so bad input fails with exit 2 before anything starts.
    static func events(_ locations: RebuildLocations) throws -> SQLiteEventSource {
        try SQLiteEventSource(path: locations.events, layout: locations.layout)
    }
}
