import ArgumentParser
import Foundation
import Logging
import CLinux
import RefoldCoordination
import RefoldProcess
import RefoldRunner
import RefoldSQLite
import ServiceLifecycle

/// `refold worker`: a long-running worker for any job in the index, run as a
/// swift-service-lifecycle service (SIGTERM/SIGINT: finish or hand back the task in hand,
/// exit 0).
struct WorkerCommand: AsyncParsableCommand {
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

    @Option(name: .customLong("max-tasks"), help: ArgumentHelp("Exit 0 after completing this many tasks (to recycle workers, like queue:work --max-jobs).", valueName: "n"))
    var maxTasks: Int?

    @Option(help: ArgumentHelp("Longest wait between polls when idle.", valueName: "duration"), transform: DurationArgument.parse)
    var poll: DurationArgument = DurationArgument(milliseconds: 250)

    /// Set by a coordinator that starts its local workers before it registers their job.
    @Option(name: .customLong("await-job"), help: .hidden, transform: DurationArgument.parse)
    var awaitJob: DurationArgument?

    @Option(name: .customLong("parent-pid"), help: .hidden)
    var parentPID: Int32?

    func validate() throws {
        try LeaseLimits.check(lease, flag: "--lease")
        if let maxTasks, maxTasks < 1 { throw ValidationError("--max-tasks must be at least 1 (leave it out to run until stopped).") }
    }

    func run() async throws {
        if let parentPID { ParentDeath.arm(expectedParent: parentPID) }
        Self.tuneAllocator()
        // A location given by flag must be usable here: a worker that cannot read the events
        // would only hand every task back.
        for (flag, path) in [("--events", events), ("--read-models", readModels)] {
            guard let path else { continue }
            if DatabaseLocation.isURL(path) {
                _ = try LocationOptions.location(path, flag: flag)
                continue
            }
            let absolute = LocationOptions.absolute(path)
            guard FileManager.default.fileExists(atPath: absolute) else {
                throw CLIError(.badInput, "\(flag) \(path) does not exist on this host (give the path of the database here, or leave \(flag) out to use the job's).")
            }
            _ = try SQLiteConnection(path: absolute, readOnly: true)
        }
        let configuration = try redis.configuration(command: "worker")
        var options = WorkerLoop.Options(workerID: WorkerLoop.Options.defaultWorkerID())
        options.leaseMilliseconds = lease?.milliseconds ?? 0
        options.onlyJob = job
        options.awaitJobSeconds = job == nil ? nil : awaitJob?.seconds
        options.maxTasks = maxTasks
        options.maxIdleWait = poll.seconds
        let logger = Logger(label: "refold.worker")
        let handlers = WorkerHandlers(
            overrides: LocationOverrides(events: try events.map { try LocationOptions.location($0, flag: "--events") },
                                         readModels: try readModels.map { try LocationOptions.location($0, flag: "--read-models") }),
            registry: Projections.current)
        let loop = WorkerLoop(configuration: configuration, options: options, logger: logger) { jobID, payload in
            try handlers.handler(jobID: jobID, payload: payload)
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: WorkerService(loop: loop), successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer {
            let tally = RefoldMain.metrics
            logger.info("worker exiting", metadata: Dictionary(uniqueKeysWithValues: ["completed", "failed", "released", "abandoned", "stale"].map {
                ("refold.\($0)", Logger.MetadataValue.string("\(tally.counter("refold_worker_tasks_total", [("outcome", $0)]))"))
            }))
        }
        try await group.run()
    }

    /// A fold allocates its states as it goes, on its own thread. glibc gives each thread an
    /// arena that grows by what each allocation needs, one `mprotect` at a time (2 % of a
    /// rebuild's worker time); one arena, grown 64 MB at a time, does not. A worker's threads
    /// otherwise only wait on Redis, so they do not contend for it.
    static func tuneAllocator() {
        refold_one_growing_arena(64 << 20)
    }
}
