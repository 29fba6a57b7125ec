/// What one task of a rebuild did; stored as the task's result (JSON) in the protocol.
public struct TaskSummary: Sendable, Equatable {
    public var events: Int
    public var aggregates: Int
    public var rows: Int
    public var quarantined: [QuarantineRecord]
    public var seconds: Double
    /// The worker process's peak resident memory when it finished the task, in KiB.
    public var peakRSSKilobytes: Int64?

    public init(events: Int = 0, aggregates: Int = 0, rows: Int = 0, quarantined: [QuarantineRecord] = [], seconds: Double = 0, peakRSSKilobytes: Int64? = nil) {
        self.events = events
        self.aggregates = aggregates
        self.rows = rows
        self.quarantined = quarantined
        self.seconds = seconds
        self.peakRSSKilobytes = peakRSSKilobytes
    }
}

/// A dead task as the report lists it.
public struct DeadTaskReport: Sendable, Equatable {
    public var task: String
    public var attempts: Int
    public var error: String

    public init(task: String, attempts: Int, error: String) {
        self.task = task
        self.attempts = attempts
        self.error = error
    }
}

/// A completed task whose result the coordinator refused (see `RebuildResultCheck`).
public struct RejectedTaskReport: Sendable, Equatable {
    public var task: String
    public var worker: String
    public var reason: String

    public init(task: String, worker: String, reason: String) {
        self.task = task
        self.worker = worker
        self.reason = reason
    }
}

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
    /// True only when this run replaced the live table.
    public var swapped = true
    /// Why the live table was kept, when it was (dead tasks, rejected results).
    public var notSwappedBecause: String?
    /// Completed tasks whose results did not match the plan.
    public var rejectedTasks: [RejectedTaskReport] = []
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

/// Small statistics used by reports and benchmarks.
public enum Statistics {
    /// Nearest-rank percentile; 0 for an empty list.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The median (mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
