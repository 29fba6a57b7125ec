import Foundation
import RefoldCore
import RefoldRunner

extension QuarantineRecord {
    var json: JSONValue {
        .object([
            ("aggregate", .string(aggregate)), ("version", version.map { .int($0) } ?? .null),
            ("position", .int(position)), ("code", .string(code.rawValue)), ("reason", .string(reason)),
        ])
    }
}

extension RebuildReport {
    /// The `--json` object of `../shared/spec/cli.md`.
    var json: JSONValue {
        let slowest = slowestTask
        return .object([
            ("projection", .string(projection)), ("job", .string(job)), ("mode", .string(mode)),
            ("events", .int(Int64(events))), ("aggregates", .int(Int64(aggregates))), ("rows", .int(Int64(rows))),
            ("seconds", .double(seconds)), ("events_per_second", .double(eventsPerSecond)),
            ("tasks", .int(Int64(tasks))), ("workers", .int(Int64(workers))), ("retries", .int(Int64(retries))),
            ("dead_tasks", .array(deadTasks.map { .object([("task", .string($0.task)), ("attempts", .int(Int64($0.attempts))), ("error", .string($0.error))]) })),
            ("task_seconds_p50", .double(taskSecondsPercentile(50))), ("task_seconds_p95", .double(taskSecondsPercentile(95))),
            ("slowest_task", slowest.map { .object([("task", .string($0.task)), ("seconds", .double($0.seconds))]) } ?? .null),
            ("head_position", .int(headPosition)),
            ("worker_peak_rss_bytes", workerPeakRSSBytes.map { .int($0) } ?? .null),
            ("quarantined", .array(quarantined.map(\.json))),
        ])
    }

    /// The human report.
    var text: String {
        var lines = [
            "Rebuilt \(projection) (\(mode), job \(job)) up to position \(headPosition)",
            String(format: "  %@ events, %@ aggregates, %@ rows in %.2f s — %@ events/s",
                   "\(events)", "\(aggregates)", "\(rows)", seconds, "\(Int(eventsPerSecond))"),
            String(format: "  %d task%@ %@; task time p50 %.2f s, p95 %.2f s%@; %d retr%@",
                   tasks, tasks == 1 ? "" : "s", mode == "inline" ? "in this process" : "on \(workers) local worker\(workers == 1 ? "" : "s")",
                   taskSecondsPercentile(50), taskSecondsPercentile(95),
                   slowestTask.map { String(format: ", slowest %@ %.2f s", $0.task, $0.seconds) } ?? "",
                   retries, retries == 1 ? "y" : "ies"),
        ]
        if !deadTasks.isEmpty {
            lines.append("  \(deadTasks.count) dead task(s):")
            for task in deadTasks.prefix(10) { lines.append("    \(task.task) after \(task.attempts) attempt(s): \(task.error)") }
        }
        if quarantined.isEmpty {
            lines.append("  no quarantined aggregates")
        } else {
            lines.append("  \(quarantined.count) quarantined aggregate(s) (refold quarantine list \(projection)):")
            for record in quarantined.prefix(10) {
                lines.append("    \(record.aggregate) v\(record.version.map(String.init) ?? "NULL") @\(record.position) \(record.code.rawValue): \(record.reason)")
            }
            if quarantined.count > 10 { lines.append("    … and \(quarantined.count - 10) more") }
        }
        return lines.joined(separator: "\n")
    }
}
