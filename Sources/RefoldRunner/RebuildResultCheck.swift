import RefoldCoordination
import RefoldCore

/// A rebuild task's result as a rebuild worker writes it (`TaskSummary.resultJSON`).
public struct RebuildTaskResult: Sendable, Equatable {
    public var events: Int64
    public var aggregates: Int64
    public var rows: Int64
    public var quarantined: Int64
    public var seconds: Double
    /// The worker's peak resident memory when it finished, in KiB (0: unknown).
    public var peakRSSKilobytes: Int64

    public init(events: Int64, aggregates: Int64, rows: Int64, quarantined: Int64, seconds: Double, peakRSSKilobytes: Int64) {
        self.events = events
        self.aggregates = aggregates
        self.rows = rows
        self.quarantined = quarantined
        self.seconds = seconds
        self.peakRSSKilobytes = peakRSSKilobytes
    }

    /// Parses a result strictly: a JSON object of kind `rebuild` naming this job and task,
    /// with non-negative integer counts that agree with each other. Anything else is the
    /// reason it is not a rebuild result.
    public static func parse(_ text: String, job: String, task: String) -> Result<RebuildTaskResult, RebuildResultCheck.Problem> {
        guard let tree = try? JSONScanner.parse(Array(text.utf8)), case .object(let members) = tree else {
            return .failure(.malformed("its result is not a JSON object: \(text.prefix(80).debugDescription)"))
        }
        func string(_ key: String) -> String? {
            if case .string(let bytes)? = members[Array(key.utf8)] { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
        func count(_ key: String) -> Int64? {
            if case .integer(let value)? = members[Array(key.utf8)], value >= 0 { return value }
            return nil
        }
        guard string("kind") == RebuildJobSpec.kind else {
            return .failure(.malformed("its result is not a rebuild result (kind \(string("kind").map { "\"\($0)\"" } ?? "missing"))"))
        }
        guard string("job") == job, string("task") == task else {
            return .failure(.malformed("its result names job \(string("job") ?? "?") task \(string("task") ?? "?"), not \(job) \(task)"))
        }
        guard let events = count("events"), let aggregates = count("aggregates"), let rows = count("rows"), let quarantined = count("quarantined") else {
            return .failure(.malformed("its result lacks a non-negative integer events, aggregates, rows or quarantined"))
        }
        guard aggregates <= events, rows <= aggregates, quarantined <= aggregates else {
            return .failure(.malformed("its counts contradict each other (\(events) events, \(aggregates) aggregates, \(rows) rows, \(quarantined) quarantined)"))
        }
        var seconds = 0.0
        switch members[Array("seconds".utf8)] {
        case .integer(let value)?: seconds = Double(value)
        case .number(let digits)?: seconds = Double(String(decoding: digits, as: UTF8.self)) ?? 0
        default: break
        }
        return .success(RebuildTaskResult(
            events: events, aggregates: aggregates, rows: rows, quarantined: quarantined,
            seconds: seconds, peakRSSKilobytes: count("rss_kb") ?? 0))
    }
}

/// The coordinator's check of every completed task against its own plan, before a swap.
///
/// Completions are trusted to come from the holder of the task's lease, not to be right: a
/// foreign client, a mismatched build or a bug can complete a task with any text. So a task
/// counts only when its result is a well-formed rebuild result for this job and task, it
/// folded exactly the events the coordinator counted in its range up to the head, and the
/// shadow table holds the rows (and the quarantine table the records) it says it wrote.
/// Checks catch mistakes, not malice (docs/PROTOCOL.md, "Trust").
public struct RebuildResultCheck: Sendable {
    /// Why a completed task was not accepted.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case wrongCount(String)

        public var description: String {
            switch self {
            case .malformed(let text), .wrongCount(let text): return text
            }
        }
    }

    /// A task whose completion was refused.
    public struct Rejection: Sendable, Equatable {
        public var task: String
        public var worker: String
        public var reason: String
    }

    /// What the coordinator knows of one task: its range and the exact events in it up to the head.
    public struct Expectation: Sendable, Equatable {
        public var range: AggregateRange
        public var events: Int64

        public init(range: AggregateRange, events: Int64) {
            self.range = range
            self.events = events
        }
    }

    /// What the read-model database holds for one task's range after the join.
    public struct Stored: Sendable, Equatable {
        public var rows: Int64
        public var quarantined: Int64

        public init(rows: Int64, quarantined: Int64) {
            self.rows = rows
            self.quarantined = quarantined
        }
    }

    public let job: String
    public let expectations: [String: Expectation]

    public init(job: String, expectations: [String: Expectation]) {
        self.job = job
        self.expectations = expectations
    }

    /// Checks one completed task; `stored` is what the database holds for its range.
    public func check(_ result: TaskResult, stored: Stored) -> Result<RebuildTaskResult, Problem> {
        guard let expected = expectations[result.taskID] else {
            return .failure(.malformed("task \(result.taskID) is not one this coordinator planned"))
        }
        let parsed: RebuildTaskResult
        switch RebuildTaskResult.parse(result.result, job: job, task: result.taskID) {
        case .failure(let problem): return .failure(problem)
        case .success(let value): parsed = value
        }
        guard parsed.events == expected.events, result.events == expected.events else {
            return .failure(.wrongCount("it folded \(parsed.events) events but its range holds \(expected.events) up to the head"))
        }
        guard parsed.rows == stored.rows else {
            return .failure(.wrongCount("it reported \(parsed.rows) rows but the shadow table holds \(stored.rows) in its range"))
        }
        guard parsed.quarantined == stored.quarantined else {
            return .failure(.wrongCount("it reported \(parsed.quarantined) quarantined aggregates but \(stored.quarantined) are recorded in its range"))
        }
        return .success(parsed)
    }
}
