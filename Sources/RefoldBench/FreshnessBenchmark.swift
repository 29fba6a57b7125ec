import Foundation
import RefoldCoordination
import RefoldCore
import RefoldOrderSummary
import RefoldProcess
import RefoldRedis
import RefoldRunner
import RefoldSQLite
import Synchronization

/// `refold bench freshness`: append → row visible latency under a steady append rate. A
/// `refold run` process keeps `order_summary` current; this process appends events at the
/// rate (each one commit, as an application would) and times each from the end of its commit
/// to the moment the live service publishes the row at that version.
public enum FreshnessBenchmark {
    public struct Options: Sendable {
        public var rate: Double = 1000
        public var duration: Double = 60
        /// Orders in the starting dataset (each then receives payments).
        public var orders = 2000
        public var folder: URL

        public init(folder: URL) {
            self.folder = folder
        }
    }

    public struct Result: Sendable {
        public var appends: Int
        /// Appends per second achieved.
        public var rate: Double
        public var seen: Int
        /// Appends whose row advance never arrived (within 5 s of the end).
        public var missed: Int
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
    }

    /// Runs the benchmark against the live service started as a child of `executable`.
    public static func run(_ options: Options, redis: DistributedRebuild.RedisTarget, executable: String, say: (String) -> Void = { _ in }) throws -> Result {
        let events = options.folder.appendingPathComponent("freshness-events.db").path
        let models = options.folder.appendingPathComponent("freshness-read-models.db").path
        try? FileManager.default.removeItem(atPath: events)
        try? FileManager.default.removeItem(atPath: models)
        say("dataset: \(options.orders) orders")
        try SQLiteDatasetWriter.write(DatasetGenerator(DatasetSpec(size: options.orders * 3, aggregates: options.orders, seed: 7)), to: events)
        // A live system on SQLite runs in WAL mode: in rollback-journal mode every reader
        // blocks every writer, and the appends and the live service would take turns.
        // The read models live in a file of their own: the live service's commits then never
        // wait for the application's (fsynced) commits to the event table, nor the reverse.
        try SQLiteConnection(path: events, readOnly: false).execute("PRAGMA journal_mode = WAL")
        try SQLiteConnection(path: models, readOnly: false, create: true).execute("PRAGMA journal_mode = WAL")
        _ = try InlineRebuild.run(projection: AnyProjection(OrderSummaryProjection()), locations: RebuildLocations(events: events, readModels: models), strict: false)
        let placed = try orders(models)
        guard !placed.isEmpty else { throw RunnerError(.infrastructure, "the benchmark dataset has no placed orders") }

        // The subscriber first, so no advance is missed.
        let subscriber = try RedisConnection(redis.configuration)
        try subscriber.subscribe([LiveRunner.rowsChannel("order_summary")])
        let client = try CoordinationClient(configuration: redis.configuration)
        _ = try? client.redis.send(RedisCommand("DEL", LeaderScript.key("order_summary")))

        var environment = ProcessInfo.processInfo.environment
        environment["REFOLD_REDIS_URL"] = redis.urlText
        let log = options.folder.appendingPathComponent("freshness-live.log").path
        let live = try ChildProcess(
            executable: executable, arguments: ["run", "order_summary", "--events", events, "--read-models", models, "--poll", "1ms", "--grace", "1s", "--lease", "5s"],
            environment: environment, standardOutput: .null, standardError: .file(log), newProcessGroup: true)
        defer { live.terminate(grace: 5) }
        say("waiting for the live service to lead")
        let deadline = Date().addingTimeInterval(30)
        while true {
            if case .taken(let holder) = try client.run(LeaderScript(projection: "order_summary", operation: .renew, owner: "bench", token: "bench-probe", leaseMilliseconds: 1)), !holder.owner.isEmpty { break }
            if live.poll() != nil || Date() > deadline {
                throw RunnerError(.infrastructure, "the live service did not start leading (see \(log))")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }

        // Append at the rate; record when each commit ended.
        // Per aggregate, the appends not seen yet: (version, end of commit). A row advance to
        // version v shows every append up to v (the live service may fold several in one pass).
        let sent = Mutex<[String: [(version: Int64, at: Double)]]>([:])
        let latencies = Mutex<[Double]>([])
        let done = Atomic<Bool>(false)
        let listener = Thread {
            while !done.load(ordering: .acquiring) || !sent.withLock({ $0.isEmpty }) {
                guard let message = try? subscriber.nextMessage(timeout: 0.1) else { continue }
                let now = MonotonicClock.seconds()
                let text = String(decoding: message.payload, as: UTF8.self)
                guard let space = text.lastIndex(of: " "), let version = Int64(text[text.index(after: space)...]) else { continue }
                let order = String(text[..<space])
                let shown = sent.withLock { pending -> [Double] in
                    let waiting = pending[order] ?? []
                    pending[order] = waiting.filter { $0.version > version }
                    if pending[order]?.isEmpty == true { pending[order] = nil }
                    return waiting.filter { $0.version <= version }.map(\.at)
                }
                if !shown.isEmpty { latencies.withLock { $0 += shown.map { now - $0 } } }
            }
        }
        listener.start()
        say(String(format: "appending at %.0f/s for %.0f s", options.rate, options.duration))
        let appender = try SQLiteEventAppender(path: events)
        var versions: [String: Int64] = [:]
        for order in placed { versions[order] = try appender.currentVersion(of: order) }
        var random = SeededRandom(seed: 11)
        let start = MonotonicClock.seconds()
        var appends = 0
        while MonotonicClock.seconds() - start < options.duration {
            let due = start + Double(appends) / options.rate
            let wait = due - MonotonicClock.seconds()
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            let order = placed[Int(random.next() % UInt64(placed.count))]
            let next = (versions[order] ?? 0) + 1
            // Registered before the commit, so an advance that arrives before this thread
            // resumes is not lost; the time is then set to the end of the commit.
            sent.withLock { $0[order, default: []].append((next, MonotonicClock.seconds())) }
            let outcome = try appender.append(NewEvent(aggregate: order, version: nil, eventClass: "App\\Events\\OrderPaid", payload: "{\"amount_cents\":1}"), expected: versions[order])
            let committed = MonotonicClock.seconds()
            guard case .appended(let version, _) = outcome, version == next else {
                sent.withLock { $0[order]?.removeAll { $0.version == next } }
                continue
            }
            sent.withLock { pending in
                if let index = pending[order]?.firstIndex(where: { $0.version == next }) { pending[order]?[index].at = committed }
            }
            versions[order] = version
            appends += 1
        }
        let elapsed = MonotonicClock.seconds() - start
        let finish = Date().addingTimeInterval(5)
        while !sent.withLock({ $0.isEmpty }) && Date() < finish { Thread.sleep(forTimeInterval: 0.05) }
        done.store(true, ordering: .releasing)
        let missed = sent.withLock { pending in
            defer { pending.removeAll() }
            return pending.values.reduce(0) { $0 + $1.count }
        }
        let measured = latencies.withLock { $0 }.map { $0 * 1000 }
        return Result(
            appends: appends, rate: Double(appends) / max(elapsed, 0.001), seen: measured.count, missed: missed,
            p50Milliseconds: Statistics.percentile(measured, 50), p99Milliseconds: Statistics.percentile(measured, 99),
            maxMilliseconds: measured.max() ?? 0)
    }

    /// Aggregates of the dataset that have a row (placed orders, not quarantined).
    static func orders(_ path: String) throws -> [String] {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        let statement = try connection.prepare("SELECT id FROM order_summary ORDER BY id")
        var out: [String] = []
        while try statement.step() { out.append(statement.text(0)) }
        let quarantined = try connection.prepare("SELECT aggregate FROM refold_quarantine")
        var skip: Set<String> = []
        while try quarantined.step() { skip.insert(quarantined.text(0)) }
        return out.filter { !skip.contains($0) }
    }
}
