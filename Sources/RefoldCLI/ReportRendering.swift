import Foundation
import RefoldCore
import RefoldRunner

extension RebuildReport {
    /// The human report.
    var text: String {
        var lines = [
            headline,
            String(format: "  %@ events, %@ aggregates, %@ rows in %.2f s — %@ events/s",
                   "\(events)", "\(aggregates)", "\(rows)", seconds, "\(Int(eventsPerSecond))"),
            String(format: "  %d task%@ %@; task time p50 %.2f s, p95 %.2f s%@; %d retr%@",
                   tasks, tasks == 1 ? "" : "s", mode == "inline" ? "in this process" : workers == 0 ? "on remote workers" : "on \(workers) local worker\(workers == 1 ? "" : "s")",
                   taskSecondsPercentile(50), taskSecondsPercentile(95),
                   slowestTask.map { String(format: ", slowest %@ %.2f s", $0.task, $0.seconds) } ?? "",
                   retries, retries == 1 ? "y" : "ies"),
        ]
        if let previousTableKeptAs {
            lines.append("  the table that was in the way was kept as \(previousTableKeptAs)")
        }
        if !rejectedTasks.isEmpty {
            lines.append("  \(rejectedTasks.count) rejected task result(s):")
            for task in rejectedTasks.prefix(10) { lines.append("    \(task.task) from worker \(task.worker): \(task.reason)") }
        }
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
