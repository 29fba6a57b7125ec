import ArgumentParser
import Foundation
import RefoldBench
import RefoldCore
import RefoldOrderSummary
import RefoldProcess
import RefoldRunner
import RefoldSQLite

/// `refold demo`: the main job on embedded defaults — a generated order workload, rebuilt in
/// parallel by worker processes through a private Redis, then verified.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate 1M order events (cached), rebuild order_summary with 2 worker processes, verify it, show a row."
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: "Events in the demo dataset.") var size = 1_000_000
    @Option(help: "Orders in the demo dataset.") var aggregates = 20_000
    @Option(help: "Worker processes.") var workers = 2
    @Option(help: ArgumentHelp("Where the dataset is cached (default: $XDG_CACHE_HOME/refold or ~/.cache/refold).", valueName: "dir"))
    var cache: String?

    func validate() throws {
        guard size >= 1 else { throw ValidationError("--size must be at least 1.") }
        guard aggregates >= 1 else { throw ValidationError("--aggregates must be at least 1.") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be from 1 to 64.") }
    }

    func run() throws {
        SignalFlag.install()
        let base = try CacheDirectory.resolve(cache)
        let events = "\(base)/demo-\(size)-\(aggregates).db"
        let models = "\(base)/demo-\(size)-\(aggregates)-read-models.db"

        print("Refold demo — \(size) order events, \(aggregates) orders, \(workers) worker processes\n")
        if FileManager.default.fileExists(atPath: events) {
            print("1. Dataset: cached at \(events)")
        } else {
            print("1. Dataset: generating \(events) (once; later runs reuse it)")
            let bar = ProgressBar(label: "generate")
            let start = Date()
            let spec = DatasetSpec(size: size, aggregates: aggregates, seed: 1, skew: 0.5, malformed: 25, gaps: 10, nullAggregates: 100)
            try SQLiteDatasetWriter.write(DatasetGenerator(spec), to: events) { bar.update(done: Int64($0), total: Int64(size)) }
            bar.finish()
            print(String(format: "   wrote %d events in %.1f s", size, Date().timeIntervalSince(start)))
        }

        // Two floors, named, so the ratio cannot flatter: the JSON scan docs/PERFORMANCE.md uses
        // (guarded by json_valid on this data, which parses each payload twice), and a plain
        // read of every payload's bytes.
        let source = try SQLiteEventSource(path: events)
        let (floor, guarded) = try source.jsonScanFloor()
        let plain = try source.plainScanSeconds()
        print(String(format: "   SQLite's own scans of the table: sum(json_extract(payload, '$.qty'))%@ %.2f s; sum(length(payload)), no parsing, %.2f s\n",
                     guarded ? " (json_valid-guarded: the demo data has malformed payloads)" : "", floor, plain))

        print("2. Rebuild order_summary with \(workers) worker processes")
        let projection = try Projections.named("order_summary")
        let locations = RebuildLocations(events: events, readModels: models)
        let bar = ProgressBar(label: "order_summary")
        let report = try DistributedRebuildCommand.run(
            projection: projection, locations: locations, redis: redis, workers: workers, tasks: nil,
            lease: DurationArgument(milliseconds: 30_000), strict: false, timeline: nil, bar: bar)
        bar.finish()
        print(report.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
        print(String(format: "   %.2f× SQLite's JSON scan%@, %.2f× its plain read of the payloads\n",
                     report.seconds / max(floor, 0.001), guarded ? " (guarded)" : "", report.seconds / max(plain, 0.001)))

        print("3. Verify: refold every event in memory and compare with the table")
        let verify = try Verifier.run(projection: projection, locations: locations)
        print(verify.ok
            ? String(format: "   consistent: %d rows match their events up to position %lld (%.2f s)\n", verify.expectedRows, verify.headPosition, verify.seconds)
            : "   DRIFT: \(verify.missing) missing, \(verify.extra) extra, \(verify.wrong) wrong, \(verify.lagging) lagging\n")

        print("4. One row, with the version it reflects:")
        let store = try SQLiteReadModelStore(readOnlyPath: models)
        let cursor = try store.cursor(projection: "order_summary")
        if let row = try cursor.next() {
            print("   id      \(String(decoding: row.id, as: UTF8.self))")
            print("   version \(row.version)   (data reflects this order's events 1…\(row.version))")
            print("   data    \(String(decoding: row.data, as: UTF8.self))")
        }
        let binary = LocalWorkerPool.currentExecutable()
        print("\nRead models: \(models)\nTry: \(binary) quarantine list order_summary --read-models \(models)")
        print("     (install it on your PATH with ./refold.sh install)")
        if !verify.ok { throw ExitCode(CLIError.ExitCode.notClean.rawValue) }
    }
}
