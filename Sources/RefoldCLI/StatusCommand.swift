import ArgumentParser
import Foundation
import RefoldCoordination
import RefoldCore
import RefoldRunner
import RefoldSQLite

/// `refold status [JOB]`: the operators' view of jobs — running ones, and recently finished
/// ones with their report summary. With `--read-models PATH` it also reads, read-only, what a
/// read-model database records: rebuilds holding a model's lock (with the Redis their job
/// lives in, e.g. a coordinator's private one) and the last build of each model.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one job, or running and recently finished jobs; with --read-models, the rebuilds recorded in that database."
    )

    @Argument(help: "A job id (default: every running job and the recently finished ones).") var job: String?
    @OptionGroup var redis: RedisOptions
    @Option(name: .customLong("read-models"), help: ArgumentHelp("A read-model database: also show the rebuilds it records (read-only).", valueName: "path"))
    var readModels: String?
    @Option(help: "How many recently finished jobs to show.") var recent = 10
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (0...200).contains(recent) else { throw ValidationError("--recent must be from 0 to 200 (got \(recent)).") }
    }

    func run() throws {
        let url = redis.explicitURL()
        guard url != nil || readModels != nil else {
            throw CLIError(.badInput, "refold status needs a Redis server (--redis redis://host:port or REFOLD_REDIS_URL), or --read-models PATH to see the rebuilds recorded in a read-model database.")
        }
        var statuses: [JobStatus] = []
        var finished: [JobStatus] = []
        if url != nil {
            let client = try CoordinationClient.connect(configuration: try redis.configuration(command: "status"), budget: OutageBudget(seconds: 10, retryUnreachable: false))
            if let job {
                guard let status = try client.status(jobID: job) else {
                    throw CLIError(.badInput, "there is no job \"\(job)\" in Redis (finished jobs expire after their retention).")
                }
                statuses = [status]
            } else {
                for id in try client.indexedJobs() {
                    if let status = try client.status(jobID: id), !status.isFinished { statuses.append(status) }
                }
                finished = try client.recentJobs(limit: recent)
            }
        }
        let database = try readModels.map { try DatabaseView.read(LocationOptions.location($0, flag: "--read-models")) }
        if output.json {
            if job != nil, let first = statuses.first, database == nil {
                JSONOutput.print(Self.json(first))
                return
            }
            var pairs: [(String, JSONValue)] = []
            if url != nil {
                pairs.append(("jobs", .array(statuses.map(Self.json))))
                pairs.append(("recent", .array(finished.map(Self.json))))
            }
            if let database { pairs.append(("read_models", database.json)) }
            JSONOutput.print(.object(pairs))
            return
        }
        if url != nil {
            if statuses.isEmpty && job == nil { print("No running jobs.") }
            for status in statuses { print(Self.line(status)) }
            if !finished.isEmpty {
                print("Recently finished:")
                for status in finished { print("  " + Self.line(status)) }
            }
        }
        if let database { print(database.text) }
    }

    static func line(_ status: JobStatus) -> String {
        let age = Double(status.ageMilliseconds) / 1000
        var line = "\(status.jobID)  \(status.state)"
        if status.isFinished, let finished = status.finishedMilliseconds, finished > 0 {
            line += String(format: " %@ ago", Self.ago(Double(status.serverMilliseconds - finished) / 1000))
            if let summary = status.fields["report"].flatMap({ try? JSONScanner.parse(Array($0.utf8)) }), case .object(let members) = summary {
                func int(_ key: String) -> Int64 { if case .integer(let value)? = members[Array(key.utf8)] { return value }; return 0 }
                let swapped = members[Array("swapped".utf8)] == .bool(true)
                if members[Array("caught_up".utf8)] != nil {
                    let caughtUp = members[Array("caught_up".utf8)] == .bool(true)
                    line += "  \(caughtUp ? "caught up" : "not caught up"): \(int("events")) events, \(int("rows")) rows, \(int("healed")) healed"
                    if case .string(let why)? = members[Array("not_caught_up_because".utf8)] { line += " — \(String(decoding: why, as: UTF8.self))" }
                } else {
                    line += "  \(swapped ? "swapped" : "not swapped"): \(int("events")) events, \(int("rows")) rows, \(int("quarantined")) quarantined, \(int("dead_tasks")) dead"
                    if case .string(let why)? = members[Array("not_swapped_because".utf8)] {
                        line += " — \(String(decoding: why, as: UTF8.self))"
                        return line  // the reason says it already
                    }
                }
            } else {
                line += "  \(status.done)/\(status.total) done, \(status.dead) dead"
            }
            if !status.reason.isEmpty { line += "  reason: \(status.reason)" }
            return line
        }
        line += "  \(status.done)/\(status.total) done, \(status.dead) dead, \(status.leased) leased, \(status.ready) ready, \(status.delayed) delayed, \(status.retries) retries"
        if status.eventsTotal > 0 { line += String(format: ", %.0f%% of events", 100 * Double(status.eventsDone) / Double(status.eventsTotal)) }
        line += String(format: ", age %.0f s", age)
        if status.state == .building && age > 60 { line += "  (stuck: its coordinator died; remove it with refold cancel \(status.jobID))" }
        if !status.releaseReason.isEmpty { line += "  last hand-back: \(status.releaseReason)" }
        if !status.reason.isEmpty { line += "  reason: \(status.reason)" }
        return line
    }

    static func ago(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: return "\(Int(seconds)) s"
        case ..<7200: return "\(Int(seconds / 60)) min"
        default: return "\(Int(seconds / 3600)) h"
        }
    }

    static func json(_ status: JobStatus) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("job", .string(status.jobID)), ("state", .string(status.state.rawValue)), ("total", .int(Int64(status.total))),
            ("done", .int(Int64(status.done))), ("dead", .int(Int64(status.dead))), ("ready", .int(Int64(status.ready))),
            ("leased", .int(Int64(status.leased))), ("delayed", .int(Int64(status.delayed))), ("retries", .int(Int64(status.retries))),
            ("stalls", .int(Int64(status.stalls))), ("releases", .int(Int64(status.releases))),
            ("events_total", .int(status.eventsTotal)), ("events_done", .int(status.eventsDone)),
            ("age_seconds", .double(Double(status.ageMilliseconds) / 1000)), ("reason", .string(status.reason)),
        ]
        if let finished = status.finishedMilliseconds, finished > 0 { pairs.append(("finished_ms", .int(finished))) }
        if let report = status.fields["report"], let tree = try? JSONScanner.parse(Array(report.utf8)) { pairs.append(("report", JSONValue(tree))) }
        return .object(pairs)
    }
}

/// What a read-model database records about rebuilds, read without writing anything.
struct DatabaseView {
    let path: String
    let locks: [(projection: String, holder: LockHolder)]
    let checkpoints: [(projection: String, position: Int64, job: String, updatedAt: String)]

    static func read(_ path: String) throws -> DatabaseView {
        guard let store = try Stores.readOnlyModels(path) else {
            throw CLIError(.badInput, "read-model database \(path) does not exist (check --read-models).")
        }
        return DatabaseView(path: path, locks: try store.locks(), checkpoints: try store.checkpoints())
    }

    var text: String {
        var lines = ["Read models in \(path):"]
        let now = Int64(Date().timeIntervalSince1970)
        for (projection, holder) in locks {
            let state = holder.blocks(job: "", now: now) ? "being rebuilt" : "left locked by a stopped run (the next rebuild takes over)"
            var line = "  \(projection): \(state) by job \(holder.job) (\(holder.owner))"
            if !holder.redis.isEmpty { line += "; its Redis: --redis \(holder.redis)" }
            lines.append(line)
        }
        for checkpoint in checkpoints {
            lines.append("  \(checkpoint.projection): built by job \(checkpoint.job) at \(checkpoint.updatedAt) UTC, up to position \(checkpoint.position)")
        }
        if locks.isEmpty && checkpoints.isEmpty { lines.append("  no rebuild recorded") }
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        .object([
            ("path", .string(path)),
            ("running", .array(locks.map { projection, holder in
                .object([("projection", .string(projection)), ("job", .string(holder.job)), ("owner", .string(holder.owner)),
                         ("redis", .string(holder.redis)), ("active", .bool(holder.blocks(job: "")))])
            })),
            ("built", .array(checkpoints.map {
                .object([("projection", .string($0.projection)), ("job", .string($0.job)), ("position", .int($0.position)), ("updated_at", .string($0.updatedAt))])
            })),
        ])
    }
}

/// `refold cancel JOB`
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job: no more claims, workers drop its tasks, its coordinator stops (exit 1, the live table kept). A job stuck in \"building\" is removed."
    )

    @Argument(help: "The job id.") var job: String
    @OptionGroup var redis: RedisOptions

    func run() throws {
        let client = try CoordinationClient.connect(configuration: try redis.configuration(command: "cancel"), budget: OutageBudget(seconds: 10, retryUnreachable: false))
        guard let status = try client.status(jobID: job) else {
            throw CLIError(.badInput, "there is no job \"\(job)\" in Redis (finished jobs expire after their retention).")
        }
        if status.isFinished {
            print("Job \(job) had already finished (\(status.state)).")
            return
        }
        try client.cancel(jobID: job, reason: "cancelled by refold cancel (\(Self.who()))")
        if status.state == .building { try client.drop(jobID: job, minimumBuildingAgeMilliseconds: 0) }
        print("Cancelled job \(job) (it was \(status.state), \(status.done)/\(status.total) tasks done).")
    }

    /// `user on host, pid N`: who cancelled, for the coordinator's message and `status`.
    static func who() -> String {
        let environment = ProcessInfo.processInfo.environment
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "uid \(getuid())"
        return "\(user) on \(ProcessInfo.processInfo.hostName), pid \(getpid())"
    }
}
