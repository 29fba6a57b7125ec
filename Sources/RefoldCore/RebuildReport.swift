import Foundation
/// The report of one rebuild (`--json` keys of the CLI contract).
public struct RebuildReport: Sendable, Equatable {
    public var projection: String
    public var job: String
    public var events: Int
    public var aggregates: Int
    public var rows: Int
    public var seconds: Double
    public var tasks: Int
    public var retries: Int
    public var deadTasks: [DeadTaskReport]
    public var taskSeconds: [String: Double]
    public var headPosition: Int64
    public var quarantined: [QuarantineRecord]
    public var workers: Int
    public var mode: String
    /// Largest resident memory of a local worker process, when there were local workers.
    public var workerPeakRSSBytes: Int64?
    /// Where the coordinator's time went, step by step (parallel runs): (name, seconds).
    public var phases: [RebuildPhase] = []
    /// True only when this run replaced the live table.
    public var swapped = true
    /// Why the live table was kept, when it was (dead tasks, rejected results).
    public var notSwappedBecause: String?
    /// Completed tasks whose results did not match the plan.
    public var rejectedTasks: [RejectedTaskReport] = []
    /// What was left in place when nothing was swapped, in words ("the live table of X was kept").
    public var untouched: String?
    /// The name a foreign table of the projection's name was kept under (`--replace-table`).
    public var previousTableKeptAs: String?

    public init(projection: String, job: String, events: Int, aggregates: Int, rows: Int, seconds: Double, tasks: Int, retries: Int,
                deadTasks: [DeadTaskReport], taskSeconds: [String: Double], headPosition: Int64, quarantined: [QuarantineRecord],
                workers: Int, mode: String) {
        self.projection = projection
        self.job = job
        self.events = events
        self.aggregates = aggregates
        self.rows = rows
        self.seconds = seconds
        self.tasks = tasks
        self.retries = retries
        self.deadTasks = deadTasks
        self.taskSeconds = taskSeconds
        self.headPosition = headPosition
        self.quarantined = quarantined.sorted { $0.aggregate.utf8.lexicographicallyPrecedes($1.aggregate.utf8) }
        self.workers = workers
        self.mode = mode
    }

    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

    /// The p-th percentile (0…100) of task durations, nearest-rank.
    public func taskSecondsPercentile(_ p: Double) -> Double {
        Statistics.percentile(Array(taskSeconds.values), p)
    }

    /// The slowest task and its time.
    public var slowestTask: (task: String, seconds: Double)? {
        taskSeconds.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.map { ($0.key, $0.value) }
    }
}

/// One step of a rebuild's coordinator, from `startedMilliseconds` to `finishedMilliseconds`
/// (milliseconds since 1970 on this host's clock, like the tasks' Redis times when Redis is
/// local): for the report's `phases` and the timeline.
public struct RebuildPhase: Sendable, Equatable {
    public var name: String
    public var startedMilliseconds: Int64
    public var finishedMilliseconds: Int64

    public init(_ name: String, from start: Date, to end: Date = Date()) {
        self.name = name
        startedMilliseconds = Int64((start.timeIntervalSince1970 * 1000).rounded())
        finishedMilliseconds = Int64((end.timeIntervalSince1970 * 1000).rounded())
    }

    public var seconds: Double { Double(finishedMilliseconds - startedMilliseconds) / 1000 }
}
