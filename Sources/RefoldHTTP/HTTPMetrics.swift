import Metrics

/// The server's own counters (swift-metrics; the executable installs the Prometheus backend).
enum HTTPMetrics {
    static func waitTimedOut(projection: String) {
        Counter(label: "refold_http_waits_timed_out_total", dimensions: [("projection", projection)]).increment()
    }
}
