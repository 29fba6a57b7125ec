import Foundation
import RefoldCoordination
import RefoldProcess
import RefoldRedis
import RefoldSQLite
import RefoldTestSupport
import Synchronization
import Testing

/// Keeping read models current (live.md): catch-up, gaps and holes, healing, the live
/// service with its leader and standby, write-through appends, requests from other services.
@Suite(.serialized) struct LiveTests {
    static let dataset = Mutex<String?>(nil)

    /// A fresh copy of a shared events file, rebuilt inline (read models in the same file).
    func rebuiltCopy(_ name: String = "app.db") throws -> String {
        let source = try Self.dataset.withLock { cached -> String in
            if let cached { return cached }
            let path = try TemporaryDirectory.make(prefix: "refold-live").appendingPathComponent("events.db").path
            let result = try RefoldRun.run(["generate", path, "--size", "20000", "--aggregates", "400", "--seed", "17", "--malformed", "5", "--gaps", "2"])
            guard result.code == 0 else { throw TestSupportError("generate failed: \(result.stderr)") }
            cached = path
            return path
        }
        let path = try TemporaryDirectory.make().appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: source, toPath: path)
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", path, "--inline"])
        guard rebuild.code == 0 else { throw TestSupportError("rebuild failed: \(rebuild.stderr)") }
        return path
    }

    /// Appends rows with plain SQL, as a Laravel application would.
    func insert(_ path: String, _ rows: [(aggregate: String, version: Int64, type: String, payload: String)], ids: [Int64]? = nil) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false)
        try connection.execute("BEGIN")
        let withID = try connection.prepare("""
            INSERT INTO stored_events (id, aggregate_uuid, aggregate_version, event_version, event_class, event_properties, meta_data, created_at)
            VALUES (?1, ?2, ?3, 1, ?4, ?5, '{}', '2025-01-01 00:00:00')
            """)
        for (index, row) in rows.enumerated() {
            try withID.run([ids.map { .int($0[index]) } ?? .null, .text(row.aggregate), .int(row.version), .text("App\\Events\\" + row.type), .text(row.payload)])
        }
        try connection.execute("COMMIT")
    }

    /// The aggregates with a row, and their versions (the next event of each is version + 1).
    func rows(_ path: String) throws -> [(String, Int64)] {
        let statement = try SQLiteConnection(path: path, readOnly: true).prepare("SELECT id, version FROM order_summary ORDER BY id")
        var out: [(String, Int64)] = []
        while try statement.step() { out.append((statement.text(0), statement.int64(1))) }
        return out
    }

    func maxVersions(_ path: String) throws -> [String: Int64] {
        let statement = try SQLiteConnection(path: path, readOnly: true).prepare("SELECT aggregate_uuid, max(aggregate_version) FROM stored_events WHERE aggregate_uuid IS NOT NULL GROUP BY aggregate_uuid")
        var out: [String: Int64] = [:]
        while try statement.step() { out[statement.text(0)] = statement.int64(1) }
        return out
    }

    func quarantined(_ path: String) throws -> [String] {
        let list = try RefoldRun.run(["quarantine", "list", "order_summary", "--read-models", path, "--json"])
        return (try RefoldRun.json(list.stdout)["quarantined"] as? [[String: Any]] ?? []).compactMap { $0["aggregate"] as? String }
    }

    /// The live table and quarantine list as text, for comparing two databases.
    func dump(_ path: String) throws -> String {
        // The rows are read in a statement that ends before `refold quarantine list` runs: a
        // read left open while waiting on a child would block a live runner's commit (a
        // rollback-journal file), and the child's read behind that commit.
        let rows: String = try {
            let statement = try SQLiteConnection(path: path, readOnly: true).prepare(
                "SELECT group_concat(id || '|' || version || '|' || data, char(10)) FROM (SELECT * FROM order_summary ORDER BY id)")
            _ = try statement.step()
            return statement.text(0)
        }()
        return rows + "\n--\n" + (try quarantined(path)).joined(separator: ",")
    }

    /// A fresh fold of everything up to now, in a database of its own.
    func freshFold(_ events: String) throws -> String {
        let models = URL(fileURLWithPath: events).deletingLastPathComponent().appendingPathComponent("fresh-\(UUID().uuidString.prefix(6)).db").path
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", models, "--inline"])
        guard rebuild.code == 0 else { throw TestSupportError("fresh rebuild failed: \(rebuild.stderr)") }
        return models
    }

    /// Ten thousand events as an application appends them: to existing orders, to new ones,
    /// and to quarantined ones.
    func tenThousandEvents(_ path: String) throws -> [(aggregate: String, version: Int64, type: String, payload: String)] {
        var next = try maxVersions(path)
        let quarantinedOnes = try quarantined(path)
        let existing = try rows(path).map(\.0)
        var out: [(aggregate: String, version: Int64, type: String, payload: String)] = []
        func add(_ aggregate: String, _ type: String, _ payload: String) {
            let version = (next[aggregate] ?? 0) + 1
            next[aggregate] = version
            out.append((aggregate, version, type, payload))
        }
        for index in 0..<10_000 {
            switch index % 10 {
            case 0:
                let order = "new-\(index / 10)"
                if next[order] == nil { add(order, "OrderPlaced", #"{"customer_id":"c\#(index)","currency":"EUR"}"#) } else { add(order, "OrderShipped", "{}") }
            case 1:
                add(quarantinedOnes[index / 10 % quarantinedOnes.count], "OrderPaid", #"{"amount_cents":3}"#)
            default:
                add(existing[(index * 7) % existing.count], "ItemAdded", #"{"sku":"S\#(index % 13)","qty":\#(index % 3 + 1),"price_cents":\#(index % 500)}"#)
            }
        }
        return out
    }

    // MARK: Catch-up

    @Test func aCatchUpAfterTenThousandAppendsEqualsAFreshFoldAndASecondOneDoesNothing() throws {
        let app = try rebuiltCopy()
        try insert(app, try tenThousandEvents(app))
        let first = try RefoldRun.run(["catchup", "order_summary", "--events", app, "--json"])
        #expect(first.code == 0, "\(first.stderr)")
        let report = try RefoldRun.json(first.stdout)
        for key in ["projection", "from_position", "head_position", "events", "aggregates", "rows_written", "duplicates_skipped", "quarantined", "healed", "seconds", "mode", "tasks"] {
            #expect(report[key] != nil, "the report lacks \(key)")
        }
        #expect(report["events"] as? Int == 10_000)
        #expect(report["head_position"] as? Int == 30_000)
        #expect(report["mode"] as? String == "inline")
        let verify = try RefoldRun.json(RefoldRun.run(["verify", "order_summary", "--events", app, "--json"]).stdout)
        #expect(verify["ok"] as? Bool == true)
        #expect(verify["events_after_checkpoint"] as? Int == 0)
        #expect(try dump(app) == dump(try freshFold(app)))
        let second = try RefoldRun.json(RefoldRun.run(["catchup", "order_summary", "--events", app, "--json"]).stdout)
        #expect(second["events"] as? Int == 0)
        #expect(second["rows_written"] as? Int == 0)
        #expect(second["from_position"] as? Int == 30_000)
    }

    @Test func aLargeDeltaForkedOverWorkersGivesTheSameTableAsInline() throws {
        let redis = try RedisTestServer()
        let forked = try rebuiltCopy("forked.db")
        let inline = URL(fileURLWithPath: forked).deletingLastPathComponent().appendingPathComponent("inline.db").path
        try FileManager.default.copyItem(atPath: forked, toPath: inline)
        let events = try tenThousandEvents(forked)
        try insert(forked, events)
        try insert(inline, events)
        // Its own temporary folder, to see that a catch-up that finished leaves no worker logs.
        let temporary = try TemporaryDirectory.make()
        let parallel = try RefoldRun.run(["catchup", "order_summary", "--events", forked, "--workers", "2", "--tasks", "6", "--redis", redis.url, "--json"],
                                         environment: ["TMPDIR": temporary.path])
        #expect(parallel.code == 0, "\(parallel.stderr)")
        let report = try RefoldRun.json(parallel.stdout)
        #expect(report["mode"] as? String == "parallel")
        let job = try #require(report["job"] as? String)
        #expect(!FileManager.default.fileExists(atPath: temporary.appendingPathComponent("refold-\(job)").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.hasPrefix("refold-catchup") }.isEmpty)
        #expect((report["tasks"] as? Int ?? 0) > 1)
        #expect(report["events"] as? Int == 10_000)
        #expect(try RefoldRun.run(["catchup", "order_summary", "--events", inline, "--inline"]).code == 0)
        #expect(try dump(forked) == dump(inline))
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", forked]).code == 0)
    }

    @Test func aVersionGapIsQuarantinedAfterTheGraceAndHealedWhenTheMissingEventArrives() throws {
        let app = try rebuiltCopy()
        try insert(app, [("gappy", 1, "OrderPlaced", #"{"customer_id":"g","currency":"EUR"}"#), ("gappy", 3, "OrderShipped", "{}")])
        let first = try RefoldRun.json(RefoldRun.run(["catchup", "order_summary", "--events", app, "--grace", "500ms", "--json"]).stdout)
        let records = try #require(first["quarantined"] as? [[String: Any]])
        #expect(records.count == 1)
        #expect(records.first?["aggregate"] as? String == "gappy")
        #expect(records.first?["code"] as? String == "version_gap")
        #expect(records.first?["version"] as? Int == 3)
        #expect(try quarantined(app).contains("gappy"))
        // The row keeps the last good version.
        #expect(try rows(app).first { $0.0 == "gappy" }?.1 == 1)
        try insert(app, [("gappy", 2, "OrderPaid", #"{"amount_cents":9}"#)])
        let second = try RefoldRun.json(RefoldRun.run(["catchup", "order_summary", "--events", app, "--json"]).stdout)
        #expect(second["healed"] as? [String] == ["gappy"])
        #expect(try rows(app).first { $0.0 == "gappy" }?.1 == 3)
        #expect(try !quarantined(app).contains("gappy"))
        #expect(try dump(app) == dump(try freshFold(app)))
    }

    @Test func aPositionThatAppearsLateBelowTheCheckpointIsNotLost() throws {
        let app = try rebuiltCopy()
        let head: Int64 = 20_000
        var next = try maxVersions(app)
        let (a, b) = (try rows(app)[3].0, try rows(app)[4].0)
        // Position head+5 commits while head+1…head+4 are missing: a hole.
        try insert(app, [(a, next[a]! + 1, "OrderPaid", #"{"amount_cents":1}"#)], ids: [head + 5])
        next[a]! += 1
        let started = Date()
        let first = try RefoldRun.json(RefoldRun.run(["catchup", "order_summary", "--events", app, "--grace", "1s", "--json"]).stdout)
        #expect(Date().timeIntervalSince(started) >= 1, "the hole was waited for")
        #expect(first["head_position"] as? Int == Int(head + 5))
        // Then an event commits into the hole, below the checkpoint, and a later one after it.
        try insert(app, [(b, next[b]! + 1, "OrderPaid", #"{"amount_cents":2}"#)], ids: [head + 2])
        try insert(app, [(b, next[b]! + 2, "OrderShipped", "{}")])
        let second = try RefoldRun.json(RefoldRun.run(["catchup", "order_summary", "--events", app, "--grace", "1s", "--json"]).stdout)
        #expect(second["quarantined"] as? [Any] == nil || (second["quarantined"] as? [Any])?.isEmpty == true)
        #expect(try rows(app).first { $0.0 == b }?.1 == next[b]! + 2, "both of b's events are folded")
        #expect(try dump(app) == dump(try freshFold(app)))
    }

    // MARK: The live service

    /// Starts `refold run` for order_summary on `app`.
    func startRunner(_ app: String, _ redis: RedisTestServer, lease: String = "2s") throws -> RefoldRun.Running {
        try RefoldRun.start(["run", "order_summary", "--events", app, "--redis", redis.url, "--grace", "1s", "--lease", lease])
    }

    func leader(_ client: CoordinationClient) throws -> String? {
        if case .taken(let holder) = try client.run(LeaderScript(projection: "order_summary", operation: .renew, owner: "test", token: "probe", leaseMilliseconds: 1)), !holder.owner.isEmpty {
            return holder.owner
        }
        return nil
    }

    func caughtUp(_ app: String) throws -> Bool {
        let lag = try RefoldRun.run(["lag", "order_summary", "--events", app, "--json"])
        return try RefoldRun.json(lag.stdout)["positions_behind"] as? Int == 0
    }

    @Test func theLiveServiceKeepsUpWithAppendsNeverLowersAVersionAndStopsCleanly() throws {
        let redis = try RedisTestServer()
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        let app = try rebuiltCopy()
        let runner = try startRunner(app, redis)
        try Deadline.wait(seconds: 30, "the runner to lead") { try leader(client) != nil }
        let events = try tenThousandEvents(app).prefix(2000)
        // Appends from another thread, in small transactions; meanwhile rows are sampled.
        let appended = Atomic<Bool>(false)
        let appender = Thread {
            var slice = events[...]
            while !slice.isEmpty {
                try? insert(app, Array(slice.prefix(20)))
                slice = slice.dropFirst(20)
            }
            appended.store(true, ordering: .releasing)
        }
        appender.start()
        var seen: [String: Int64] = [:]
        var backwards: [String] = []
        try Deadline.wait(seconds: 120, "the appends to finish and the runner to catch up") {
            for (id, version) in try rows(app) {
                if let earlier = seen[id], version < earlier { backwards.append(id) }
                seen[id] = version
            }
            guard appended.load(ordering: .acquiring) else { return false }
            return try caughtUp(app)
        }
        #expect(backwards.isEmpty, "versions moved backwards: \(backwards.prefix(5))")
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", app]).code == 0)
        #expect(try dump(app) == dump(try freshFold(app)))
        runner.child.signal(SIGTERM)
        let result = try runner.finish(timeout: 30)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(try leader(client) == nil, "leadership is given back")
    }

    @Test func aReadTransactionLeftOpenDelaysTheLiveServiceButDoesNotStopIt() throws {
        let redis = try RedisTestServer()
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        let app = try rebuiltCopy()
        // A short busy timeout, so the runner meets the lock within the test's patience.
        let runner = try RefoldRun.start(
            ["run", "order_summary", "--events", app, "--redis", redis.url, "--grace", "1s", "--lease", "2s"],
            environment: ["REFOLD_SQLITE_BUSY_TIMEOUT_MS": "200"])
        try Deadline.wait(seconds: 30, "the runner to lead") { try leader(client) != nil }
        do {
            // A report's read transaction on the rollback-journal file: every commit waits on it,
            // including the runner's renewal of its model lock (every third of the lease).
            let report = try SQLiteConnection(path: app, readOnly: true)
            try report.execute("BEGIN")
            let statement = try report.prepare("SELECT id FROM order_summary")
            #expect(try statement.step())
            try Deadline.wait(seconds: 30, "the runner to meet the lock") {
                runner.stderrText().contains("the database is locked by another connection; retrying")
            }
            #expect(runner.child.wait(timeout: 0) == nil, "the runner is still there: \(runner.stderrText())")
            statement.reset()
            try report.execute("COMMIT")
        }
        try insert(app, Array(try tenThousandEvents(app).prefix(300)))
        try Deadline.wait(seconds: 60, "the runner to apply what was appended") { try caughtUp(app) }
        #expect(try dump(app) == dump(try freshFold(app)))
        runner.child.signal(SIGTERM)
        let result = try runner.finish(timeout: 30)
        #expect(result.code == 0, "\(result.stderr)")
    }

    @Test func killNineOfTheLeaderHandsOverToTheStandbyWithinTheLease() throws {
        let redis = try RedisTestServer()
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        let app = try rebuiltCopy()
        let first = try startRunner(app, redis)
        let second = try startRunner(app, redis)
        defer {
            first.child.terminate(grace: 5)
            second.child.terminate(grace: 5)
        }
        var owner = ""
        try Deadline.wait(seconds: 30, "a leader") {
            owner = try leader(client) ?? ""
            return !owner.isEmpty
        }
        let (leading, standing) = owner.hasSuffix(":\(first.child.pid)") ? (first, second) : (second, first)
        let events = try tenThousandEvents(app)
        try insert(app, Array(events.prefix(500)))
        try Deadline.wait(seconds: 60, "the leader to apply the first appends") { try caughtUp(app) }
        leading.child.signal(SIGKILL)
        _ = leading.child.wait(timeout: 10)
        let killed = Date()
        try insert(app, Array(events.dropFirst(500).prefix(500)))
        try Deadline.wait(seconds: 30, "the standby to take over and catch up") {
            guard try leader(client)?.hasSuffix(":\(standing.child.pid)") == true else { return false }
            return try caughtUp(app)
        }
        #expect(Date().timeIntervalSince(killed) < 15, "taken over within the lease (2 s) plus catching up")
        #expect(try dump(app) == dump(try freshFold(app)), "nothing lost, nothing applied twice")
        standing.child.signal(SIGTERM)
        #expect(try standing.finish(timeout: 30).code == 0)
    }

    @Test func concurrentAppendsWithTheSameExpectedVersionLetExactlyOneWin() throws {
        let app = try rebuiltCopy()
        let (order, version) = try rows(app)[7]
        let current = try maxVersions(app)[order]!
        #expect(current >= version)
        let runs = try (0..<6).map { index in
            try RefoldRun.start(["append", order, "--events", app, "--type", "App\\Events\\OrderPaid", "--data", #"{"amount_cents":\#(index + 1)}"#,
                                 "--expected-version", "\(current)", "--json"])
        }
        let results = try runs.map { try $0.finish(timeout: 60) }
        #expect(results.filter { $0.code == 0 }.count == 1, "\(results.map(\.stderr))")
        #expect(results.filter { $0.code == 1 }.count == 5)
        #expect(results.filter { $0.code == 1 }.allSatisfy { $0.stderr.contains("conflict: aggregate \(order) is at version \(current + 1)") })
        #expect(try maxVersions(app)[order] == current + 1)
        let winner = try RefoldRun.json(try #require(results.first { $0.code == 0 }).stdout)
        #expect(winner["version"] as? Int == Int(current + 1))
        #expect(winner["aggregate"] as? String == order)
    }

    @Test func appendRecordsTheWrittenVersionAndLagCountsRowsBehindIt() throws {
        let redis = try RedisTestServer()
        let app = try rebuiltCopy()
        let appended = try RefoldRun.run(["append", "fresh-order", "--events", app, "--type", "App\\Events\\OrderPlaced",
                                          "--data", #"{"customer_id":"c","currency":"EUR"}"#, "--redis", redis.url, "--json"])
        #expect(appended.code == 0, "\(appended.stderr)")
        #expect(try RefoldRun.json(appended.stdout)["written_recorded"] as? Bool == true)
        let client = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: redis.url)))
        #expect(try client.send(RedisCommand("GET", WrittenScript.key("fresh-order"))).string == "1")
        let lag = try RefoldRun.json(RefoldRun.run(["lag", "order_summary", "--events", app, "--redis", redis.url, "--json"]).stdout)
        #expect(lag["positions_behind"] as? Int == 1)
        #expect(lag["aggregates_behind"] as? Int == 1)
        #expect(try RefoldRun.run(["catchup", "order_summary", "--events", app]).code == 0)
        let after = try RefoldRun.json(RefoldRun.run(["lag", "order_summary", "--events", app, "--redis", redis.url, "--json"]).stdout)
        #expect(after["positions_behind"] as? Int == 0 && after["aggregates_behind"] as? Int == 0)
        // The written version only ever rises.
        let coordination = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        #expect(try coordination.run(WrittenScript(aggregate: "fresh-order", version: 1)) == .kept(1))
        #expect(try coordination.run(WrittenScript(aggregate: "fresh-order", version: 5)) == .raised(5))
        #expect(try coordination.run(WrittenScript(aggregate: "fresh-order", version: 2)) == .kept(5))
    }

    @Test func aReplayRequestSentWithRedisCliIsExecutedByTheLiveService() throws {
        let redis = try RedisTestServer()
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        let app = try rebuiltCopy()
        let target = try rows(app)[11].0
        // Someone damages the row; a replay of that aggregate repairs it.
        try SQLiteConnection(path: app, readOnly: false).execute("UPDATE order_summary SET data = '{\"status\":\"bogus\"}', version = 0 WHERE id = '\(target)'")
        let runner = try startRunner(app, redis)
        defer { runner.child.terminate(grace: 5) }
        try Deadline.wait(seconds: 30, "the runner to lead") { try leader(client) != nil }
        let keys = RequestKeys(projection: "order_summary").all
        let script = try String(contentsOf: LuaFiles.directory.appendingPathComponent("request.lua"), encoding: .utf8)
        let cli = try Process.run(Executables.find("redis-cli"), arguments: ["-p", "\(redis.port)", "EVAL", script, "6"] + keys + ["rebuild", "[\"\(target)\"]"])
        let reply = cli.split(separator: "\n")
        #expect(reply.first == "queued")
        let id = try #require(reply.dropFirst().first.map(String.init))
        var record: ReplayRequest?
        try Deadline.wait(seconds: 30, "the request to be done") {
            record = try client.redis.send(RedisCommand("HGET", RequestKeys(projection: "order_summary").requests, id)).string.flatMap(ReplayRequest.init(json:))
            return record?.state == .done
        }
        #expect(record?.aggregates == [target])
        #expect(try rows(app).first { $0.0 == target }?.1 ?? 0 > 0)
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", app]).code == 0)
    }

    @Test func requestsOfOneKindMergeWhilePending() throws {
        let redis = try RedisTestServer()
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        let first = try client.run(ReplayRequestScript(projection: "order_summary", kind: .catchup))
        let second = try client.run(ReplayRequestScript(projection: "order_summary", kind: .catchup))
        #expect(second == .merged(first.id))
        let replayA = try client.run(ReplayRequestScript(projection: "order_summary", kind: .rebuild, aggregates: ["a", "b"]))
        let replayB = try client.run(ReplayRequestScript(projection: "order_summary", kind: .rebuild, aggregates: ["b", "c"]))
        #expect(replayB == .merged(replayA.id))
        let whole = try client.run(ReplayRequestScript(projection: "order_summary", kind: .rebuild))
        #expect(whole != .merged(replayA.id), "a whole rebuild is another request")
        let taken = try #require(try client.run(RequestTakeScript(projection: "order_summary")))
        #expect(taken.id == first.id && taken.state == .running)
        // A request still running when a leader takes again was a dead leader's: handed out again.
        #expect(try client.run(RequestTakeScript(projection: "order_summary"))?.id == first.id)
        // Once taken, a request no longer merges: a new one queues.
        #expect(try client.run(ReplayRequestScript(projection: "order_summary", kind: .catchup)) != .merged(first.id))
        #expect(try client.run(RequestFinishScript(projection: "order_summary", id: first.id, succeeded: true, text: "{}")))
        let replay = try #require(try client.run(RequestTakeScript(projection: "order_summary")))
        #expect(replay.aggregates == ["a", "b", "c"])
        #expect { try client.run(ReplayRequestScript(projection: "no such projection!", kind: .catchup)) } throws: { ($0 as? CoordinationError)?.code == .invalidArgument }
    }
}

/// The committed lua/ folder.
enum LuaFiles {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lua")
}

extension Process {
    /// Runs a program to completion and returns its standard output.
    static func run(_ executable: URL, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
