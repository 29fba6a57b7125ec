import Foundation
import RefoldRedis

// Typed replies of the Lua scripts and their parsers. Parsing is pure (RedisReply in,
// value out), so every reply shape is unit-tested without a server.

/// A task held under a lease by one worker.
public struct TaskLease: Sendable, Equatable, Hashable {
    public let jobID: String
    public let taskID: String
    /// The fencing token: only the holder of the current token may heartbeat, complete or fail.
    public let token: String
    /// 1 for the first claim of the task, 2 for the second, …
    public let attempt: Int
    /// Server time (ms) at which the lease expires unless renewed.
    public let deadlineMilliseconds: Int64
    /// The task's spec, as registered at fork.
    public let spec: String

    public init(jobID: String, taskID: String, token: String, attempt: Int, deadlineMilliseconds: Int64, spec: String) {
        self.jobID = jobID
        self.taskID = taskID
        self.token = token
        self.attempt = attempt
        self.deadlineMilliseconds = deadlineMilliseconds
        self.spec = spec
    }
}

/// What claim.lua answered.
public enum ClaimOutcome: Sendable, Equatable {
    /// Zero or more leases (zero: nothing ready right now).
    case leases([TaskLease], serverMilliseconds: Int64)
    /// The job is not open (building, joined, failed, cancelled).
    case closed(state: String)
    /// The job does not exist.
    case missing
}

/// What heartbeat.lua answered.
public enum HeartbeatOutcome: Sendable, Equatable {
    /// The leases not listed in `lost` were extended.
    case renewed(lost: [String])
    /// The job was cancelled: every lease is lost.
    case cancelled
    /// The job finished or vanished: every lease is lost.
    case closed(state: String)
}

/// What happened to one completion.
public enum CompletionOutcome: String, Sendable, Equatable {
    /// Counted now.
    case done
    /// Already counted with this token: a repeat, ignored.
    case duplicate
    /// The lease was lost (expired, re-claimed): the result is rejected.
    case stale
    /// The job finished before this completion arrived.
    case closed
}

/// What complete.lua answered for a batch.
public struct CompletionReply: Sendable, Equatable {
    /// The job's state after the call.
    public let jobState: String
    /// True when this very call finished the job (the join fires exactly once).
    public let fired: Bool
    /// One outcome per completion, in order.
    public let outcomes: [CompletionOutcome]

    public init(jobState: String, fired: Bool, outcomes: [CompletionOutcome]) {
        self.jobState = jobState
        self.fired = fired
        self.outcomes = outcomes
    }
}

/// One finished task to report with complete.lua.
public struct TaskCompletion: Sendable, Equatable {
    public let lease: TaskLease
    /// Events the task folded (its contribution to progress).
    public let events: Int
    /// Opaque result text stored with the task (the rebuild puts its task report here).
    public let result: String

    public init(lease: TaskLease, events: Int, result: String) {
        self.lease = lease
        self.events = events
        self.result = result
    }
}

/// What fail.lua answered.
public enum FailOutcome: Sendable, Equatable {
    /// The task will be retried after `delayMilliseconds`.
    case retry(delayMilliseconds: Int64)
    /// The task was dead-lettered; `jobState` is "failed" or "joined" when that finished the job.
    case dead(jobState: String, fired: Bool)
    /// The caller's lease was already gone.
    case stale
    case closed(state: String)
    case missing
}

/// What reap.lua answered.
public struct ReapOutcome: Sendable, Equatable {
    public let jobState: String
    public let fired: Bool
    public let requeued: Int
    public let dead: Int

    public init(jobState: String, fired: Bool, requeued: Int, dead: Int) {
        self.jobState = jobState
        self.fired = fired
        self.requeued = requeued
        self.dead = dead
    }
}

/// A job as status.lua reports it.
public struct JobStatus: Sendable, Equatable {
    public let jobID: String
    /// building, open, joined, failed or cancelled.
    public let state: String
    public let total: Int
    public let done: Int
    public let dead: Int
    public let retries: Int
    public let stalls: Int
    public let ready: Int
    public let leased: Int
    public let delayed: Int
    public let eventsTotal: Int64
    public let eventsDone: Int64
    public let createdMilliseconds: Int64
    public let sealedMilliseconds: Int64?
    public let finishedMilliseconds: Int64?
    public let serverMilliseconds: Int64
    public let maxAttempts: Int
    public let leaseMilliseconds: Int
    public let payload: String
    /// Why the job was cancelled or failed, if it was.
    public let reason: String
    /// Tasks handed back without an attempt spent (graceful stops, workers that cannot run them).
    public let releases: Int
    /// The last reason a worker gave for handing a task back, if any.
    public let releaseReason: String
    /// Every field of the job hash as stored (including ones added after the fork, like `report`).
    public let fields: [String: String]

    /// True once the job is joined, failed or cancelled.
    public var isFinished: Bool { state == "joined" || state == "failed" || state == "cancelled" }
    /// Age of the job in ms by the server's clock (tells a stuck "building" job).
    public var ageMilliseconds: Int64 { serverMilliseconds - createdMilliseconds }
}

/// A completed task's record (results hash), with server-side times.
public struct TaskResult: Sendable, Equatable {
    public let taskID: String
    public let worker: String
    public let attempt: Int
    public let token: String
    public let startedMilliseconds: Int64
    public let finishedMilliseconds: Int64
    public let events: Int64
    public let result: String

    public var seconds: Double { Double(finishedMilliseconds - startedMilliseconds) / 1000 }

    public init(taskID: String, worker: String, attempt: Int, token: String, startedMilliseconds: Int64, finishedMilliseconds: Int64, events: Int64, result: String) {
        self.taskID = taskID
        self.worker = worker
        self.attempt = attempt
        self.token = token
        self.startedMilliseconds = startedMilliseconds
        self.finishedMilliseconds = finishedMilliseconds
        self.events = events
        self.result = result
    }
}

/// A dead-lettered task's record (dead hash).
public struct DeadTask: Sendable, Equatable {
    public let taskID: String
    public let attempts: Int
    public let worker: String
    public let error: String

    public init(taskID: String, attempts: Int, worker: String, error: String) {
        self.taskID = taskID
        self.attempts = attempts
        self.worker = worker
        self.error = error
    }
}

/// Pure parsers for every script reply.
public enum ProtocolReplies {
    static func strings(_ reply: RedisReply, _ script: String) throws(CoordinationError) -> [String] {
        guard let elements = reply.array else {
            throw CoordinationError(.protocolViolation, "\(script).lua answered with a non-array reply; is the server running a different protocol version?")
        }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for element in elements {
            guard let text = element.string else {
                throw CoordinationError(.protocolViolation, "\(script).lua answered with a non-string element.")
            }
            out.append(text)
        }
        return out
    }

    static func violation(_ script: String, _ parts: [String]) -> CoordinationError {
        CoordinationError(.protocolViolation, "\(script).lua answered \(parts.prefix(4)) which this client does not understand; is the server running a different protocol version?")
    }

    public static func claim(_ reply: RedisReply, jobID: String) throws(CoordinationError) -> ClaimOutcome {
        let parts = try strings(reply, "claim")
        switch parts.first {
        case "missing": return .missing
        case "closed": return .closed(state: parts.count > 1 ? parts[1] : "?")
        case "ok":
            guard parts.count >= 3, let now = Int64(parts[1]), let count = Int(parts[2]), parts.count == 3 + 5 * count else {
                throw violation("claim", parts)
            }
            var leases: [TaskLease] = []
            leases.reserveCapacity(count)
            for index in 0..<count {
                let base = 3 + 5 * index
                guard let attempt = Int(parts[base + 2]), let deadline = Int64(parts[base + 3]) else {
                    throw violation("claim", parts)
                }
                leases.append(TaskLease(
                    jobID: jobID, taskID: parts[base], token: parts[base + 1],
                    attempt: attempt, deadlineMilliseconds: deadline, spec: parts[base + 4]))
            }
            return .leases(leases, serverMilliseconds: now)
        default:
            throw violation("claim", parts)
        }
    }

    public static func heartbeat(_ reply: RedisReply) throws(CoordinationError) -> HeartbeatOutcome {
        let parts = try strings(reply, "heartbeat")
        switch parts.first {
        case "missing": return .closed(state: "missing")
        case "cancelled": return .cancelled
        case "closed": return .closed(state: parts.last ?? "?")
        case "ok":
            guard parts.count >= 3, let count = Int(parts[2]), parts.count == 3 + count else { throw violation("heartbeat", parts) }
            return .renewed(lost: Array(parts[3...]))
        default:
            throw violation("heartbeat", parts)
        }
    }

    public static func complete(_ reply: RedisReply) throws(CoordinationError) -> CompletionReply {
        let parts = try strings(reply, "complete")
        if parts.first == "missing" {
            throw CoordinationError(.jobMissing, "the job does not exist any more (finished and expired, or dropped).")
        }
        guard parts.count >= 3, let count = Int(parts[2]), parts.count == 3 + count else { throw violation("complete", parts) }
        var outcomes: [CompletionOutcome] = []
        for text in parts[3...] {
            guard let outcome = CompletionOutcome(rawValue: text) else { throw violation("complete", parts) }
            outcomes.append(outcome)
        }
        return CompletionReply(jobState: parts[0], fired: parts[1] == "1", outcomes: outcomes)
    }

    public static func fail(_ reply: RedisReply) throws(CoordinationError) -> FailOutcome {
        let parts = try strings(reply, "fail")
        switch parts.first {
        case "retry":
            guard parts.count == 4, let delay = Int64(parts[3]) else { throw violation("fail", parts) }
            return .retry(delayMilliseconds: delay)
        case "dead":
            guard parts.count == 3 else { throw violation("fail", parts) }
            return .dead(jobState: parts[1], fired: parts[2] == "1")
        case "stale": return .stale
        case "missing": return .missing
        case "closed": return .closed(state: parts.count > 1 ? parts[1] : "?")
        default: throw violation("fail", parts)
        }
    }

    public static func reap(_ reply: RedisReply) throws(CoordinationError) -> ReapOutcome {
        let parts = try strings(reply, "reap")
        switch parts.first {
        case "missing": return ReapOutcome(jobState: "missing", fired: false, requeued: 0, dead: 0)
        case "closed": return ReapOutcome(jobState: parts.count > 1 ? parts[1] : "?", fired: false, requeued: 0, dead: 0)
        default:
            guard parts.count == 4, let requeued = Int(parts[2]), let dead = Int(parts[3]) else { throw violation("reap", parts) }
            return ReapOutcome(jobState: parts[0], fired: parts[1] == "1", requeued: requeued, dead: dead)
        }
    }

    public static func status(_ reply: RedisReply, jobID: String) throws(CoordinationError) -> JobStatus? {
        let parts = try strings(reply, "status")
        if parts.first == "missing" { return nil }
        guard parts.first == "ok", parts.count % 2 == 1 else { throw violation("status", parts) }
        var fields: [String: String] = [:]
        var index = 1
        while index + 1 < parts.count {
            fields[parts[index]] = parts[index + 1]
            index += 2
        }
        func int(_ name: String) -> Int { Int(fields[name] ?? "") ?? 0 }
        func int64(_ name: String) -> Int64 { Int64(fields[name] ?? "") ?? 0 }
        return JobStatus(
            jobID: jobID, state: fields["state"] ?? "?",
            total: int("total"), done: int("done"), dead: int("dead"),
            retries: int("retries"), stalls: int("stalls"),
            ready: int("ready"), leased: int("leased"), delayed: int("delayed"),
            eventsTotal: int64("events_total"), eventsDone: int64("events_done"),
            createdMilliseconds: int64("created_ms"),
            sealedMilliseconds: Int64(fields["sealed_ms"] ?? ""),
            finishedMilliseconds: Int64(fields["finished_ms"] ?? ""),
            serverMilliseconds: int64("now_ms"),
            maxAttempts: int("max_attempts"), leaseMilliseconds: int("lease_ms"),
            payload: fields["payload"] ?? "", reason: fields["reason"] ?? "",
            releases: int("releases"), releaseReason: fields["release_reason"] ?? "", fields: fields)
    }

    /// Parses one record of the results hash (JSON written by complete.lua).
    public static func taskResult(taskID: String, json: [UInt8]) throws(CoordinationError) -> TaskResult {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw CoordinationError(.protocolViolation, "the result record of task \"\(taskID)\" is not a JSON object.")
        }
        func text(_ key: String) -> String { object[key] as? String ?? "" }
        return TaskResult(
            taskID: taskID, worker: text("worker"), attempt: Int(text("attempt")) ?? 0, token: text("token"),
            startedMilliseconds: Int64(text("started_ms")) ?? 0, finishedMilliseconds: Int64(text("finished_ms")) ?? 0,
            events: Int64(text("events")) ?? 0, result: text("result"))
    }

    /// Parses one record of the dead-letter hash (JSON written by fail.lua / reap.lua).
    public static func deadTask(taskID: String, json: [UInt8]) throws(CoordinationError) -> DeadTask {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw CoordinationError(.protocolViolation, "the dead-letter record of task \"\(taskID)\" is not a JSON object.")
        }
        return DeadTask(
            taskID: taskID, attempts: Int(object["attempt"] as? String ?? "") ?? 0,
            worker: object["worker"] as? String ?? "", error: object["error"] as? String ?? "")
    }
}
