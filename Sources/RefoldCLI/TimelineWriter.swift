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
        try write(TimelineLayout(results: outcome.results, dead: outcome.dead, title: "\(outcome.report.projection) — job \(outcome.report.job)", phases: outcome.phases), to: path)
    }

    /// An inline rebuild: one lane (this process), one bar.
    static func write(inline report: RebuildReport, started: Date, finished: Date, to path: String) throws {
        let result = TaskResult(
            taskID: "all", worker: "pid \(getpid()) (inline)", attempt: 1, token: "",
            startedMilliseconds: Int64(started.timeIntervalSince1970 * 1000), finishedMilliseconds: Int64(finished.timeIntervalSince1970 * 1000),
            events: Int64(report.events), result: "")
        try write(TimelineLayout(results: [result], dead: [], title: "\(report.projection) — \(report.job)"), to: path)
    }

    /// Checked before a run starts, so a timeline that cannot be written never costs a rebuild
    /// (or, worse, reports one that was swapped in as an error).
    static func checkWritable(_ path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        let folderExists = FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue
        guard folderExists, FileManager.default.isWritableFile(atPath: folder) else {
            throw CLIError(.badInput, "cannot write the timeline to \(path): the folder \(folder) does not exist or is not writable (create it, or pass another --timeline); nothing was run.")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError(.badInput, "cannot write the timeline to \(path): it is a folder (name a file, e.g. \(path)/timeline.svg); nothing was run.")
        }
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

/// The geometry of a timeline, separate from file I/O so it can be tested: a time axis in
/// seconds from the run's first step, the coordinator's own steps on the first lane (plan,
/// start Redis, fork, spawn, the join, the swap), then one lane per worker.
struct TimelineLayout {
    struct Bar: Equatable {
        let task: String
        let lane: Int
        let x: Double
        let width: Double
        let retried: Bool
    }

    struct PhaseBar: Equatable {
        let name: String
        let x: Double
        let width: Double
        let seconds: Double
    }

    let lanes: [String]
    let bars: [Bar]
    let phases: [PhaseBar]
    let dead: [DeadTask]
    let title: String
    /// From the first step (phase or task) to the last.
    let seconds: Double
    /// Axis ticks: (x, seconds since the start).
    let ticks: [(x: Double, seconds: Double)]
    static let width = 1000.0
    static let laneHeight = 24.0
    static let left = 180.0
    static let phaseColors = ["#8e44ad", "#16a085", "#d35400", "#2c3e50", "#c0392b", "#27ae60", "#7f8c8d", "#2980b9", "#f39c12", "#e84393"]

    init(results: [TaskResult], dead: [DeadTask], title: String, phases: [DistributedRebuild.Phase] = []) {
        self.title = title
        self.dead = dead
        let lanes = Array(Set(results.map(\.worker))).sorted()
        self.lanes = lanes
        let starts = results.map(\.startedMilliseconds) + phases.map(\.startedMilliseconds)
        let ends = results.map(\.finishedMilliseconds) + phases.map(\.finishedMilliseconds)
        let start = starts.min() ?? 0
        let end = max(ends.max() ?? start, start)
        let span = Double(max(end - start, 1))
        seconds = span / 1000
        let scale = (Self.width - Self.left - 20) / span
        // Where a span of the run is drawn: its x and its width (at least a pixel).
        func place(_ from: Int64, _ to: Int64) -> (x: Double, width: Double) {
            (Self.left + Double(from - start) * scale, max(1, Double(to - from) * scale))
        }
        bars = results.sorted { $0.startedMilliseconds < $1.startedMilliseconds }.map { result in
            let (x, width) = place(result.startedMilliseconds, result.finishedMilliseconds)
            return Bar(task: result.taskID, lane: lanes.firstIndex(of: result.worker) ?? 0, x: x, width: width, retried: result.attempt > 1)
        }
        self.phases = phases.map { phase in
            let (x, width) = place(phase.startedMilliseconds, phase.finishedMilliseconds)
            return PhaseBar(name: phase.name, x: x, width: width, seconds: phase.seconds)
        }
        // About 5 to 10 ticks at a round step.
        let steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600]
        let step = steps.first { span / 1000 / $0 <= 10 } ?? 3600
        var ticks: [(Double, Double)] = []
        var at = 0.0
        while at <= span / 1000 + 1e-9 {
            ticks.append((Self.left + at * 1000 * scale, at))
            at += step
        }
        self.ticks = ticks
    }

    /// Lanes drawn: the coordinator's (when there are phases), then the workers'.
    private var laneOffset: Int { phases.isEmpty ? 0 : 1 }

    func svg() -> String {
        let laneCount = Double(lanes.count + laneOffset)
        let axisY = 40 + laneCount * Self.laneHeight + 4
        let legendRows = phases.isEmpty ? 0 : (phases.count + 2) / 3
        let height = axisY + 30 + Double(legendRows) * 16 + Double(dead.count) * 16 + 30
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <text x="10" y="20" font-size="14">\(escape(title)) — \(String(format: "%.2f", seconds)) s, \(bars.count) tasks, \(lanes.count) workers</text>

            """
        // Grid and axis.
        for tick in ticks {
            out += String(format: "<line x1=\"%.1f\" y1=\"36\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n", tick.x, tick.x, axisY)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%@</text>\n", tick.x, axisY + 16, Self.format(tick.seconds))
        }
        out += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>\n", Self.left, axisY, Self.width - 20, axisY)
        out += String(format: "<text x=\"10\" y=\"%.1f\" fill=\"#444\">seconds</text>\n", axisY + 16)
        if !phases.isEmpty {
            out += "<text x=\"10\" y=\"55\">coordinator</text>\n"
            for (index, phase) in phases.enumerated() {
                let color = Self.phaseColors[index % Self.phaseColors.count]
                out += String(format: "<rect class=\"phase\" x=\"%.1f\" y=\"43\" width=\"%.1f\" height=\"18\" fill=\"%@\" fill-opacity=\"%@\" stroke=\"#fff\"><title>%@: %.3f s</title></rect>\n",
                              phase.x, phase.width, color, phase.name == "wait for the join" ? "0.25" : "0.9", escape(phase.name), phase.seconds)
            }
        }
        for (index, lane) in lanes.enumerated() {
            let y = 40 + Double(index + laneOffset) * Self.laneHeight
            out += "<text x=\"10\" y=\"\(y + 15)\">\(escape(lane))</text>\n"
        }
        for bar in bars {
            let y = 40 + Double(bar.lane + laneOffset) * Self.laneHeight + 3
            let color = bar.retried ? "#f0a030" : "#4a90d9"
            out += String(format: "<rect class=\"task\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"%@\" stroke=\"#fff\"><title>%@</title></rect>\n",
                          bar.x, y, bar.width, color, escape(bar.task))
        }
        var y = axisY + 40
        // The legend: each coordinator step with its time, three to a row.
        for (index, phase) in phases.enumerated() {
            let x = 10 + Double(index % 3) * 320
            let row = y + Double(index / 3) * 16
            let color = Self.phaseColors[index % Self.phaseColors.count]
            out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%@\"/><text x=\"%.1f\" y=\"%.1f\">%@ %@</text>\n",
                          x, row - 9, color, x + 14, row, escape(phase.name), Self.format(phase.seconds))
        }
        y += Double(legendRows) * 16
        for task in dead {
            out += "<text x=\"10\" y=\"\(y)\" fill=\"#c0392b\">dead: \(escape(task.taskID)) after \(task.attempts) attempt(s): \(escape(String(task.error.prefix(120))))</text>\n"
            y += 16
        }
        out += "<text x=\"10\" y=\"\(y + 10)\" fill=\"#666\">blue: task, orange: retried task, red: dead task\(phases.isEmpty ? "" : "; top lane: the coordinator's steps")</text>\n</svg>\n"
        return out
    }

    /// "0.25 s", "1.5 s", "12 s": as many decimals as the value needs, up to 3.
    static func format(_ seconds: Double) -> String {
        var text = String(format: "%.3f", seconds)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + " s"
    }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
