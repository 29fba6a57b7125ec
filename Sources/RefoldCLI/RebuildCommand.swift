import ArgumentParser
import Foundation
import RefoldCore
import RefoldProcess
import RefoldRunner

/// `refold rebuild PROJECTION --events PATH …`
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild one read model from its events into a shadow table, then swap it in.",
        discussion: """
            --inline folds everything in this process without Redis. Otherwise the rebuild is split \
            into --tasks ranges and folded by --workers local worker processes (0: only workers \
            running elsewhere), coordinated through Redis (--redis, $REFOLD_REDIS_URL, or a private \
            redis-server started for the run).
            """
    )

    @Argument(help: "The projection to rebuild, e.g. order_summary.")
    var projection: String

    @OptionGroup var locations: LocationOptions
    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Fold everything in this process, without Redis.")
    var inline = false

    @Option(help: "Local worker processes to spawn (default: the number of cores; 0 = only remote workers).")
    var workers: Int?

    @Option(help: "Number of tasks (default: 4 per worker, at least 8).")
    var tasks: Int?

    @Option(help: ArgumentHelp("Lease length for the workers' claims, e.g. 10s.", valueName: "duration"), transform: DurationArgument.parse)
    var lease = DurationArgument(milliseconds: 30_000)

    @Flag(help: "The first data error fails the run (exit 1) instead of quarantining the aggregate.")
    var strict = false

    @Option(help: ArgumentHelp("Write an SVG timeline of the tasks per worker.", valueName: "file.svg"))
    var timeline: String?

    func validate() throws {
        if let workers, workers < 0 { throw ValidationError("--workers must be 0 or more (got \(workers)).") }
        if let tasks, tasks < 1 { throw ValidationError("--tasks must be at least 1 (got \(tasks)).") }
        if inline, workers != nil { throw ValidationError("--inline and --workers exclude each other: --inline folds in this process.") }
    }

    func run() throws {
        let projection = try Projections.named(self.projection)
        let locations = try self.locations.resolved()
        SignalFlag.install()
        let bar = ProgressBar(label: projection.name)
        let report: RebuildReport
        if inline {
            let started = Date()
            report = try InlineRebuild.run(
                projection: projection, locations: locations, strict: strict,
                progress: { done, total in bar.update(done: Int64(done), total: total) },
                shouldStop: { SignalFlag.isRaised })
            if let timeline { try TimelineWriter.write(inline: report, started: started, finished: Date(), to: timeline) }
        } else {
            report = try DistributedRebuildCommand.run(
                projection: projection, locations: locations, redis: redis, workers: workers, tasks: tasks,
                lease: lease, strict: strict, timeline: timeline, bar: bar)
        }
        bar.finish()
        if output.json {
            JSONOutput.print(report.json)
        } else {
            print(report.text)
        }
        if !report.deadTasks.isEmpty { throw ExitCode(CLIError.ExitCode.notClean.rawValue) }
    }
}
