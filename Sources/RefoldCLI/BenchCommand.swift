import ArgumentParser
import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldRunner

/// `refold bench …`: measurements that hold on shared, noisy machines.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: `bench coordination` (the fork-join protocol alone), `bench redis` (the client vs redis-benchmark).",
        subcommands: [BenchCoordinationCommand.self, BenchRedisCommand.self]
    )
}

/// Where a command's Redis comes from: the flag, the environment, or a private server.
struct ResolvedRedis {
    let configuration: RedisConfiguration
    /// The URL text to hand to spawned workers (with its password, through the environment).
    let urlText: String
    let privateServer: PrivateRedisServer?

    /// `--redis`, then `REFOLD_REDIS_URL`, then a private `redis-server` for this run.
    init(_ options: RedisOptions) throws {
        if let text = options.explicitURL() {
            urlText = text
            configuration = try RedisOptions.parse(text)
            privateServer = nil
        } else {
            let server = try PrivateRedisServer()
            urlText = server.url
            configuration = try RedisOptions.parse(server.url)
            privateServer = server
        }
    }

    func stop() {
        privateServer?.stop()
    }

    var label: String { privateServer == nil ? configuration.url.endpointDescription : "private redis-server on \(configuration.url.endpointDescription)" }
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

    func validate() throws {
        guard tasks >= 1 else { throw ValidationError("--tasks must be at least 1 (got \(tasks)).") }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be from 1 to 256 (got \(workers)).") }
        guard (1...1000).contains(batch) else { throw ValidationError("--batch must be from 1 to 1000 (got \(batch)).") }
    }

    func run() throws {
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        let client = try CoordinationClient(configuration: resolved.configuration)
        let jobID = "bench-coordination-\(UUID().uuidString.prefix(8).lowercased())"
        let definitions = (0..<tasks).map { TaskDefinition(id: "t\($0)", spec: "") }
        let settings = JobSettings(leaseMilliseconds: 30_000, retentionMilliseconds: 60_000, payload: #"{"kind":"noop","batch":\#(batch)}"#)

        let start = Date()
        try client.fork(jobID: jobID, settings: settings, tasks: definitions)
        let forked = Date()
        let pool = try LocalWorkerPool(count: workers, redisURL: resolved.urlText, arguments: ["--job", jobID, "--poll", "5ms"])
        defer { pool.stopAll(grace: 2) }
        let status = try client.waitForJoin(jobID: jobID, poll: 0.02, shouldStop: { !pool.exited().isEmpty })
        let joined = Date()
        guard status.state == "joined" else {
            let exits = pool.exited().map { "worker \($0.pid): \($0.status)" }.joined(separator: ", ")
            throw CLIError(.infrastructure, "the benchmark job did not join (state \(status.state), \(status.done)/\(status.total) done; \(exits)).")
        }
        try client.drop(jobID: jobID)

        let seconds = joined.timeIntervalSince(start)
        let forkSeconds = forked.timeIntervalSince(start)
        let rate = Double(tasks) / seconds
        if output.json {
            JSONOutput.print([
                "tasks": .int(Int64(tasks)), "workers": .int(Int64(workers)), "batch": .int(Int64(batch)),
                "seconds": .double(seconds), "fork_seconds": .double(forkSeconds),
                "tasks_per_second": .double(rate), "retries": .int(Int64(status.retries)),
                "redis": .string(resolved.privateServer == nil ? "external" : "private"),
            ])
        } else {
            print("""
                Coordination: \(tasks) no-op tasks, \(workers) worker processes, batches of \(batch) (\(resolved.label))
                  fork        \(String(format: "%8.3f", forkSeconds)) s  (\(String(format: "%.0f", Double(tasks) / forkSeconds)) tasks/s registered)
                  fork→join   \(String(format: "%8.3f", seconds)) s  (\(String(format: "%.0f", rate)) tasks/s, worker start-up included)
                """)
        }
    }
}
