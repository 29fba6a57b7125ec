import Foundation
import RefoldCoordination
import RefoldBench
import RefoldCore
import RefoldOrderSummary
import RefoldRunner

/// Draws a rebuild as an SVG: one lane per worker, each task a bar from its server-side start
/// to its end; retried tasks (attempt > 1) are orange, dead tasks red and listed.
enum TimelineWriter {
    static func write(_ outcome: DistributedRebuild.Outcome, to path: String) throws {
        try write(TimelineLayout(results: outcome.results, dead: outcome.dead, title: "\(outcome.report.projection) — job \(outcome.report.job)"), to: path)
    }

    /// An inline rebuild: one lane (this process), one bar.
    static func write(inline report: RebuildReport, started: Date, finished: Date, to path: String) throws {
        let result = TaskResult(
            taskID: "all", worker: "pid \(getpid()) (inline)", attempt: 1, token: "",
            startedMilliseconds: Int64(started.timeIntervalSince1970 * 1000), finishedMilliseconds: Int64(finished.timeIntervalSince1970 * 1000),
            events: Int64(report.events), result: "")
        try write(TimelineLayout(results: [result], dead: [], title: "\(report.projection) — \(report.job)"), to: path)
    }

    static func write(_ layout: TimelineLayout, to path: String) throws {
        let svg = layout.svg()
        do {
            try Data(svg.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError(.badInput, "cannot write the timeline to \(path): \(error.localizedDescription) (check the folder exists and is writable).")
        }
    }
}

/// The geometry of a timeline, separate from file I/O so it can be tested.
struct TimelineLayout {
    struct Bar: Equatable {
        let task: String
        let lane: Int
        let x: Double
        let width: Double
        let retried: Bool
    }

    let lanes: [String]
    let bars: [Bar]
    let dead: [DeadTask]
    let title: String
    let seconds: Double
    static let width = 1000.0
    static let laneHeight = 24.0
    static let left = 180.0

    init(results: [TaskResult], dead: [DeadTask], title: String) {
        self.title = title
        self.dead = dead
        let lanes = Array(Set(results.map(\.worker))).sorted()
        self.lanes = lanes
        let start = results.map(\.startedMilliseconds).min() ?? 0
        let end = results.map(\.finishedMilliseconds).max() ?? start
        let span = Double(max(end - start, 1))
        seconds = span / 1000
        let scale = (Self.width - Self.left - 20) / span
        bars = results.sorted { $0.startedMilliseconds < $1.startedMilliseconds }.map { result in
            Bar(task: result.taskID, lane: lanes.firstIndex(of: result.worker) ?? 0,
                x: Self.left + Double(result.startedMilliseconds - start) * scale,
                width: max(1, Double(result.finishedMilliseconds - result.startedMilliseconds) * scale),
                retried: result.attempt > 1)
        }
    }

    func svg() -> String {
        let height = 60 + Double(lanes.count) * Self.laneHeight + Double(dead.count) * 16 + 30
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <text x="10" y="20" font-size="14">\(escape(title)) — \(String(format: "%.2f", seconds)) s, \(bars.count) tasks, \(lanes.count) workers</text>

            """
        for (index, lane) in lanes.enumerated() {
            let y = 40 + Double(index) * Self.laneHeight
            out += "<text x=\"10\" y=\"\(y + 15)\">\(escape(lane))</text>\n"
        }
        for bar in bars {
            let y = 40 + Double(bar.lane) * Self.laneHeight + 3
            let color = bar.retried ? "#f0a030" : "#4a90d9"
            out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"%@\" stroke=\"#fff\"><title>%@</title></rect>\n",
                          bar.x, y, bar.width, color, escape(bar.task))
        }
        var y = 50 + Double(lanes.count) * Self.laneHeight
        for task in dead {
            out += "<text x=\"10\" y=\"\(y)\" fill=\"#c0392b\">dead: \(escape(task.taskID)) after \(task.attempts) attempt(s): \(escape(String(task.error.prefix(120))))</text>\n"
            y += 16
        }
        out += "<text x=\"10\" y=\"\(y + 10)\" fill=\"#666\">blue: task, orange: retried task, red: dead task</text>\n</svg>\n"
        return out
    }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
