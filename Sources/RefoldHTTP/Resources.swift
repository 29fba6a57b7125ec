import Foundation
import Metrics
import RefoldCoordination
import RefoldCore
import RefoldJSON
import RefoldRedis
import RefoldRunner
import RefoldStore
import Synchronization

/// A row as the API returns it.
struct StoredRow: Sendable {
    let id: String
    let data: [UInt8]
    let version: Int64
    let updatedAt: String?
}

/// The blocking side of the server: store connections and a Redis client, used only from
/// `BlockingPool` threads. Connections are kept in idle lists; each call takes one for itself,
/// so no connection is ever used by two threads at once.
final class Resources: @unchecked Sendable {
    let locations: RebuildLocations
    let redis: RedisConfiguration
    private let idleModels = Mutex<[Box<any ReadModelStore>]>([])
    private let idleSources = Mutex<[Box<any EventSource>]>([])
    private let idleAppenders = Mutex<[Box<any EventAppender>]>([])
    private let client = Mutex<Box<CoordinationClient>?>(nil)

    final class Box<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    init(locations: RebuildLocations, redis: RedisConfiguration) {
        self.locations = locations
        self.redis = redis
    }

    private func with<T, R>(_ idle: borrowing Mutex<[Box<T>]>, make: () throws -> T, _ body: (T) throws -> R) throws -> R {
        let box = try idle.withLock { $0.popLast() } ?? Box(try make())
        do {
            let result = try body(box.value)
            idle.withLock { $0.append(box) }
            return result
        } catch {
            // A failed connection is dropped, not reused.
            throw error
        }
    }

    func models<R>(_ body: (any ReadModelStore) throws -> R) throws -> R {
        try with(idleModels, make: {
            guard let store = try Stores.readOnlyModels(locations.readModels) else {
                throw StoreError(.badInput, "the read-model database \(locations.readModels) does not exist.")
            }
            return store
        }, body)
    }

    func source<R>(_ body: (any EventSource) throws -> R) throws -> R {
        try with(idleSources, make: { try Stores.events(locations.events, layout: locations.layout) }, body)
    }

    func coordination() throws -> CoordinationClient {
        if let existing = client.withLock({ $0 }) { return existing.value }
        let made = try CoordinationClient(configuration: redis)
        client.withLock { $0 = Box(made) }
        return made
    }

    func row(projection: String, id: String) throws -> StoredRow? {
        try models { store in
            try store.liveRow(projection: projection, aggregate: Array(id.utf8)).map { StoredRow(id: id, data: $0.data, version: $0.version, updatedAt: $0.updatedAt) }
        }
    }

    func quarantined(_ projection: String) throws -> [QuarantineRecord] {
        try models { try $0.quarantined(projection: projection) }
    }

    func projectionStatus(_ projection: String) throws -> JSONValue {
        let checkpoint = try models { try $0.checkpoint(projection: projection) }
        let quarantined = try models { try $0.quarantined(projection: projection).count }
        let (head, behind, seconds) = try source { source -> (Int64, Int64, Double?) in
            let position = checkpoint?.position ?? 0
            let seconds = source.createdAt(firstAfter: position).flatMap(Self.secondsSince)
            return (try source.headPosition(), try source.countEvents(after: position), seconds)
        }
        var leader: JSONValue = .null
        if let holder = try? coordination().run(LeaderScript(projection: projection, operation: .renew, owner: "refold-serve", token: "probe", leaseMilliseconds: 1)),
           case .taken(let taken) = holder, !taken.owner.isEmpty {
            leader = .object([("owner", .string(taken.owner))])
        }
        return .object([
            ("projection", .string(projection)), ("checkpoint_position", checkpoint.map { .int($0.position) } ?? .null),
            ("job", checkpoint.map { .string($0.job) } ?? .null), ("head_position", .int(head)),
            ("positions_behind", .int(behind)), ("seconds_behind", .double(behind == 0 ? 0 : (seconds ?? 0))),
            ("quarantined", .int(Int64(quarantined))), ("leader", leader),
        ])
    }

    static func secondsSince(_ text: String) -> Double? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: String(text.prefix(19))).map { max(0, Date().timeIntervalSince($0)) }
    }

    func append(aggregate: String, type: String, payload: String, expected: Int64?) throws -> AppendOutcome {
        let outcome = try with(idleAppenders, make: { try Stores.appender(locations.events, layout: locations.layout) }) { appender in
            try appender.append(NewEvent(aggregate: aggregate, version: nil, eventClass: type, payload: payload), expected: expected)
        }
        if case .appended(let version, _) = outcome {
            // Write-through (live.md): the written version, so readers can tell how far the row must get.
            _ = try? coordination().run(WrittenScript(aggregate: aggregate, version: version))
        }
        return outcome
    }

    func request(projection: String, kind: ReplayRequest.Kind, aggregates: [String]) throws -> ReplayRequestScript.Reply {
        try coordination().run(ReplayRequestScript(projection: projection, kind: kind, aggregates: aggregates))
    }

    func job(_ id: String, projections: [String]) throws -> JSONValue? {
        let client = try coordination()
        for projection in projections {
            if let text = try client.redis.send(RedisCommand("HGET", RequestKeys(projection: projection).requests, id)).string,
               let request = ReplayRequest(json: text) {
                var pairs: [(String, JSONValue)] = [("id", .string(request.id)), ("kind", .string("request")), ("projection", .string(request.projection)),
                                                    ("request_kind", .string(request.kind.rawValue)), ("state", .string(request.state.rawValue)),
                                                    ("aggregates", .array(request.aggregates.map { .string($0) }))]
                if !request.job.isEmpty { pairs.append(("job", .string(request.job))) }
                if !request.error.isEmpty { pairs.append(("error", .string(request.error))) }
                if let report = try? JSONScanner.parse(Array(request.report.utf8)) { pairs.append(("report", JSONValue(report))) }
                return .object(pairs)
            }
        }
        guard let status = try client.status(jobID: id) else { return nil }
        return Self.json(status)
    }

    /// A job as `GET /v1/jobs/{id}` and `GET /v1/jobs` show it: state, projection, kind,
    /// progress, tasks by state, the reason it stopped and its report once joined.
    static func json(_ status: JobStatus) -> JSONValue {
        let payload = JSONTree(parsing: status.payload)
        var pairs: [(String, JSONValue)] = [
            ("id", .string(status.jobID)), ("state", .string(status.state.rawValue)),
            ("projection", payload?["projection"]?.string.map { .string($0) } ?? .null),
            ("job_kind", payload?["kind"]?.string.map { .string($0) } ?? .null),
            ("progress", .object([("events_done", .int(status.eventsDone)), ("events_total", .int(status.eventsTotal))])),
            ("tasks", .object([("total", .int(Int64(status.total))), ("done", .int(Int64(status.done))), ("dead", .int(Int64(status.dead))),
                               ("ready", .int(Int64(status.ready))), ("leased", .int(Int64(status.leased))), ("delayed", .int(Int64(status.delayed)))])),
            ("retries", .int(Int64(status.retries))), ("age_seconds", .double(Double(status.ageMilliseconds) / 1000)),
        ]
        if !status.reason.isEmpty { pairs.append(("reason", .string(status.reason))) }
        if let finished = status.finishedMilliseconds, finished > 0 { pairs.append(("finished_ms", .int(finished))) }
        if let report = status.fields["report"], let tree = try? JSONScanner.parse(Array(report.utf8)) {
            pairs.append(("report", JSONValue(tree)))
        }
        return .object(pairs)
    }

    /// `GET /v1/jobs`: the running jobs and the most recently finished ones (newest first) of
    /// the served projections.
    func jobs(projections: [String], recent: Int) throws -> JSONValue {
        let client = try coordination()
        func served(_ status: JobStatus) -> Bool {
            JSONTree(parsing: status.payload)?["projection"]?.string.map(projections.contains) ?? false
        }
        var running: [JobStatus] = []
        for id in try client.indexedJobs() {
            if let status = try client.status(jobID: id), !status.isFinished, served(status) { running.append(status) }
        }
        running.sort { $0.createdMilliseconds > $1.createdMilliseconds }
        let finished = try client.recentJobs(limit: recent * 4).filter(served).prefix(recent)
        return .object([("running", .array(running.map(Self.json))), ("recent", .array(finished.map(Self.json)))])
    }

    func cancel(_ id: String) throws -> Bool {
        do {
            return try coordination().cancel(jobID: id, reason: "cancelled over HTTP (DELETE /v1/jobs/\(id))")
        } catch let error as CoordinationError where error.code == .jobMissing {
            return false
        }
    }

    /// Sets the lag gauges (`refold_projection_lag_positions`, `…_seconds`) for /metrics.
    func recordLag(_ projections: [String]) {
        for projection in projections {
            guard let status = try? projectionStatus(projection), case .object(let pairs) = status else { continue }
            let fields = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
            if case .int(let behind)? = fields["positions_behind"] {
                Gauge(label: "refold_projection_lag_positions", dimensions: [("projection", projection)]).record(behind)
            }
            if case .double(let seconds)? = fields["seconds_behind"] {
                Gauge(label: "refold_projection_lag_seconds", dimensions: [("projection", projection)]).record(seconds)
            }
            if case .int(let quarantined)? = fields["quarantined"] {
                Gauge(label: "refold_projection_quarantined", dimensions: [("projection", projection)]).record(quarantined)
            }
        }
    }

    /// What is down, in words (empty: healthy).
    func problems() -> [String] {
        var down: [String] = []
        do { _ = try coordination().redis.send(RedisCommand("PING")) } catch {
            client.withLock { $0 = nil }
            down.append("redis: \(error)")
        }
        do { _ = try models { try $0.checkpoints() } } catch { down.append("read models: \(error)") }
        do { _ = try source { try $0.headPosition() } } catch { down.append("events: \(error)") }
        return down
    }
}
