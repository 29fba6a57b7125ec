import RefoldBench
import Foundation
import RefoldRunner

/// The cost-growth curve of `refold bench --scale`, as a terminal table with bars and as SVG.
enum ScalePlot {
    static func text(_ points: [ScaleBenchmark.Point], workers: Int) -> String {
        let longest = points.map(\.seconds.median).max() ?? 1
        var lines = ["refold bench --scale: parallel rebuild with \(workers) worker\(workers == 1 ? "" : "s")", ""]
        lines.append("  dataset                          time (s)   events/s   × floor   worker rss")
        for point in points {
            let bar = String(repeating: "█", count: max(1, Int(40 * point.seconds.median / longest)))
            let rss = point.peakRSSBytes.map { String(format: "%6.0f MB", Double($0) / 1_048_576) } ?? "      -"
            lines.append(String(format: "  %@ %8.2f %10.0f %9.2f %@  %@", pad(point.label, 30), point.seconds.median,
                                Double(point.events) / point.seconds.median, point.seconds.median / max(point.floorSeconds, 0.0001), rss, bar))
        }
        let sameAggregates = points.filter { $0.aggregates == points.first?.aggregates }.sorted { $0.events < $1.events }
        if let small = sameAggregates.first, let large = sameAggregates.last, large.events > small.events {
            let growth = large.seconds.median / small.seconds.median
            let size = Double(large.events) / Double(small.events)
            lines.append("")
            lines.append(String(format: "  %.0f× the events took %.1f× the time (linear would be %.0f×)", size, growth, size))
            if let a = small.peakRSSBytes, let b = large.peakRSSBytes {
                lines.append(String(format: "  worker memory went from %.0f MB to %.0f MB", Double(a) / 1_048_576, Double(b) / 1_048_576))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func svg(_ points: [ScaleBenchmark.Point]) -> String {
        let width = 720.0, height = 360.0, left = 70.0, bottom = 50.0, top = 30.0, right = 20.0
        let series = points.sorted { $0.events < $1.events }
        let maxEvents = Double(series.map(\.events).max() ?? 1)
        let maxSeconds = series.map(\.seconds.median).max() ?? 1
        func x(_ events: Int) -> Double { left + (width - left - right) * Double(events) / maxEvents }
        func y(_ seconds: Double) -> Double { height - bottom - (height - bottom - top) * seconds / maxSeconds }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <text x="\(left)" y="18" font-size="14">Rebuild time against events (refold bench --scale)</text>
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="#333"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="#333"/>
            <text x="\(width / 2)" y="\(height - 12)" text-anchor="middle">events</text>
            <text x="16" y="\(height / 2)" transform="rotate(-90 16 \(height / 2))" text-anchor="middle">seconds</text>

            """
        for point in series {
            out += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\"><title>%@: %.2f s</title></circle>\n",
                          x(point.events), y(point.seconds.median), point.aggregates == series.first?.aggregates ? "#4a90d9" : "#f0a030",
                          point.label, point.seconds.median)
            out += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%@</text>\n", x(point.events) + 6, y(point.seconds.median) - 6, point.label)
        }
        let line = series.filter { $0.aggregates == series.first?.aggregates }
        if line.count > 1 {
            out += "<polyline fill=\"none\" stroke=\"#4a90d9\" points=\"" + line.map { String(format: "%.1f,%.1f", x($0.events), y($0.seconds.median)) }.joined(separator: " ") + "\"/>\n"
        }
        out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f s</text>\n", left - 6, top + 4, maxSeconds)
        out += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n</svg>\n", width - right, height - bottom + 16, maxEvents)
        return out
    }
}
