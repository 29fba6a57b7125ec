import CoreMetrics
import Synchronization

/// The executable's metrics backend until an exporter is configured: it keeps every counter's
/// total and every timer's count and sum in memory, so a command can log what it did when it
/// ends (`refold worker` does). Libraries only see swift-metrics' facade.
final class MetricsTally: MetricsFactory, Sendable {
    private let counters = Mutex<[String: Int64]>([:])
    private let timers = Mutex<[String: (count: Int64, nanoseconds: Int64)]>([:])

    /// `label{name=value,…}`: one entry per label and dimensions.
    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    /// A counter's total so far.
    func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        counters.withLock { $0[Self.key(label, dimensions)] ?? 0 }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(tally: self, key: Self.key(label, dimensions))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(tally: self, key: Self.key(label, dimensions))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(tally: self, key: Self.key(label, dimensions))
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    fileprivate func add(_ key: String, _ amount: Int64) {
        counters.withLock { $0[key, default: 0] += amount }
    }

    fileprivate func time(_ key: String, _ nanoseconds: Int64) {
        timers.withLock { entry in
            let old = entry[key] ?? (0, 0)
            entry[key] = (old.count + 1, old.nanoseconds + nanoseconds)
        }
    }

    private final class Handler: CounterHandler, RecorderHandler, TimerHandler, Sendable {
        let tally: MetricsTally
        let key: String

        init(tally: MetricsTally, key: String) {
            self.tally = tally
            self.key = key
        }

        func increment(by amount: Int64) { tally.add(key, amount) }
        func reset() {}
        func record(_ value: Int64) { tally.add(key, value) }
        func record(_ value: Double) { tally.add(key, Int64(value)) }
        func recordNanoseconds(_ duration: Int64) { tally.time(key, duration) }
    }
}
