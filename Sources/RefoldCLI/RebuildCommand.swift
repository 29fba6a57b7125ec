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

    @Option(help: "Number of tasks (default: 2 per worker, and more so none holds over 12,000 aggregates; on a server database 1 per worker, at least 2).")
    var tasks: Int?

    @Option(help: ArgumentHelp("Lease length for the workers' claims, e.g. 10s.", valueName: "duration"), transform: DurationArgument.parse)
    var lease = DurationArgument(milliseconds: 30_000)

    @Flag(help: "The first data error fails the run (exit 1) instead of quarantining the aggregate.")
    var strict = false

    @Flag(name: .customLong("replace-table"), help: "If a table that Refold did not build has the projection's name, keep it as <name>__refold_backup_<time> and build the model in its place (without this flag the rebuild refuses, exit 2).")
    var replaceTable = false

    @Option(name: .customLong("wait-for-workers"), help: ArgumentHelp("Cancel the run (exit 3) if no worker has claimed a task this long after the start, e.g. 2m (default: wait forever).", valueName: "duration"), transform: DurationArgument.parse)
    var waitForWorkers: DurationArgument?

    @Option(help: ArgumentHelp("Write an SVG timeline of the tasks per worker.", valueName: "file.svg"))
    var timeline: String?

    func validate() throws {
        if let workers, !(0...DistributedRebuildCommand.maxLocalWorkers).contains(workers) {
            throw ValidationError("--workers must be from 0 to \(DistributedRebuildCommand.maxLocalWorkers) (got \(workers)): each local worker is a process with its own database connections, and past the cores they only contend; to add more, run `refold worker` on other hosts.")
        }
        if let tasks, !(1...100_000).contains(tasks) { throw ValidationError("--tasks must be from 1 to 100000 (got \(tasks)).") }
        if inline, workers != nil { throw ValidationError("--inline and --workers exclude each other: --inline folds in this process.") }
        if inline, waitForWorkers != nil { throw ValidationError("--inline and --wait-for-workers exclude each other: --inline uses no workers.") }
        try LeaseLimits.check(lease, flag: "--lease")
    }

    func run() throws {
        let projection = try Projections.named(self.projection)
        let locations = try self.locations.resolved()
        if let timeline { try TimelineWriter.checkWritable(timeline) }
        SignalFlag.install()
        let bar = ProgressBar(label: projection.name)
        let report: RebuildReport
        if inline {
            let started = Date()
            report = try InlineRebuild.run(
                projection: projection, locations: locations, strict: strict, replaceForeignTable: replaceTable,
                progress: { done, total in bar.update(done: Int64(done), total: total) },
                signal: { SignalFlag.signal })
            if let timeline { try TimelineWriter.write(inline: report, started: started, finished: Date(), to: timeline) }
        } else {
            report = try DistributedRebuildCommand.run(
                projection: projection, locations: locations, redis: redis, workers: workers, tasks: tasks,
                lease: lease, strict: strict, replaceTable: replaceTable, waitForWorkers: waitForWorkers,
                timeline: timeline, bar: bar)
        }
        bar.finish()
        if output.json {
            JSONOutput.print(report.json)
        } else {
            print(report.text)
        }
        if !report.swapped {
            StandardError.line("refold: not swapped: \(report.notSwappedBecause ?? "the run did not finish cleanly"); \(report.untouched ?? "the live table of \(report.projection) was kept").")
            throw ExitCode(CLIError.ExitCode.notClean.rawValue)
        }
    }
}
