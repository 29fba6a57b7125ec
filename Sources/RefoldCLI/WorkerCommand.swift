import ArgumentParser
import Foundation
import Logging
import RefoldCoordination
import RefoldProcess
import RefoldRunner

/// `refold worker`: a long-running worker for any job in the index.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: claim tasks of any job, fold, write, complete. SIGTERM hands back the current task and exits 0."
    )

    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("Lease to ask for on every claim (default: each job's own), e.g. 10s.", valueName: "duration"), transform: DurationArgument.parse)
    var lease: DurationArgument?

    @Option(help: ArgumentHelp("Events database, overriding the job's (for workers on other hosts).", valueName: "path"))
    var events: String?

    @Option(name: .customLong("read-models"), help: ArgumentHelp("Read-model database, overriding the job's.", valueName: "path"))
    var readModels: String?

    @Option(help: ArgumentHelp("Serve only this job and exit when it has finished.", valueName: "job"))
    var job: String?

    @Option(help: ArgumentHelp("Longest wait between polls when idle.", valueName: "duration"), transform: DurationArgument.parse)
    var poll: DurationArgument = DurationArgument(milliseconds: 250)

    @Option(name: .customLong("parent-pid"), help: .hidden)
    var parentPID: Int32?

    func run() throws {
        if let parentPID { ParentDeath.arm(expectedParent: parentPID) }
        SignalFlag.install()
        let configuration = try redis.configuration(command: "worker")
        var options = WorkerLoop.Options(workerID: WorkerLoop.Options.defaultWorkerID())
        options.leaseMilliseconds = lease?.milliseconds ?? 0
        options.onlyJob = job
        options.maxIdleWait = poll.seconds
        let logger = Logger(label: "refold.worker")
        let handlers = WorkerHandlers(
            overrides: LocationOverrides(events: events.map(LocationOptions.absolute), readModels: readModels.map(LocationOptions.absolute)),
            registry: Projections.current)
        let loop = WorkerLoop(configuration: configuration, options: options, logger: logger) { jobID, payload in
            try handlers.handler(jobID: jobID, payload: payload)
        }
        try loop.run(shouldStop: { SignalFlag.isRaised })
        let stats = loop.currentStatistics
        logger.info("worker exiting", metadata: [
            "refold.completed": "\(stats.completed)", "refold.failed": "\(stats.failed)",
            "refold.released": "\(stats.released)", "refold.abandoned": "\(stats.abandoned)", "refold.stale": "\(stats.stale)",
        ])
    }
}
