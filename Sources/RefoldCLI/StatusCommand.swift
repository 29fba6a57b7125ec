import ArgumentParser
import Foundation
import RefoldCoordination

/// `refold status [JOB]`: the operators' view of jobs.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one job, or every job in the index (including jobs stuck in \"building\")."
    )

    @Argument(help: "A job id (default: every indexed job).") var job: String?
    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let client = try CoordinationClient(configuration: try redis.configuration(command: "status"))
        let ids = try job.map { [$0] } ?? client.indexedJobs()
        var statuses: [JobStatus] = []
        for id in ids {
            guard let status = try client.status(jobID: id) else {
                if job != nil { throw CLIError(.badInput, "there is no job \"\(id)\" in Redis (finished jobs expire after their retention).") }
                continue
            }
            statuses.append(status)
        }
        if output.json {
            let items: [JSONValue] = statuses.map(Self.json)
            if job != nil, let first = items.first { JSONOutput.print(first) } else { JSONOutput.print(.object([("jobs", .array(items))])) }
            return
        }
        if statuses.isEmpty { print("No jobs.") }
        for status in statuses {
            let age = Double(status.ageMilliseconds) / 1000
            var line = "\(status.jobID)  \(status.state)  \(status.done)/\(status.total) done, \(status.dead) dead, \(status.leased) leased, \(status.ready) ready, \(status.delayed) delayed, \(status.retries) retries"
            if status.eventsTotal > 0 { line += String(format: ", %.0f%% of events", 100 * Double(status.eventsDone) / Double(status.eventsTotal)) }
            line += String(format: ", age %.0f s", age)
            if status.state == "building" && age > 60 { line += "  (stuck: its coordinator died; remove it with refold cancel \(status.jobID))" }
            if !status.reason.isEmpty { line += "  reason: \(status.reason)" }
            print(line)
        }
    }

    static func json(_ status: JobStatus) -> JSONValue {
        .object([
            ("job", .string(status.jobID)), ("state", .string(status.state)), ("total", .int(Int64(status.total))),
            ("done", .int(Int64(status.done))), ("dead", .int(Int64(status.dead))), ("ready", .int(Int64(status.ready))),
            ("leased", .int(Int64(status.leased))), ("delayed", .int(Int64(status.delayed))), ("retries", .int(Int64(status.retries))),
            ("stalls", .int(Int64(status.stalls))), ("events_total", .int(status.eventsTotal)), ("events_done", .int(status.eventsDone)),
            ("age_seconds", .double(Double(status.ageMilliseconds) / 1000)), ("reason", .string(status.reason)),
        ])
    }
}

/// `refold cancel JOB`
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job: no more claims, workers drop its tasks, its coordinator stops. A job stuck in \"building\" is removed."
    )

    @Argument(help: "The job id.") var job: String
    @OptionGroup var redis: RedisOptions

    func run() throws {
        let client = try CoordinationClient(configuration: try redis.configuration(command: "cancel"))
        guard let status = try client.status(jobID: job) else {
            throw CLIError(.badInput, "there is no job \"\(job)\" in Redis (finished jobs expire after their retention).")
        }
        if status.isFinished {
            print("Job \(job) had already finished (\(status.state)).")
            return
        }
        try client.cancel(jobID: job, reason: "cancelled by an operator (refold cancel)")
        if status.state == "building" { try client.drop(jobID: job, minimumBuildingAgeMilliseconds: 0) }
        print("Cancelled job \(job) (it was \(status.state), \(status.done)/\(status.total) tasks done).")
    }
}
