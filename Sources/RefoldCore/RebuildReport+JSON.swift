extension QuarantineRecord {
    /// The record as reports list it: `{"aggregate","version","position","code","reason"}`.
    public var json: JSONValue {
        .object([
            ("aggregate", .string(aggregate)), ("version", version.map { .int($0) } ?? .null),
            ("position", .int(position)), ("code", .string(code.rawValue)), ("reason", .string(reason)),
        ])
    }
}

extension RebuildReport {
    /// The `--json` object of the CLI contract (`cli.md`, "The rebuild report").
    public var json: JSONValue {
        let slowest = slowestTask
        var pairs: [(String, JSONValue)] = [
            ("projection", .string(projection)), ("job", .string(job)), ("mode", .string(mode)),
            ("swapped", .bool(swapped)),
            ("events", .int(Int64(events))), ("aggregates", .int(Int64(aggregates))), ("rows", .int(Int64(rows))),
            ("seconds", .double(seconds)), ("events_per_second", .double(eventsPerSecond)),
            ("tasks", .int(Int64(tasks))), ("workers", .int(Int64(workers))), ("retries", .int(Int64(retries))),
            ("dead_tasks", .array(deadTasks.map { .object([("task", .string($0.task)), ("attempts", .int(Int64($0.attempts))), ("error", .string($0.error))]) })),
            ("rejected_tasks", .array(rejectedTasks.map { .object([("task", .string($0.task)), ("worker", .string($0.worker)), ("reason", .string($0.reason))]) })),
            ("task_seconds_p50", .double(taskSecondsPercentile(50))), ("task_seconds_p95", .double(taskSecondsPercentile(95))),
            ("slowest_task", slowest.map { .object([("task", .string($0.task)), ("seconds", .double($0.seconds))]) } ?? .null),
            ("head_position", .int(headPosition)),
            ("worker_peak_rss_bytes", workerPeakRSSBytes.map { .int($0) } ?? .null),
            ("quarantined", .array(quarantined.map(\.json))),
        ]
        if let notSwappedBecause { pairs.insert(("not_swapped_because", .string(notSwappedBecause)), at: 4) }
        if let previousTableKeptAs { pairs.append(("previous_table_kept_as", .string(previousTableKeptAs))) }
        if !phases.isEmpty {
            pairs.append(("phases", .array(phases.map { .object([("name", .string($0.name)), ("seconds", .double(($0.seconds * 1000).rounded() / 1000))]) })))
        }
        return .object(pairs)
    }

    /// A short record of the run for `refold status` (kept with the job in Redis).
    public var summaryJSON: String {
        var pairs: [(String, JSONValue)] = [
            ("swapped", .bool(swapped)), ("events", .int(Int64(events))), ("rows", .int(Int64(rows))),
            ("seconds", .double(seconds)), ("quarantined", .int(Int64(quarantined.count))),
            ("dead_tasks", .int(Int64(deadTasks.count))), ("rejected_tasks", .int(Int64(rejectedTasks.count))),
            ("head_position", .int(headPosition)),
        ]
        if let notSwappedBecause { pairs.append(("not_swapped_because", .string(notSwappedBecause))) }
        return JSONValue.object(pairs).rendered()
    }

    /// The first line of the human report: what happened to the live table.
    public var headline: String {
        if swapped {
            return "Rebuilt \(projection) and swapped it in (\(mode), job \(job), up to position \(headPosition))"
        }
        let kept = untouched.map { $0.prefix(1).uppercased() + $0.dropFirst() } ?? "The live table of \(projection) was kept"
        return "Not swapped: \(kept.prefix(1).lowercased() + kept.dropFirst()) (\(mode), job \(job)) — \(notSwappedBecause ?? "the run did not finish cleanly")"
    }
}
