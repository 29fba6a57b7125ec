import Foundation

/// A one-line progress bar on standard error, drawn only when standard error is a terminal:
/// events done / total, events/s and ETA. Redraws at most ten times a second.
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(label: String, enabled: Bool = StandardError.isTerminal) {
        self.label = label
        self.enabled = enabled
    }

    func update(done: Int64, total: Int64, detail: String = "") {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || done >= total else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = Double(done) / elapsed
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        let line = String(format: "\r%@ %@ %3.0f%%  %@/%@ events  %@ ev/s  ETA %@ %@",
                          label, bar, fraction * 100, Self.count(done), Self.count(total), Self.count(Int64(rate)), Self.duration(eta), detail)
        StandardError.write(line + "\u{1B}[K")
        drawn = true
    }

    /// One warning line on standard error, without tearing the bar (it is redrawn on the next update).
    func warn(_ text: String) {
        if drawn { StandardError.write("\r\u{1B}[K") }
        StandardError.line("refold: warning: \(text)")
        lastDraw = .distantPast
    }

    func finish() {
        if drawn { StandardError.write("\r\u{1B}[K") }
    }

    static func count(_ value: Int64) -> String {
        switch value {
        case ..<10_000: return "\(value)"
        case ..<10_000_000: return String(format: "%.1fk", Double(value) / 1000)
        default: return String(format: "%.2fM", Double(value) / 1_000_000)
        }
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.0fs", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}

/// Pads `text` with spaces to `width` characters (String(format:) cannot pad %@ on Linux).
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
