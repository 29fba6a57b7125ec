import RefoldJSON

/// A completed task's record (the job's `results` hash), with server-side times.
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

    /// Parses one record of the results hash (JSON written by complete.lua, all values strings).
    public init(taskID: String, record: [UInt8]) throws(CoordinationError) {
        guard let fields = ProtocolRecord.strings(record) else {
            throw CoordinationError(.protocolViolation, "the result record of task \"\(taskID)\" is not a JSON object of strings.")
        }
        self.init(
            taskID: taskID, worker: fields["worker"] ?? "", attempt: Int(fields["attempt"] ?? "") ?? 0, token: fields["token"] ?? "",
            startedMilliseconds: Int64(fields["started_ms"] ?? "") ?? 0, finishedMilliseconds: Int64(fields["finished_ms"] ?? "") ?? 0,
            events: Int64(fields["events"] ?? "") ?? 0, result: fields["result"] ?? "")
    }
}

/// A dead-lettered task's record (the job's `dead` hash).
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

    /// Parses one record of the dead hash (JSON written by fail.lua / reap.lua).
    public init(taskID: String, record: [UInt8]) throws(CoordinationError) {
        guard let fields = ProtocolRecord.strings(record) else {
            throw CoordinationError(.protocolViolation, "the dead-letter record of task \"\(taskID)\" is not a JSON object of strings.")
        }
        self.init(taskID: taskID, attempts: Int(fields["attempt"] ?? "") ?? 0, worker: fields["worker"] ?? "", error: fields["error"] ?? "")
    }
}

/// The JSON records scripts write with `cjson.encode` (string values only).
enum ProtocolRecord {
    static func strings(_ bytes: [UInt8]) -> [String: String]? {
        guard let tree = try? JSONScanner.parse(bytes), case .object(let members) = tree else { return nil }
        var out: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else { continue }
            out[String(decoding: key, as: UTF8.self)] = String(decoding: text, as: UTF8.self)
        }
        return out
    }
}
