import ArgumentParser
import Foundation
import RefoldCoordination
import RefoldBench
import RefoldCore
import RefoldOrderSummary
import RefoldProcess
import RefoldRedis
import RefoldRunner
import RefoldSQLite

/// `refold bench`: a container whose default is the end-to-end benchmark, so that
/// `refold bench --size N` and `refold bench coordination --workers W` each get their own
/// options (a parent with options would take `--workers` away from its subcommands).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: end to end (default), coordination, redis, freshness, http.",
        subcommands: [BenchEndToEndCommand.self, BenchCoordinationCommand.self, BenchRedisCommand.self, BenchFreshnessCommand.self, BenchHTTPCommand.self],
        defaultSubcommand: BenchEndToEndCommand.self
    )
}

/// `refold bench [run]`: end-to-end figures as ratios measured in one run.
struct BenchEndToEndCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "End-to-end figures as ratios measured in one run: the database's own scan, inline and parallel rebuilds, the seed's per-event replay, verify, coordination.",
        discussion: """
            Every figure is the median of --repeat runs (min and max shown). Rebuild times are divided \
            by the time the database's own code takes to sum every payload's qty (SQLite: \
            sum(json_extract(event_properties,'$.qty')); PostgreSQL: sum((event_properties->>'qty')::numeric)) \
            on the same table in the same run, so the ratios hold on noisy machines. The seed's replay \
            (one updateOrInsert per event, over --seed-events positions) is extrapolated to the whole \
            table on the same database. --events takes a SQLite path or a postgres:// URL (read models \
            then go to a temporary schema of that database, dropped after). --save FILE stores \
            the ratios; --baseline FILE compares with stored ones and exits 1 past --tolerance.
            """
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Events in the generated dataset.") var size = 1_000_000
    @Option(help: "Aggregates in the generated dataset.") var aggregates = 20_000
    @Option(help: "Skew of the generated dataset (0 uniform, 1 Zipf).") var skew: Double = 0
    @Option(name: .customLong("repeat"), help: "Runs per figure; medians are reported.") var repeats = 3
    @Option(help: "Largest worker count for the parallel runs (1…N; default: the number of cores).") var workers: Int?
    @Option(help: ArgumentHelp("Benchmark this event database (a SQLite path or a postgres:// URL) instead of a generated one.", valueName: "location")) var events: String?
    @Option(name: .customLong("seed-events"), help: ArgumentHelp("Positions replayed the seed's way (one updateOrInsert per event), extrapolated to the whole table; 0 skips it.", valueName: "n")) var seedEvents = 20_000
    @Option(name: .customLong("catchup-percent"), help: ArgumentHelp("SQLite: the last share of the table caught up after a build of the rest, inline, forked and by the live service; 0 skips it.", valueName: "percent")) var catchupPercent = 10
    @Option(help: ArgumentHelp("The projection to rebuild (with --events).", valueName: "name")) var projection = "order_summary"
    @Option(help: ArgumentHelp("Compare the ratios with a stored result; exit 1 past the tolerance.", valueName: "file")) var baseline: String?
    @Option(help: ArgumentHelp("Store this run's ratios.", valueName: "file")) var save: String?
    @Option(help: ArgumentHelp("Allowed worsening of a ratio against the baseline, e.g. 15%.", valueName: "percent")) var tolerance = "15%"
    @Option(help: ArgumentHelp("Timeline of the largest parallel run.", valueName: "file.svg")) var timeline = "refold-bench-timeline.svg"
    @Option(help: ArgumentHelp("Where generated datasets are cached.", valueName: "dir")) var cache: String?
    @Flag(help: "Measure how time and memory grow: 100k, 1M, 5M events, and 1k vs 100k aggregates at 1M.") var scale = false
    @Option(name: .customLong("scale-sizes"), help: .hidden) var scaleSizes: String?
    @Option(help: ArgumentHelp("With --scale: also draw the curve as SVG.", valueName: "file.svg")) var plot: String?

    func validate() throws {
        guard size >= 1, aggregates >= 1 else { throw ValidationError("--size and --aggregates must be at least 1.") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeat must be from 1 to 20.") }
        if let workers, !(1...64).contains(workers) { throw ValidationError("--workers must be from 1 to 64.") }
        guard (0...90).contains(catchupPercent) else { throw ValidationError("--catchup-percent must be from 0 to 90.") }
        guard BenchBaseline.tolerance(tolerance) != nil else { throw ValidationError("--tolerance must look like 15% or 0.15.") }
        if events == nil, projection != "order_summary" { throw ValidationError("--projection needs --events: generated data is for order_summary.") }
    }

    func cacheDirectory() throws -> String {
        try CacheDirectory.resolve(cache)
    }

    func run() throws {
        SignalFlag.install()
        let maxWorkers = workers ?? ProcessInfo.processInfo.activeProcessorCount
        let comparison = try baseline.map { path -> BenchBaseline in
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError(.badInput, "baseline file \(path) cannot be read (check --baseline).")
            }
            do {
                return try BenchBaseline(decoding: Array(data))
            } catch {
                throw CLIError(.badInput, "baseline file \(path) is not a refold bench result: \(error) (write one with --save).")
            }
        }
        let say: (String) -> Void = { StandardError.line("bench: \($0)") }
        if scale {
            try runScale(workers: maxWorkers, say: say)
            return
        }
        let projection = try Projections.named(self.projection)
        let dataset = try events.map { try LocationOptions.location($0, flag: "--events") } ?? "generated \(size)/\(aggregates)/skew \(skew)"
        // A baseline of another dataset or worker count would flag (or hide) a regression that
        // is only the difference in data: refuse before generating or measuring anything.
        if let comparison, let why = comparison.mismatch(with: ["dataset": dataset, "workers": "\(maxWorkers)"]) {
            throw CLIError(.badInput, "cannot compare with --baseline \(baseline ?? ""): \(why); run with the same --size/--aggregates/--skew/--events/--workers, or --save a new baseline.")
        }
        try TimelineWriter.checkWritable(timeline)
        let path: String
        if let events {
            path = try LocationOptions.location(events, flag: "--events")
            _ = try Stores.events(path)
        } else {
            path = "\(try cacheDirectory())/bench-\(size)-\(aggregates)-\(skew).db"
            if !FileManager.default.fileExists(atPath: path) {
                say("generating \(size) events for \(aggregates) aggregates (cached at \(path))")
                try SQLiteDatasetWriter.write(DatasetGenerator(DatasetSpec(size: size, aggregates: aggregates, seed: 1, skew: skew)), to: path)
            }
        }
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        var options = EndToEndBenchmark.Options(projection: projection, events: path, workerCounts: Array(1...maxWorkers), repeats: repeats)
        options.coordinationTasks = 10_000
        options.seedEvents = seedEvents
        options.catchupFraction = Double(catchupPercent) / 100
        options.signal = { SignalFlag.signal }
        let result = try EndToEndBenchmark.run(options, redis: resolved.configuration, redisURLText: resolved.urlText, say: say)
        if let largest = result.largest {
            try TimelineWriter.write(largest, to: timeline)
        }
        let ratios = result.ratios
        let context = [
            "events": "\(result.events)", "dataset": dataset,
            "workers": "\(maxWorkers)", "repeat": "\(repeats)", "cores": "\(ProcessInfo.processInfo.activeProcessorCount)",
        ]
        if let save {
            do {
                try Data(BenchBaseline(ratios: ratios, context: context).encoded()).write(to: URL(fileURLWithPath: save))
            } catch {
                throw CLIError(.badInput, "cannot write \(save): \(error.localizedDescription) (check --save).")
            }
        }
        if let comparison, let why = comparison.mismatch(with: context) {
            // The same file with other contents (an --events table that grew, say).
            throw CLIError(.badInput, "cannot compare with --baseline \(baseline ?? ""): \(why); --save a new baseline for this data.")
        }
        let regressions = comparison.map { $0.regressions(in: ratios, tolerance: BenchBaseline.tolerance(tolerance) ?? 0.15) } ?? []
        if output.json {
            JSONOutput.print(json(result, ratios: ratios, regressions: regressions))
        } else {
            print(table(result, ratios: ratios))
            if comparison != nil {
                print(regressions.isEmpty
                      ? "No ratio is worse than the baseline by more than \(tolerance)."
                      : "REGRESSION past \(tolerance):\n" + regressions.map { "  \($0)" }.joined(separator: "\n"))
            }
        }
        if !regressions.isEmpty { throw ExitCode(CLIError.ExitCode.notClean.rawValue) }
    }

    static func figure(_ figure: BenchFigure) -> JSONValue {
        .object([("median", .double(figure.median)), ("min", .double(figure.min)), ("max", .double(figure.max)), ("samples", .array(figure.samples.map { .double($0) }))])
    }

    static func catchupJSON(_ catchup: CatchupBenchmark.Result) -> JSONValue {
        let delta = Double(catchup.delta)
        let pairs: [(String, JSONValue)] = [
            ("delta_events", .int(Int64(catchup.delta))), ("workers", .int(Int64(catchup.workers))),
            ("inline_seconds", figure(catchup.inline)), ("parallel_seconds", figure(catchup.parallel)), ("live_seconds", figure(catchup.live)),
            ("inline_events_per_second", .double(delta / catchup.inline.median)),
            ("parallel_events_per_second", .double(delta / catchup.parallel.median)),
            ("live_events_per_second", .double(delta / catchup.live.median)),
        ]
        return .object(pairs)
    }

    func json(_ result: EndToEndBenchmark.Result, ratios: [BenchRatio], regressions: [BenchRegression]) -> JSONValue {
        .object([
            ("events", .int(Int64(result.events))), ("repeat", .int(Int64(repeats))),
            ("floor_seconds", Self.figure(result.floor)), ("floor_json_valid_guarded", .bool(result.floorGuarded)),
            ("inline_seconds", Self.figure(result.inline)),
            ("inline_events_per_second", .double(Double(result.events) / result.inline.median)),
            ("parallel", .array(result.parallel.map { figure in
                .object([
                    ("workers", .int(Int64(figure.workers))), ("seconds", Self.figure(figure.seconds)),
                    ("events_per_second", .double(Double(result.events) / figure.seconds.median)),
                    ("ratio_to_floor", .double(figure.seconds.median / result.floor.median)),
                    ("worker_peak_rss_bytes", figure.peakRSSBytes.map { .int($0) } ?? .null),
                ])
            })),
            ("verify_seconds", Self.figure(result.verify)),
            ("engine", .string(result.engine)),
            ("seed_replay", result.seed.map { seed in
                .object([("events", .int(Int64(seed.events))), ("seconds", .double(seed.seconds)), ("events_per_second", .double(seed.eventsPerSecond)),
                         ("extrapolated_seconds", .double(result.seedSecondsForAll ?? 0))])
            } ?? .null),
            ("catchup", result.catchup.map(Self.catchupJSON) ?? .null),
            ("coordination_tasks_per_second", Self.figure(result.coordination)),
            ("ping_per_second", .double(result.ping)),
            ("ratios", .object(ratios.map { ($0.name, .double($0.value)) })),
            ("regressions", .array(regressions.map { .string($0.description) })),
            ("timeline", .string(timeline)),
        ])
    }

    func table(_ result: EndToEndBenchmark.Result, ratios: [BenchRatio]) -> String {
        func row(_ name: String, _ figure: BenchFigure, events: Bool = true) -> String {
            let rate = events ? String(format: "%10.0f ev/s", Double(result.events) / figure.median) : String(repeating: " ", count: 15)
            return String(format: "  %@ %8.3f s  [%.3f – %.3f]  %@  %6.2f× floor", pad(name, 26), figure.median, figure.min, figure.max, rate, figure.median / result.floor.median)
        }
        var lines = ["refold bench: \(result.events) events, medians of \(repeats) (min – max)", ""]
        lines.append(String(format: "  %@ %8.3f s  [%.3f – %.3f]%@", pad("\(result.engine) scan (floor)", 26), result.floor.median, result.floor.min, result.floor.max,
                            result.floorGuarded ? "  (guarded: malformed payloads)" : ""))
        lines.append(row("inline rebuild", result.inline))
        for figure in result.parallel {
            var line = row("parallel, \(figure.workers) worker\(figure.workers == 1 ? "" : "s")", figure.seconds)
            if let rss = figure.peakRSSBytes { line += String(format: "  rss %.0f MB", Double(rss) / 1_048_576) }
            lines.append(line)
        }
        lines.append(row("verify", result.verify, events: false))
        if let seed = result.seed, let all = result.seedSecondsForAll {
            lines.append(String(format: "  %@ %8.3f s  (%d events in %.2f s, %.0f ev/s, extrapolated)  %6.2f× floor", pad("seed replay (per event)", 26),
                                all, seed.events, seed.seconds, seed.eventsPerSecond, all / result.floor.median))
        }
        if let catchup = result.catchup {
            let deltaFloor = result.floor.median * Double(catchup.delta) / Double(max(result.events, 1))
            for (name, figure) in [("catch-up, inline", catchup.inline), ("catch-up, \(catchup.workers) workers", catchup.parallel), ("catch-up, live service", catchup.live)] {
                lines.append(String(format: "  %@ %8.3f s  [%.3f – %.3f]  %10.0f ev/s  %6.2f× floor (%d events)", pad(name, 26),
                                    figure.median, figure.min, figure.max, Double(catchup.delta) / figure.median, figure.median / deltaFloor, catchup.delta))
            }
        }
        lines.append(String(format: "  %@ %8.0f tasks/s  [%.0f – %.0f]  (%.0f PING/s on one connection)", pad("coordination (10k tasks)", 26),
                            result.coordination.median, result.coordination.min, result.coordination.max, result.ping))
        lines.append("")
        lines.append("  ratios: " + ratios.map { String(format: "%@ %.3f", $0.name, $0.value) }.joined(separator: ", "))
        lines.append("  timeline of the largest parallel run: \(timeline)")
        return lines.joined(separator: "\n")
    }

    func runScale(workers: Int, say: (String) -> Void) throws {
        var datasets: [(events: Int, aggregates: Int)] = [(100_000, 20_000), (1_000_000, 20_000), (5_000_000, 20_000), (1_000_000, 1_000), (1_000_000, 100_000)]
        if let scaleSizes {
            // Hidden, for tests: "events:aggregates,…"
            datasets = scaleSizes.split(separator: ",").compactMap { item in
                let parts = item.split(separator: ":").compactMap { Int($0) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
        }
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        let points = try ScaleBenchmark.run(
            datasets: datasets, cache: try cacheDirectory(), workers: workers, repeats: repeats,
            redis: resolved.configuration, redisURLText: resolved.urlText, say: say)
        if let plot {
            do {
                try Data(ScalePlot.svg(points).utf8).write(to: URL(fileURLWithPath: plot))
            } catch {
                throw CLIError(.badInput, "cannot write \(plot): \(error.localizedDescription).")
            }
        }
        if output.json {
            JSONOutput.print(.object([("workers", .int(Int64(workers))), ("points", .array(points.map { point in
                .object([
                    ("events", .int(Int64(point.events))), ("aggregates", .int(Int64(point.aggregates))),
                    ("seconds", Self.figure(point.seconds)), ("floor_seconds", .double(point.floorSeconds)),
                    ("events_per_second", .double(Double(point.events) / point.seconds.median)),
                    ("worker_peak_rss_bytes", point.peakRSSBytes.map { .int($0) } ?? .null),
                ])
            }))]))
        } else {
            print(ScalePlot.text(points, workers: workers))
        }
    }
}

/// Where a command's Redis comes from: the flag, the environment, or a private server.
struct ResolvedRedis: Sendable {
    let configuration: RedisConfiguration
    /// The URL text to hand to spawned workers (with its password, through the environment).
    let urlText: String
    let privateServer: PrivateRedisServer?

    /// `--redis`, then `REFOLD_REDIS_URL`, then a private `redis-server` for this run. With
    /// `waitUntilReady` false, a private server may still be starting: `waitUntilReady()`.
    init(_ options: RedisOptions, waitUntilReady: Bool = true) throws {
        if let text = options.explicitURL() {
            urlText = text
            configuration = try RedisOptions.parse(text)
            privateServer = nil
        } else {
            let server = try PrivateRedisServer(waitUntilReady: waitUntilReady)
            urlText = server.url
            do {
                configuration = try RedisOptions.parse(server.url)
            } catch {
                server.stop()
                throw error
            }
            privateServer = server
        }
    }

    func stop() {
        privateServer?.stop()
    }

    /// Returns once a private server accepts connections (at once for a given Redis).
    func waitUntilReady() throws {
        try privateServer?.waitUntilReady()
    }

    var label: String { privateServer == nil ? configuration.url.endpointDescription : "private redis-server on \(configuration.url.endpointDescription)" }

    /// The URL without its password, for messages that tell users how to reach this Redis.
    var display: String { configuration.url.description }

    /// As a rebuild's coordinator reaches it.
    var target: DistributedRebuild.RedisTarget {
        .init(configuration: configuration, urlText: urlText, display: display)
    }
}

/// `refold bench coordination --tasks N --workers W`: fork N no-op tasks, W worker processes
/// claim and complete them in batches, the coordinator waits for the join.
struct BenchCoordinationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordination",
        abstract: "Fork-join of N no-op tasks over W worker processes; reports tasks/s and fork time."
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Number of no-op tasks.")
    var tasks = 10_000

    @Option(help: "Number of worker processes.")
    var workers = 2

    @Option(help: "Tasks a worker claims (and completes) per call.")
    var batch = 100

    @Option(help: "Concurrent jobs the tasks are split over (on a Redis Cluster they spread over the masters).")
    var jobs = 1

    func validate() throws {
        guard (1...1000).contains(jobs), jobs <= tasks else { throw ValidationError("--jobs must be from 1 to 1000 and at most --tasks (got \(jobs)).") }
        guard tasks >= 1 else { throw ValidationError("--tasks must be at least 1 (got \(tasks)).") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be from 1 to 256 (got \(workers)).") }
        guard (1...1000).contains(batch) else { throw ValidationError("--batch must be from 1 to 1000 (got \(batch)).") }
    }

    func run() throws {
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        let result = try CoordinationBenchmark.run(
            redis: resolved.configuration, redisURLText: resolved.urlText, tasks: tasks, workers: workers, batch: batch, jobs: jobs)
        if output.json {
            JSONOutput.print([
                "tasks": .int(Int64(tasks)), "workers": .int(Int64(workers)), "batch": .int(Int64(batch)),
                "seconds": .double(result.seconds), "fork_seconds": .double(result.forkSeconds),
                "tasks_per_second": .double(result.tasksPerSecond), "retries": .int(Int64(result.retries)),
                "jobs": .int(Int64(jobs)), "masters_used": .int(Int64(result.mastersUsed)),
                "redis": .string(resolved.privateServer == nil ? "external" : "private"),
            ])
        } else {
            print("""
                Coordination: \(tasks) no-op tasks in \(jobs) job\(jobs == 1 ? "" : "s"), \(workers) worker processes, batches of \(batch) (\(resolved.label)\(result.mastersUsed > 0 ? ", jobs on \(result.mastersUsed) cluster masters" : ""))
                  fork        \(String(format: "%8.3f", result.forkSeconds)) s  (\(String(format: "%.0f", Double(tasks) / result.forkSeconds)) tasks/s registered)
                  fork→join   \(String(format: "%8.3f", result.seconds)) s  (\(String(format: "%.0f", result.tasksPerSecond)) tasks/s, worker start-up included)
                """)
        }
    }
}

/// `refold bench freshness --rate R --duration D`: append → row visible latency.
struct BenchFreshnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "freshness",
        abstract: "Append → row visible latency of the live service under a steady append rate (p50/p99/max)."
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Appends per second.") var rate: Double = 1000
    @Option(help: ArgumentHelp("How long to append, e.g. 60s.", valueName: "duration"), transform: DurationArgument.parse)
    var duration = DurationArgument(milliseconds: 60_000)
    @Option(help: "Orders in the starting dataset.") var orders = 2000

    func validate() throws {
        guard rate >= 1, rate <= 20_000 else { throw ValidationError("--rate must be from 1 to 20000 appends per second (got \(rate)).") }
        guard (10...1_000_000).contains(orders) else { throw ValidationError("--orders must be from 10 to 1000000 (got \(orders)).") }
    }

    func run() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("refold-freshness-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        var options = FreshnessBenchmark.Options(folder: folder)
        options.rate = rate
        options.duration = duration.seconds
        options.orders = orders
        let say: (String) -> Void = { if !output.json { StandardError.line("bench: \($0)") } }
        let result = try FreshnessBenchmark.run(
            options, redis: .init(configuration: resolved.configuration, urlText: resolved.urlText, display: resolved.display),
            executable: LocalWorkerPool.currentExecutable(), say: say)
        if output.json {
            JSONOutput.print(.object([
                ("appends", .int(Int64(result.appends))), ("rate", .double(result.rate)), ("seen", .int(Int64(result.seen))),
                ("missed", .int(Int64(result.missed))), ("p50_ms", .double(result.p50Milliseconds)),
                ("p99_ms", .double(result.p99Milliseconds)), ("max_ms", .double(result.maxMilliseconds)),
            ]))
        } else {
            print(String(format: "Freshness: %d appends at %.0f/s; append → row visible p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d not seen", result.appends, result.rate, result.p50Milliseconds, result.p99Milliseconds, result.maxMilliseconds, result.missed))
        }
        if result.missed > 0 { throw ExitCode(CLIError.ExitCode.notClean.rawValue) }
    }
}
