import RefoldCore

/// One event in a test, as plain values.
struct TestEvent {
    var aggregate: String = "order-1"
    var version: Int64?
    var type: String
    var payload: String
    var position: Int64 = 0
}

/// Folds test events through the real engine and returns its rows and quarantines.
func fold<P: Projection>(_ projection: P, _ events: [TestEvent]) -> (rows: [FoldedRow], quarantined: [QuarantineRecord]) {
    let engine = AggregateFold(projection)
    for (index, event) in events.enumerated() {
        let aggregate = Array(event.aggregate.utf8)
        let eventClass = Array(event.type.utf8)
        let payload = Array(event.payload.utf8)
        aggregate.withUnsafeBytes { a in
            eventClass.withUnsafeBytes { c in
                payload.withUnsafeBytes { p in
                    try? engine.consume(EventView(position: event.position == 0 ? Int64(index + 1) : event.position, aggregate: a, version: event.version, eventClass: c, payload: p))
                }
            }
        }
    }
    engine.finish()
    return engine.drain()
}

/// A JSON tree from text (test expectations).
func tree(_ text: String) -> JSONTree? {
    try? JSONScanner.parse(Array(text.utf8))
}
