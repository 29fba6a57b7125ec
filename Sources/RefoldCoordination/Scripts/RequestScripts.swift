import RefoldJSON
import RefoldRedis

/// The keys of one projection's request queue (request.lua), in KEYS order. All carry the
/// tag `{requests:<projection>}`, so a projection's queue lives in one cluster slot.
public struct RequestKeys: Sendable, Equatable {
    public let projection: String
    public let all: [String]

    public init(projection: String) {
        self.projection = projection
        all = ["pending", "queue", "requests", "seq", "running", "done"].map { "refold:{requests:\(projection)}:\($0)" }
    }

    public var requests: String { all[2] }
    public var done: String { all[5] }
    public var queue: String { all[1] }

    /// Whether a projection name can carry a request queue: 1-60 letters, digits or `_`.
    public static func isValid(projection: String) -> Bool {
        !projection.isEmpty && projection.utf8.count <= 60 && projection.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
        }
    }
}

/// A request for a catch-up or a replay, as request.lua records it.
public struct ReplayRequest: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case catchup, rebuild
    }

    public enum State: String, Sendable {
        case queued, running, done, failed
    }

    public let id: String
    public let projection: String
    public let kind: Kind
    /// Aggregates to replay from their first event (a `rebuild` of just these); empty: the whole model.
    public let aggregates: [String]
    public let state: State
    public let requestedMilliseconds: Int64?
    public let startedMilliseconds: Int64?
    public let finishedMilliseconds: Int64?
    /// The fork-join job that ran it, if one did.
    public let job: String
    /// The report (JSON text) once done.
    public let report: String
    /// Why it failed, if it did.
    public let error: String

    /// Parses a request record (JSON written by the request scripts).
    public init?(json: String) {
        guard let tree = JSONTree(parsing: json), let id = tree["id"]?.string, let projection = tree["projection"]?.string,
              let kind = tree["kind"]?.string.flatMap(Kind.init(rawValue:)), let state = tree["state"]?.string.flatMap(State.init(rawValue:)),
              case .array(let aggregates)? = tree["aggregates"]
        else { return nil }
        self.id = id
        self.projection = projection
        self.kind = kind
        self.aggregates = aggregates.compactMap(\.string)
        self.state = state
        requestedMilliseconds = tree["requested_ms"]?.string.flatMap { Int64($0) }
        startedMilliseconds = tree["started_ms"]?.string.flatMap { Int64($0) }
        finishedMilliseconds = tree["finished_ms"]?.string.flatMap { Int64($0) }
        job = tree["job"]?.string ?? ""
        report = tree["report"]?.string ?? ""
        error = tree["error"]?.string ?? ""
    }
}

/// The checks every request script shares.
protocol RequestScript: ProtocolScript {
    var projection: String { get }
}

extension RequestScript {
    public var keys: [String] { RequestKeys(projection: projection).all }

    public func validate() throws(CoordinationError) {
        guard RequestKeys.isValid(projection: projection) else {
            throw CoordinationError(.invalidArgument, "the projection name \"\(projection.prefix(60))\" is not valid: use 1-60 letters, digits or _.")
        }
    }
}

/// request.lua: asks the live service for a catch-up or a replay; one pending request per kind is merged.
public struct ReplayRequestScript: RequestScript {
    public enum Reply: Sendable, Equatable {
        case queued(String)
        /// Merged into this pending request.
        case merged(String)

        public var id: String {
            switch self { case .queued(let id), .merged(let id): return id }
        }
    }

    public static let name = "request"
    public let projection: String
    public let kind: ReplayRequest.Kind
    public let aggregates: [String]

    public init(projection: String, kind: ReplayRequest.Kind, aggregates: [String] = []) {
        self.projection = projection
        self.kind = kind
        self.aggregates = aggregates
    }

    public var arguments: [any RedisArgument] {
        [kind.rawValue, JSONValue.array(aggregates.map { .string($0) }).rendered()]
    }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Reply {
        let parts = try ScriptReply.strings(raw, Self.name)
        guard parts.count == 2 else { throw ScriptReply.violation(Self.name, parts) }
        switch parts[0] {
        case "queued": return .queued(parts[1])
        case "merged": return .merged(parts[1])
        default: throw ScriptReply.violation(Self.name, parts)
        }
    }
}

/// request_take.lua: the projection's leader takes the next request (a dead leader's running one first).
public struct RequestTakeScript: RequestScript {
    public static let name = "request_take"
    public let projection: String

    public init(projection: String) {
        self.projection = projection
    }

    public var arguments: [any RedisArgument] { [] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> ReplayRequest? {
        let parts = try ScriptReply.strings(raw, Self.name)
        if parts.first == "empty" { return nil }
        guard parts.count == 3, parts[0] == "request", let request = ReplayRequest(json: parts[2]) else { throw ScriptReply.violation(Self.name, parts) }
        return request
    }
}

/// request_finish.lua: records how a request ended.
public struct RequestFinishScript: RequestScript {
    public static let name = "request_finish"
    public let projection: String
    public let id: String
    public let succeeded: Bool
    /// The report (JSON) when it succeeded, else the error text.
    public let text: String
    public let job: String

    public init(projection: String, id: String, succeeded: Bool, text: String, job: String = "") {
        self.projection = projection
        self.id = id
        self.succeeded = succeeded
        self.text = text
        self.job = job
    }

    public var arguments: [any RedisArgument] { [id, succeeded ? "done" : "failed", text, job] }

    public func reply(_ raw: RedisReply) throws(CoordinationError) -> Bool {
        try ScriptReply.strings(raw, Self.name).first == "finished"
    }
}
