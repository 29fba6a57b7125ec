import Benchmark
import Foundation
import RefoldCoordination
import RefoldCore
import RefoldOrderSummary
import RefoldRedis
import RefoldRunner
import RefoldSQLite

// Micro benchmarks of the hot paths. Names are plain identifiers: the thresholds files are
// named after them (Thresholds/RefoldMicro.<name>.p90.json). Thresholds (Thresholds/) are checked on allocation counts
// (and instructions where the machine has hardware counters) — stable on shared, noisy
// machines; wall-clock figures are shown, not judged. Retain/release counts are left out: on
// Linux with Swift 6.3 their runtime hooks crash without swift-runtime-interposer
// (ordo-one/benchmark issue 349), which this machine cannot fetch.

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .instructions]
    let judged: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: .init(relative: [.p50: 5], absolute: [.p50: 2]),
        .instructions: .init(relative: [.p50: 5]),
    ]
    Benchmark.defaultConfiguration = .init(
        metrics: metrics, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1_000_000, thresholds: judged)

    let payloads = [
        #"{"sku":"SKU-17","qty":2,"price_cents":499}"#,
        #"{"customer_id":"cust-123","currency":"EUR"}"#,
        #"{"amount_cents":1234,"note":"paid in full","meta":{"via":["card","3ds"]}}"#,
    ].map { Array($0.utf8) }

    Benchmark("DecodeItemAddedPayload") { benchmark in
        let wanted: [StaticString] = ["sku", "qty", "price_cents"]
        for _ in benchmark.scaledIterations {
            payloads[0].withUnsafeBytes { raw in
                blackHole(try? JSONScanner.fields(of: raw, wanted: wanted))
            }
        }
    }

    Benchmark("DecodeSkippingNestedFields") { benchmark in
        let wanted: [StaticString] = ["amount_cents"]
        for _ in benchmark.scaledIterations {
            payloads[2].withUnsafeBytes { raw in
                blackHole(try? JSONScanner.fields(of: raw, wanted: wanted))
            }
        }
    }

    Benchmark("FoldStepItemAdded") { benchmark in
        let fold = AggregateFold(OrderSummaryProjection())
        let aggregate = Array("order-1".utf8)
        let placed = Array("App\\Events\\OrderPlaced".utf8)
        let added = Array("App\\Events\\ItemAdded".utf8)
        var version: Int64 = 1
        aggregate.withUnsafeBytes { a in
            placed.withUnsafeBytes { c in
                payloads[1].withUnsafeBytes { p in
                    try? fold.consume(EventView(position: 1, aggregate: a, version: 1, eventClass: c, payload: p))
                }
            }
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            version += 1
            aggregate.withUnsafeBytes { a in
                added.withUnsafeBytes { c in
                    payloads[0].withUnsafeBytes { p in
                        try? fold.consume(EventView(position: version, aggregate: a, version: version, eventClass: c, payload: p))
                    }
                }
            }
        }
    }

    Benchmark("UpsertBatchOf1000Rows", configuration: .init(scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200)) { benchmark in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-micro-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteReadModelStore(path: directory.appendingPathComponent("models.db").path)
        try store.createShadow(projection: "micro")
        var version: Int64 = 0
        let data = Array(#"{"status":"paid","customer_id":"c","currency":"EUR","lines":{},"item_count":0,"total_cents":0,"paid_cents":5}"#.utf8)
        let ids = (0..<1000).map { Array("order-\($0)".utf8) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            version += 1
            let rows = ids.map { FoldedRow(aggregate: $0, data: data, version: version) }
            try store.write(rows: rows, quarantined: [], table: SQLiteReadModelStore.shadowTable("micro"), projection: "micro", job: "bench")
        }
        benchmark.stopMeasurement()
    }

    Benchmark("ClaimCompleteRoundTripRedis", configuration: .init(scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 5000)) { benchmark in
        let server = try PrivateRedisServer()
        defer { server.stop() }
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: server.url)))
        let job = "micro-\(getpid())"
        try client.fork(jobID: job, settings: JobSettings(payload: "{}"), tasks: (0..<6000).map { TaskDefinition(id: "t\($0)", spec: "") })
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            guard case .leases(let leases, _) = try client.claim(jobID: job, worker: "micro", count: 1), let lease = leases.first else { break }
            blackHole(try client.complete(jobID: job, worker: "micro", completions: [TaskCompletion(lease: lease, events: 1, result: "")]))
        }
        benchmark.stopMeasurement()  // stopping the server is not part of the figure
    }
}
