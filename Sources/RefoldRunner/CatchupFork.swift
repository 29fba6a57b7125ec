import Foundation
import RefoldCoordination
import RefoldCore
import RefoldSQLite

/// A catch-up forked over the aggregates its delta touches: one task per range, balanced by
/// the range's events; the same fork, leases, retries and supervision as a rebuild. Workers
/// write rows straight into the live table (the version rule makes any re-run harmless); the
/// checkpoint moves only after a clean join whose every result matches the coordinator's count.
enum CatchupFork {
    static func run(
        _ options: Catchup.Options, job: String, store: any ReadModelStore, source: any EventSource,
        from: Int64, head: Int64, redis: DistributedRebuild.RedisTarget, hooks: DistributedRebuild.Hooks
    ) throws -> Catchup.Report {
        let name = options.projection.name
        let workers: Int
        switch options.mode {
        case .parallel(let count): workers = count
        default: workers = ProcessInfo.processInfo.activeProcessorCount
        }
        let weights = try source.deltaAggregates(after: from, through: head).map { (id: $0.aggregate, events: $0.events) }
        let plan = PartitionPlan.fromWeights(weights, tasks: options.tasks ?? max(2, 4 * max(workers, 1)))
        let definitions = plan.ranges.enumerated().map { TaskDefinition(id: String(format: "c%05d", $0.offset), spec: $0.element.spec) }
        let spec = CatchupJobSpec(projection: name, projectionVersion: options.projection.version, locations: options.locations, from: from, head: head, grace: options.grace)
        let client = try DistributedRebuild.connect(redis, hooks: hooks)
        let forked = DistributedRebuild.Forked(jobID: job, store: store, definitions: definitions)
        defer { forked.cleanUp() }
        try forked.start(
            settings: JobSettings(maxAttempts: 3, leaseMilliseconds: options.leaseMilliseconds, backoffMilliseconds: 200, onDeadTask: .joinWithFailures, payload: spec.payload),
            eventsTotal: plan.totalEvents, workers: workers, client: client, redis: redis, outageBudget: options.policy.outageBudget)
        let (status, _) = try DistributedRebuild.supervise(projection: name, policy: options.policy, forked, client: client, redis: redis, hooks: hooks)
        if status.state == .cancelled {
            throw RunnerError(.notClean, "the catch-up job \(job) was \(status.reason.hasPrefix("cancelled") ? status.reason : "cancelled: \(status.reason)"); the checkpoint of \(name) stays at \(from).")
        }
        let budget = OutageBudget(seconds: options.policy.outageBudget)
        let results = try budget.run { () throws(CoordinationError) in try client.results(jobID: job) }
        let dead = try budget.run { () throws(CoordinationError) in try client.deadTasks(jobID: job) }
        var report = Catchup.Report(projection: name, job: job, fromPosition: from, headPosition: head, mode: "parallel", tasks: definitions.count, workers: workers)
        var problems: [String] = dead.map { "\($0.taskID) died after \($0.attempts) attempt(s): \($0.error)" }
        for (definition, range) in zip(definitions, plan.ranges) {
            guard let result = results.first(where: { $0.taskID == definition.id }) else { continue }
            guard let parsed = CatchupTaskResult.parse(result.result, job: job, task: definition.id) else {
                problems.append("\(definition.id) completed by worker \(result.worker) with a result that is not a catch-up result")
                continue
            }
            guard parsed.events == range.estimatedEvents else {
                problems.append("\(definition.id) completed by worker \(result.worker) applied \(parsed.events) events but its range holds \(range.estimatedEvents)")
                continue
            }
            report.outcome.events += Int(parsed.events)
            report.outcome.aggregates += Int(parsed.aggregates)
            report.outcome.duplicates += Int(parsed.duplicates)
            report.outcome.quarantined += parsed.quarantined
            report.outcome.healed += parsed.healed
            report.rowsWritten += Int(parsed.rows)
        }
        guard problems.isEmpty else {
            try? client.recordFinished(jobID: job, summary: JSONValue.object([("caught_up", .bool(false)), ("not_caught_up_because", .string(problems.prefix(3).joined(separator: "; ")))]).rendered())
            throw RunnerError(.notClean, "the catch-up of \(name) did not finish cleanly (\(problems.prefix(3).joined(separator: "; "))); rows already applied are correct, the checkpoint stays at \(from) — run refold catchup again.")
        }
        try store.applyLive(projection: name, rows: [], quarantined: [], healed: [], checkpoint: (from, head))
        // Caught up: the workers' logs have nothing to tell (a failed catch-up keeps them, as a
        // failed rebuild does).
        try? FileManager.default.removeItem(at: forked.logDirectory)
        try? client.recordFinished(jobID: job, summary: JSONValue.object([
            ("caught_up", .bool(true)), ("events", .int(Int64(report.outcome.events))), ("rows", .int(Int64(report.rowsWritten))),
            ("from_position", .int(from)), ("head_position", .int(head)), ("quarantined", .int(Int64(report.outcome.quarantined.count))),
            ("healed", .int(Int64(report.outcome.healed.count))),
        ]).rendered())
        return report
    }
}
