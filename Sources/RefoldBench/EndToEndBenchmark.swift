import Foundation
import RefoldCore
import RefoldOrderSummary
import RefoldRunner
import RefoldRedis
import RefoldMySQL
import RefoldPostgres
import RefoldSQLite
import RefoldStore

/// `refold bench`: every end-to-end figure measured side by side in one run, so ratios hold on
/// shared, noisy machines. Reads only; read models go to a temporary database.
public enum EndToEndBenchmark {
    public struct Options: Sendable {
        public var projection: AnyProjection
        public var events: String
        public var layout: EventTableLayout = EventTableLayout()
        /// Worker counts for the parallel runs (1…N).
        public var workerCounts: [Int]
        public var repeats: Int
        public var coordinationTasks = 10_000
        /// Positions replayed the seed's way (one `updateOrInsert` per event); 0 skips it.
        public var seedEvents = 20_000
        /// The share of the table appended after a build and caught up (SQLite); 0 skips it.
        public var catchupFraction = 0.1
        /// Asked between stages: a signal number stops the benchmark (Ctrl-C, SIGTERM).
        public var signal: @Sendable () -> Int32? = { nil }

        public init(projection: AnyProjection, events: String, workerCounts: [Int], repeats: Int) {
            self.projection = projection
            self.events = events
            self.workerCounts = workerCounts
            self.repeats = repeats
        }
    }

    public struct ParallelFigure: Sendable {
        public let workers: Int
        public let seconds: BenchFigure
        public let peakRSSBytes: Int64?
    }

    public struct Result: Sendable {
        public let events: Int
        /// SQLite's own `sum(json_extract(…))` scan of the same file, in this process.
        public let floor: BenchFigure
        public let inline: BenchFigure
        public let parallel: [ParallelFigure]
        public let verify: BenchFigure
        /// Fork-join of no-op tasks: tasks per second.
        public let coordination: BenchFigure
        /// Unpipelined PING round trips per second (the coordination figure's yardstick).
        public let ping: Double
        public let floorGuarded: Bool
        /// The largest parallel run of the last repeat (for its timeline).
        public let largest: DistributedRebuild.Outcome?
        /// The seed's per-event replay over the first positions, on the same database.
        public let seed: SeedReplayBenchmark.Figure?
        /// "SQLite" or "PostgreSQL": whose scan the floor is.
        public let engine: String
        /// Catch-up of the last events: inline, forked, and by the live service (SQLite).
        public let catchup: CatchupBenchmark.Result?

        /// The seed replay's time for every event, extrapolated from its rate.
        public var seedSecondsForAll: Double? { seed.map { Double(events) / $0.eventsPerSecond } }

        /// The ratios a baseline stores and compares.
        public var ratios: [BenchRatio] {
            var ratios = [
                BenchRatio(name: "inline_vs_floor", value: inline.median / floor.median, higherIsBetter: false),
                BenchRatio(name: "verify_vs_floor", value: verify.median / floor.median, higherIsBetter: false),
                BenchRatio(name: "coordination_vs_ping", value: coordination.median / ping, higherIsBetter: true),
            ]
            let single = parallel.first { $0.workers == 1 }?.seconds.median
            for figure in parallel {
                ratios.append(BenchRatio(name: "parallel_\(figure.workers)_vs_floor", value: figure.seconds.median / floor.median, higherIsBetter: false))
                if let seed = seedSecondsForAll {
                    ratios.append(BenchRatio(name: "seed_vs_parallel_\(figure.workers)", value: seed / figure.seconds.median, higherIsBetter: true))
                }
                if let single, figure.workers > 1 {
                    ratios.append(BenchRatio(name: "scaling_\(figure.workers)", value: single / figure.seconds.median, higherIsBetter: true))
                }
            }
            if let catchup, events > 0 {
                // The floor for the delta: the whole table's scan, pro rata.
                let deltaFloor = floor.median * Double(catchup.delta) / Double(events)
                ratios.append(BenchRatio(name: "catchup_inline_vs_floor", value: catchup.inline.median / deltaFloor, higherIsBetter: false))
                ratios.append(BenchRatio(name: "catchup_parallel_vs_floor", value: catchup.parallel.median / deltaFloor, higherIsBetter: false))
                ratios.append(BenchRatio(name: "catchup_live_vs_floor", value: catchup.live.median / deltaFloor, higherIsBetter: false))
            }
            return ratios
        }
    }

    public static func run(
        _ options: Options, redis: RedisConfiguration, redisURLText: String, say: (String) -> Void = { _ in }
    ) throws -> Result {
        let source = try Stores.events(options.events, layout: options.layout)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-bench-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Read models go where a user's would on that engine, apart from the user's: a temporary
        // SQLite file, or a schema of its own in the same PostgreSQL database (dropped after).
        let scratch = try BenchScratch(events: options.events, directory: directory)
        defer { scratch.dropAll() }
        let locations = RebuildLocations(events: options.events, readModels: scratch.readModels, layout: options.layout)
        var seed: SeedReplayBenchmark.Figure?

        var floor: [Double] = []
        var guarded = false
        var inline: [Double] = []
        var parallel: [Int: [Double]] = [:]
        var rss: [Int: Int64] = [:]
        var verify: [Double] = []
        var coordination: [Double] = []
        var events = 0
        var largest: DistributedRebuild.Outcome?
        func checkSignal() throws {
            if let number = options.signal() {
                throw RunnerError(.interrupted(number), "interrupted by \(number == SIGTERM ? "SIGTERM" : "SIGINT"): the benchmark stopped; its scratch read models were removed.")
            }
        }
        for round in 1...max(1, options.repeats) {
            try checkSignal()
            say("round \(round)/\(options.repeats): \(scratch.engine)'s own scan")
            let scan = try source.jsonScanFloor()
            floor.append(scan.seconds)
            guarded = scan.guarded
            try checkSignal()
            say("round \(round)/\(options.repeats): inline rebuild")
            let single = try InlineRebuild.run(projection: options.projection, locations: locations, strict: false)
            inline.append(single.seconds)
            events = single.events
            for workers in options.workerCounts {
                try checkSignal()
                say("round \(round)/\(options.repeats): parallel rebuild, \(workers) worker\(workers == 1 ? "" : "s")")
                let run = DistributedRebuild.Options(
                    projection: options.projection, locations: locations, workers: workers,
                    tasks: scratch.engine == "SQLite" ? max(2, 2 * workers) : max(2, workers), leaseMilliseconds: 30_000, strict: false)
                let outcome = try DistributedRebuild.run(run, redis: .init(configuration: redis, urlText: redisURLText))
                parallel[workers, default: []].append(outcome.report.seconds)
                if let peak = outcome.report.workerPeakRSSBytes { rss[workers] = max(rss[workers] ?? 0, peak) }
                if workers == options.workerCounts.max() { largest = outcome }
            }
            if round == 1, options.seedEvents > 0 {
                say("round \(round)/\(options.repeats): the seed's replay, one updateOrInsert per event, over \(options.seedEvents) positions")
                seed = try SeedReplayBenchmark.run(
                    projection: options.projection, events: options.events, layout: options.layout,
                    readModels: scratch.readModels, limit: options.seedEvents, stop: checkSignal)
            }
            try checkSignal()
            say("round \(round)/\(options.repeats): verify")
            verify.append(try Verifier.run(projection: options.projection, locations: locations).seconds)
            try checkSignal()
            say("round \(round)/\(options.repeats): coordination, \(options.coordinationTasks) no-op tasks")
            let coordinated = try CoordinationBenchmark.run(
                redis: redis, redisURLText: redisURLText, tasks: options.coordinationTasks,
                workers: options.workerCounts.max() ?? 1, batch: 100)
            coordination.append(coordinated.tasksPerSecond)
        }
        var catchup: CatchupBenchmark.Result?
        if scratch.engine == "SQLite", options.catchupFraction > 0 {
            catchup = try CatchupBenchmark.run(
                projection: options.projection, events: options.events, folder: directory, fraction: options.catchupFraction,
                workers: options.workerCounts.max() ?? 1, repeats: options.repeats,
                redis: .init(configuration: redis, urlText: redisURLText), signal: options.signal, stop: checkSignal, say: say)
            try checkSignal()
        }
        let ping = try CoordinationBenchmark.pingRate(redis: redis)
        return Result(
            events: events,
            floor: BenchFigure(name: "floor", samples: floor),
            inline: BenchFigure(name: "inline", samples: inline),
            parallel: options.workerCounts.map { ParallelFigure(workers: $0, seconds: BenchFigure(name: "parallel_\($0)", samples: parallel[$0] ?? []), peakRSSBytes: rss[$0]) },
            verify: BenchFigure(name: "verify", samples: verify),
            coordination: BenchFigure(name: "coordination", samples: coordination),
            ping: ping, floorGuarded: guarded, largest: largest, seed: seed, engine: scratch.engine, catchup: catchup)
    }
}

/// Where a benchmark's read models go: a temporary SQLite file for SQLite events; on a server, a
/// temporary schema of the events' PostgreSQL database (the URL's `search_path` points there) or
/// a temporary database on the events' MySQL server — dropped after either way.
struct BenchScratch {
    let readModels: String
    let engine: String
    private let drop: @Sendable () -> Void

    init(events: String, directory: URL) throws {
        let parsed = try DatabaseLocation(parsing: events)
        let name = "refold_bench_\(getpid())_\(UUID().uuidString.prefix(6).lowercased())"
        var location = parsed
        location.password = nil
        switch parsed.kind {
        case .sqlite:
            readModels = directory.appendingPathComponent("read-models.db").path
            engine = "SQLite"
            drop = {}
        case .postgres:
            try PostgresConnection(parsed).execute("CREATE SCHEMA \(quotePostgresIdentifier(name))")
            location.parameters.append(("options", "-csearch_path=\(name)"))
            readModels = location.stored
            engine = "PostgreSQL"
            drop = { try? PostgresConnection(parsed).execute("DROP SCHEMA IF EXISTS \(quotePostgresIdentifier(name)) CASCADE") }
        case .mysql:
            try MySQLConnection(parsed).execute("CREATE DATABASE \(quoteMySQLIdentifier(name))")
            location.database = name
            readModels = location.stored
            engine = "MySQL"
            drop = { try? MySQLConnection(parsed).execute("DROP DATABASE IF EXISTS \(quoteMySQLIdentifier(name))") }
        }
    }

    func dropAll() { drop() }
}

/// `refold bench --scale`: how time and memory grow with the event and aggregate counts.
public enum ScaleBenchmark {
    public struct Point: Sendable {
        public let label: String
        public let events: Int
        public let aggregates: Int
        public let seconds: BenchFigure
        public let floorSeconds: Double
        public let peakRSSBytes: Int64?
    }

    /// Rebuilds each (events, aggregates) dataset — generated once into `cache` — with
    /// `workers` worker processes, `repeats` times.
    public static func run(
        datasets: [(events: Int, aggregates: Int)], cache: String, workers: Int, repeats: Int,
        redis: RedisConfiguration, redisURLText: String, say: (String) -> Void = { _ in }
    ) throws -> [Point] {
        let projection = AnyProjection(OrderSummaryProjection())
        var points: [Point] = []
        for dataset in datasets {
            let path = "\(cache)/bench-\(dataset.events)-\(dataset.aggregates).db"
            if !FileManager.default.fileExists(atPath: path) {
                say("generating \(dataset.events) events for \(dataset.aggregates) aggregates (cached in \(cache))")
                try SQLiteDatasetWriter.write(DatasetGenerator(DatasetSpec(size: dataset.events, aggregates: dataset.aggregates, seed: 1)), to: path)
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-scale-\(getpid())-\(UUID().uuidString.prefix(6))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let locations = RebuildLocations(events: path, readModels: directory.appendingPathComponent("rm.db").path)
            let floor = try SQLiteEventSource(path: path).jsonScanFloor().seconds
            var seconds: [Double] = []
            var peak: Int64?
            for round in 1...max(1, repeats) {
                say("\(dataset.events) events / \(dataset.aggregates) aggregates: rebuild \(round)/\(repeats)")
                let outcome = try DistributedRebuild.run(
                    DistributedRebuild.Options(projection: projection, locations: locations, workers: workers, tasks: max(2, 2 * workers), leaseMilliseconds: 30_000, strict: false),
                    redis: .init(configuration: redis, urlText: redisURLText))
                seconds.append(outcome.report.seconds)
                peak = max(peak ?? 0, outcome.report.workerPeakRSSBytes ?? 0)
            }
            points.append(Point(
                label: "\(dataset.events) ev / \(dataset.aggregates) agg", events: dataset.events, aggregates: dataset.aggregates,
                seconds: BenchFigure(name: "rebuild", samples: seconds), floorSeconds: floor, peakRSSBytes: peak))
        }
        return points
    }
}
