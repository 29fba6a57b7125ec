import ArgumentParser
import Foundation
import RefoldCore
import RefoldProcess
import RefoldRunner

/// `refold catchup PROJECTION --events LOC`
struct CatchupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catchup",
        abstract: "Fold the events after the projection's checkpoint onto its live table; a large delta is forked like a rebuild.",
        discussion: """
            Rows advance only by their next version; a missing version is waited for up to --grace, \
            then the aggregate is quarantined (version_gap). Quarantined aggregates are re-examined and \
            come back when what blocked them is gone. A second run with nothing new does nothing.
            """
    )

    @Argument(help: "The projection to catch up, e.g. order_summary.")
    var projection: String

    @OptionGroup var locations: LocationOptions
    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Apply the delta in this process, without Redis, however large.")
    var inline = false

    @Option(help: "Fork the delta over this many local worker processes (0: only remote workers; default: inline below 100000 events).")
    var workers: Int?

    @Option(help: "Number of tasks when forked (default: 4 per worker).")
    var tasks: Int?

    @Option(help: ArgumentHelp("How long a missing position or version is waited for, e.g. 3s (0s: not at all).", valueName: "duration"), transform: DurationArgument.parseAllowingZero)
    var grace = DurationArgument(milliseconds: 3000)

    func validate() throws {
        if let workers, !(0...DistributedRebuildCommand.maxLocalWorkers).contains(workers) {
            throw ValidationError("--workers must be from 0 to \(DistributedRebuildCommand.maxLocalWorkers) (got \(workers)).")
        }
        if inline, workers != nil { throw ValidationError("--inline and --workers exclude each other.") }
        if let tasks, !(1...100_000).contains(tasks) { throw ValidationError("--tasks must be from 1 to 100000 (got \(tasks)).") }
    }

    func run() throws {
        let projection = try Projections.named(self.projection)
        var options = Catchup.Options(projection: projection, locations: try locations.resolved())
        options.grace = grace.seconds
        options.tasks = tasks
        if inline { options.mode = .inline } else if let workers { options.mode = .parallel(workers: workers) }
        if workers == 0, redis.explicitURL() == nil {
            throw CLIError(.badInput, "--workers 0 uses only workers running elsewhere and therefore needs a shared Redis: pass --redis redis://host:port or set REFOLD_REDIS_URL.")
        }
        SignalFlag.install()
        let bar = ProgressBar(label: projection.name)
        let hooks = DistributedRebuild.Hooks(
            progress: { done, total, detail in bar.update(done: done, total: total, detail: detail) },
            warn: { bar.warn($0) }, signal: { SignalFlag.signal })
        let report: Catchup.Report
        // Redis (and a private server) only when the run may fork.
        if inline || (workers == nil && redis.explicitURL() == nil) {
            if !inline { options.mode = .automatic }
            var resolved: ResolvedRedis?
            if redis.explicitURL() != nil { resolved = try ResolvedRedis(redis) }
            report = try Catchup.run(options, redis: resolved.map { .init(configuration: $0.configuration, urlText: $0.urlText, display: $0.display) }, hooks: hooks)
        } else {
            let resolved = try ResolvedRedis(redis)
            defer { resolved.stop() }
            report = try Catchup.run(options, redis: .init(configuration: resolved.configuration, urlText: resolved.urlText, display: resolved.display), hooks: hooks)
        }
        bar.finish()
        if output.json {
            JSONOutput.print(report.json)
        } else {
            print(report.text)
        }
    }
}

extension Catchup.Report {
    /// The `--json` object of `live.md` ("Reports").
    var json: JSONValue {
        .object([
            ("projection", .string(projection)), ("job", .string(job)), ("mode", .string(mode)),
            ("from_position", .int(fromPosition)), ("head_position", .int(headPosition)),
            ("events", .int(Int64(outcome.events))), ("aggregates", .int(Int64(outcome.aggregates))),
            ("rows_written", .int(Int64(rowsWritten))), ("duplicates_skipped", .int(Int64(outcome.duplicates))),
            ("quarantined", .array(outcome.quarantined.sorted { $0.aggregate.utf8.lexicographicallyPrecedes($1.aggregate.utf8) }.map(\.json))),
            ("healed", .array(outcome.healed.sorted().map { .string($0) })),
            ("seconds", .double(seconds)), ("tasks", .int(Int64(tasks))), ("workers", .int(Int64(workers))),
        ])
    }

    var text: String {
        var lines: [String] = []
        if outcome.events == 0 && outcome.healed.isEmpty && outcome.quarantined.isEmpty {
            lines.append("\(projection) is up to date: nothing after position \(fromPosition)\(headPosition > fromPosition ? " but positions without events (checkpoint moved to \(headPosition))" : "").")
        } else {
            lines.append("Caught up \(projection) from position \(fromPosition) to \(headPosition) (\(mode), job \(job))")
            lines.append(String(format: "  %d events on %d aggregates, %d rows written, %d duplicates skipped in %.2f s", outcome.events, outcome.aggregates, rowsWritten, outcome.duplicates, seconds))
        }
        if !outcome.healed.isEmpty {
            lines.append("  \(outcome.healed.count) healed: \(outcome.healed.sorted().prefix(10).joined(separator: ", "))\(outcome.healed.count > 10 ? ", …" : "")")
        }
        if !outcome.quarantined.isEmpty {
            lines.append("  \(outcome.quarantined.count) newly quarantined (refold quarantine list \(projection)):")
            for record in outcome.quarantined.prefix(10) {
                lines.append("    \(record.aggregate) v\(record.version.map(String.init) ?? "NULL") @\(record.position) \(record.code.rawValue): \(record.reason)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
