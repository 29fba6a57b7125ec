import Metrics

/// Counters of the rebuild path, through swift-metrics (the executable picks the backend).
///
/// - `refold_events_folded_total{projection}`, `refold_rows_written_total{projection}`,
///   `refold_quarantined_total{projection}`: what folds did, counted between read chunks.
/// - `refold_rebuilds_total{projection,outcome}`: `swapped` or `kept` (the live table).
enum RebuildMetrics {
    static func folded(projection: String, events: Int, rows: Int, quarantined: Int) {
        let dimensions = [("projection", projection)]
        Counter(label: "refold_events_folded_total", dimensions: dimensions).increment(by: events)
        Counter(label: "refold_rows_written_total", dimensions: dimensions).increment(by: rows)
        if quarantined > 0 { Counter(label: "refold_quarantined_total", dimensions: dimensions).increment(by: quarantined) }
    }

    static func finished(projection: String, swapped: Bool) {
        Counter(label: "refold_rebuilds_total", dimensions: [("projection", projection), ("outcome", swapped ? "swapped" : "kept")]).increment()
    }
}
