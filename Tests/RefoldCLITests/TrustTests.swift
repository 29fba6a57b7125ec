import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldSQLite
import RefoldTestSupport
import Synchronization
import Testing

/// What a new user does to Refold, and what it must never do back: touch a table it did not
/// build, write from a read-only command, trust a completion it did not check, stop at a
/// Redis that is still loading, or say the wrong thing.
@Suite(.serialized) struct TrustTests {
    static let dataset = Mutex<String?>(nil)

    /// A shared events file (generated once); tests that write into it copy it first.
    func events() throws -> String {
        try Self.dataset.withLock { cached in
            if let cached { return cached }
            let path = try TemporaryDirectory.make(prefix: "refold-trust").appendingPathComponent("events.db").path
            let result = try RefoldRun.run(["generate", path, "--size", "60000", "--aggregates", "800", "--seed", "31", "--malformed", "6", "--gaps", "2"])
            guard result.code == 0 else { throw TestSupportError("generate failed: \(result.stderr)") }
            cached = path
            return path
        }
    }

    /// A private copy of the events file in a folder of its own.
    func copyOfEvents() throws -> String {
        let path = try TemporaryDirectory.make().appendingPathComponent("app.db").path
        try FileManager.default.copyItem(atPath: try events(), toPath: path)
        return path
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func folder(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path).sorted()
    }

    func coordination(_ url: String) throws -> CoordinationClient {
        try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url)))
    }

    // MARK: Data safety

    @Test func aUsersTableWithTheProjectionsNameIsNeverReplaced() throws {
        let app = try copyOfEvents()
        let user = try SQLiteConnection(path: app, readOnly: false)
        try user.execute("CREATE TABLE order_summary(order_id TEXT PRIMARY KEY, total_cents INT); INSERT INTO order_summary VALUES ('keep-me', 42)")
        let before = try bytes(app)
        let files = try folder(app)
        for mode in [["--inline"], ["--workers", "2"]] {
            let result = try RefoldRun.run(["rebuild", "order_summary", "--events", app] + mode)
            #expect(result.code == 2, "\(mode): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one clear line: \(result.stderr)")
            #expect(result.stderr.contains("table order_summary in \(app)"))
            #expect(result.stderr.contains("--read-models") && result.stderr.contains("--replace-table"))
            #expect(result.stdout.isEmpty)
            #expect(try bytes(app) == before, "\(mode) wrote to the file")
            #expect(try folder(app) == files)
        }
        // Asked explicitly, the user's table is kept under a backup name, never dropped.
        let replaced = try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--inline", "--replace-table", "--json"])
        #expect(replaced.code == 0, "\(replaced.stderr)")
        let report = try RefoldRun.json(replaced.stdout)
        let backup = try #require(report["previous_table_kept_as"] as? String)
        #expect(backup.hasPrefix("order_summary__refold_backup_"))
        #expect(try user.scalarInt("SELECT total_cents FROM \"\(backup)\" WHERE order_id = 'keep-me'") == 42)
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", app]).code == 0)
        // Refold's own table is then rebuilt in place, with no flag.
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--inline"]).code == 0)
        #expect(try user.scalarInt("SELECT count(*) FROM \"\(backup)\"") == 1)
    }

    @Test func readOnlyCommandsLeaveADatabaseRefoldNeverBuiltUntouched() throws {
        let app = try copyOfEvents()
        try SQLiteConnection(path: app, readOnly: false).execute("CREATE TABLE order_summary(order_id TEXT PRIMARY KEY)")
        let before = try bytes(app)
        let files = try folder(app)
        let commands: [(arguments: [String], code: Int32, says: String)] = [
            (["verify", "order_summary", "--events", app], 2, "table order_summary in \(app) has columns (order_id)"),
            (["verify", "order_summary", "--events", app, "--json"], 2, "so there is no Refold model to read"),
            (["quarantine", "list", "order_summary", "--events", app], 2, "table order_summary in \(app) has columns (order_id)"),
            (["quarantine", "list", "item_count", "--read-models", app], 2, "item_count was never built"),
            (["status", "--read-models", app], 0, ""),
        ]
        for command in commands {
            let result = try RefoldRun.run(command.arguments, binary: try Executables.fixture())
            #expect(result.code == command.code, "\(command.arguments): \(result.stderr)")
            if command.code == 2 {
                #expect(result.stderr.contains(command.says), "\(command.arguments): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1)
                #expect(!result.stdout.contains("No quarantined"))
            }
            #expect(try bytes(app) == before, "\(command.arguments) changed the file")
            #expect(try folder(app) == files, "\(command.arguments) created a file")
        }
    }

    @Test func rebuildChecksRedisBeforeCreatingAnything() throws {
        let app = try copyOfEvents()
        let before = try bytes(app)
        let elsewhere = URL(fileURLWithPath: app).deletingLastPathComponent().appendingPathComponent("models.db").path
        for readModels in [[], ["--read-models", elsewhere]] {
            let result = try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--workers", "1", "--redis", "redis://127.0.0.1:1"] + readModels)
            #expect(result.code == 3, "\(result.stderr)")
            #expect(result.stderr.contains("could not reach Redis at 127.0.0.1:1"))
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        #expect(try bytes(app) == before)
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
    }

    @Test func aRedisThatMayEvictKeysIsRefusedWithTheReasonBeforeAnythingIsWritten() throws {
        let redis = try RedisTestServer(settings: ["--maxmemory-policy", "volatile-lru"])
        let app = try copyOfEvents()
        let before = try bytes(app)
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--workers", "1", "--redis", redis.url])
        #expect(rebuild.code == 2, "\(rebuild.stderr)")
        #expect(rebuild.stderr.contains("maxmemory-policy volatile-lru") && rebuild.stderr.contains("noeviction"), "\(rebuild.stderr)")
        #expect(try bytes(app) == before)
        let worker = try RefoldRun.run(["worker", "--redis", redis.url], timeout: 60)
        #expect(worker.code == 2 && worker.stderr.contains("maxmemory-policy volatile-lru"), "\(worker.stderr)")
        let keys = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: redis.url))).send(RedisCommand("DBSIZE"))
        #expect(keys.int == 0, "nothing was written to the evicting Redis")
    }

    @Test func aForeignClientCompletingTasksWithJunkIsNotSwappedIn() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let app = try copyOfEvents()
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--inline"]).code == 0)
        let store = try SQLiteReadModelStore(readOnlyPath: app)
        let fingerprint = "SELECT count(*) + sum(version) FROM order_summary"
        let rowsBefore = try store.count(fingerprint)
        let checkpoint = try store.checkpoint(projection: "order_summary")

        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", app, "--workers", "0", "--tasks", "4", "--redis", redis.url, "--json"])
        // A generic worker another team wrote from docs/PROTOCOL.md: claims and completes with junk.
        var completed = 0
        try Deadline.wait(seconds: 60, "the foreign worker to complete every task") {
            guard let job = try client.indexedJobs().first else { return false }
            if case .leases(let leases, _) = try client.claim(jobID: job, worker: "php-worker", count: 4) {
                let junk = leases.map { TaskCompletion(lease: $0, events: 0, result: #"{"ok":true}"#) }
                if !junk.isEmpty { completed += try client.complete(jobID: job, worker: "php-worker", completions: junk).outcomes.filter { $0 == .done }.count }
            }
            return completed == 4
        }
        let result = try coordinator.finish(timeout: 60)
        #expect(result.code == 1, "\(result.stderr)")
        let report = try RefoldRun.json(result.stdout)
        #expect(report["swapped"] as? Bool == false)
        #expect((report["rejected_tasks"] as? [[String: Any]])?.count == 4)
        #expect((report["rejected_tasks"] as? [[String: Any]])?.allSatisfy { $0["worker"] as? String == "php-worker" } == true)
        #expect(result.stderr.contains("not swapped"))
        #expect(result.stderr.contains("php-worker"))
        #expect(result.stderr.contains("the live table of order_summary was kept"))
        #expect(try store.count(fingerprint) == rowsBefore)
        #expect(try store.checkpoint(projection: "order_summary")?.job == checkpoint?.job)
        #expect(try !store.hasShadow(projection: "order_summary"))
    }

    @Test func aWorkerSkipsAJobOfAKindItCannotRunWithoutClaimingIt() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let job = "mystery-\(UUID().uuidString.prefix(8))"
        try client.fork(jobID: job, settings: JobSettings(payload: #"{"kind":"reindex-search"}"#), tasks: [TaskDefinition(id: "t1", spec: "x")])
        let worker = try RefoldRun.start(["worker", "--redis", redis.url])
        defer { worker.child.terminate(grace: 5) }
        try Deadline.wait(seconds: 30, "the worker to skip the job") {
            worker.stderrText().contains("skipping job") && worker.stderrText().contains(job)
        }
        #expect(worker.stderrText().contains("reindex-search"))
        let status = try #require(try client.status(jobID: job))
        #expect(status.state == .open && status.ready == 1 && status.leased == 0 && status.dead == 0)
        #expect(try client.deadTasks(jobID: job).isEmpty)
    }

    // MARK: Redis as it really behaves

    @Test func aRebuildStartedWhileRedisLoadsItsDatasetWaitsAndSucceeds() throws {
        let redis = try RedisTestServer()
        let writer = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: redis.url)))
        for batch in 0..<30 {
            _ = try writer.pipeline((0..<1000).map { RedisCommand("SET", "filler:\(batch):\($0)", "value") })
        }
        try writer.send(RedisCommand("SAVE"))
        redis.stop()
        // Loading now takes 30 000 keys × 1 ms, and the server answers clients while it loads.
        try redis.start(extra: ["--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024"])
        let probe = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: redis.url)))
        try Deadline.wait(seconds: 10, "the server to answer LOADING") {
            do {
                try probe.send(RedisCommand("PING"))
                return false
            } catch let error as RedisError {
                return error.serverMessage?.hasPrefix("LOADING") == true
            }
        }
        let app = try copyOfEvents()
        let models = URL(fileURLWithPath: app).deletingLastPathComponent().appendingPathComponent("models.db").path
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", app, "--read-models", models,
                                               "--workers", "2", "--tasks", "4", "--redis", redis.url, "--json"])
        try Deadline.wait(seconds: 30, "the rebuild to wait for the loading server") {
            coordinator.stderrText().contains("is not ready") || coordinator.child.poll() != nil
        }
        #expect(coordinator.stderrText().contains("LOADING"))
        #expect(!FileManager.default.fileExists(atPath: models), "nothing is written before Redis answers")
        try probe.send(RedisCommand("CONFIG", "SET", "key-load-delay", "0"))
        let result = try coordinator.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(try RefoldRun.json(result.stdout)["swapped"] as? Bool == true)
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", app, "--read-models", models]).code == 0)
    }

    // MARK: Workers that cannot do the work

    @Test func aWorkerThatLostItsEventsFileHandsTasksBackAndTheJobStillJoins() throws {
        let redis = try RedisTestServer()
        let app = try copyOfEvents()
        let models = URL(fileURLWithPath: app).deletingLastPathComponent().appendingPathComponent("models.db").path
        let missing = try TemporaryDirectory.make().appendingPathComponent("missing.db").path
        let atStart = try RefoldRun.run(["worker", "--redis", redis.url, "--events", missing])
        #expect(atStart.code == 2)
        #expect(atStart.stderr.contains("--events \(missing) does not exist on this host"))

        // This worker's file is there when it starts and gone when the tasks come.
        let vanishing = URL(fileURLWithPath: missing).deletingLastPathComponent().appendingPathComponent("vanishing.db").path
        try FileManager.default.copyItem(atPath: app, toPath: vanishing)
        let broken = try RefoldRun.start(["worker", "--redis", redis.url, "--events", vanishing])
        defer { broken.child.terminate(grace: 5) }
        try Deadline.wait(seconds: 30, "the broken worker to be ready") { broken.stderrText().contains("worker ready") }
        try FileManager.default.removeItem(atPath: vanishing)
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", app, "--read-models", models,
                                               "--workers", "0", "--tasks", "6", "--redis", redis.url, "--json"])
        try Deadline.wait(seconds: 60, "the broken worker to hand a task back") {
            broken.stderrText().contains("handed a task back")
        }
        let healthy = try RefoldRun.start(["worker", "--redis", redis.url])
        defer { healthy.child.terminate(grace: 5) }
        let result = try coordinator.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        let report = try RefoldRun.json(result.stdout)
        #expect((report["dead_tasks"] as? [Any])?.isEmpty == true)
        #expect(report["swapped"] as? Bool == true)
        #expect(result.stderr.contains("handed a task of job"), "the coordinator says why a task came back: \(result.stderr)")
        #expect(result.stderr.contains("vanishing.db"))
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", app, "--read-models", models]).code == 0)
    }

    @Test func noWorkerAtAllCancelsAfterTheWaitForWorkers() throws {
        let redis = try RedisTestServer()
        let app = try copyOfEvents()
        let result = try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--workers", "0", "--redis", redis.url, "--wait-for-workers", "2s"], timeout: 60)
        #expect(result.code == 3, "\(result.stderr)")
        #expect(result.stderr.contains("no worker claimed a task of job"))
        #expect(result.stderr.contains("refold worker --redis redis://127.0.0.1:\(redis.port)"))
        #expect(result.stderr.contains("not swapped"))
        let status = try RefoldRun.run(["status", "--redis", redis.url, "--json"])
        let recent = try #require(try RefoldRun.json(status.stdout)["recent"] as? [[String: Any]])
        #expect(recent.first?["state"] as? String == "cancelled")
    }

    // MARK: Say the truth

    @Test func sigtermToTheCoordinatorExits143AndCancelsCleanly() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let app = try copyOfEvents()
        let models = URL(fileURLWithPath: app).deletingLastPathComponent().appendingPathComponent("models.db").path
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", app, "--read-models", models,
                                               "--workers", "0", "--tasks", "4", "--redis", redis.url])
        var job = ""
        try Deadline.wait(seconds: 60, "the job to be open") {
            guard let id = try client.indexedJobs().first else { return false }
            job = id
            return try client.status(jobID: id)?.state == .open
        }
        coordinator.child.signal(SIGTERM)
        let result = try coordinator.finish(timeout: 30)
        #expect(result.code == 143, "\(result.stderr)")
        #expect(result.stderr.contains("interrupted by SIGTERM"))
        #expect(try client.status(jobID: job)?.state == .cancelled)
        #expect(try !SQLiteReadModelStore(readOnlyPath: models).hasShadow(projection: "order_summary"))
    }

    @Test func statusShowsFinishedJobsAndAnOperatorsCancelIsNamed() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let app = try copyOfEvents()
        let models = URL(fileURLWithPath: app).deletingLastPathComponent().appendingPathComponent("models.db").path
        let done = try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--read-models", models, "--workers", "1", "--redis", redis.url, "--json"])
        #expect(done.code == 0, "\(done.stderr)")
        let job = try #require(try RefoldRun.json(done.stdout)["job"] as? String)
        let status = try RefoldRun.run(["status", "--redis", redis.url])
        #expect(status.stdout.contains("Recently finished:"))
        #expect(status.stdout.contains("\(job)  joined"))
        #expect(status.stdout.contains("swapped: 60000 events"))
        let database = try RefoldRun.run(["status", "--read-models", models])
        #expect(database.stdout.contains("order_summary: built by job \(job)"))

        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", app, "--read-models", models, "--workers", "0", "--redis", redis.url])
        var running = ""
        try Deadline.wait(seconds: 60, "the second job to be open") {
            guard let id = try client.indexedJobs().first else { return false }
            running = id
            return try client.status(jobID: id)?.state == .open
        }
        // The lock says how to reach the job, for users of a coordinator's private Redis.
        let locked = try RefoldRun.run(["status", "--read-models", models])
        #expect(locked.stdout.contains("being rebuilt by job \(running)"))
        #expect(locked.stdout.contains("--redis redis://127.0.0.1:\(redis.port)"))
        #expect(try RefoldRun.run(["cancel", running, "--redis", redis.url]).code == 0)
        let result = try coordinator.finish(timeout: 30)
        #expect(result.code == 1)
        #expect(result.stderr.contains("cancelled by refold cancel ("))
        #expect(result.stderr.contains("the live table of order_summary was kept"))
    }

    struct Message: Sendable, CustomStringConvertible {
        let name: String
        let arguments: @Sendable (String) -> [String]
        let says: String
        var description: String { name }
    }

    static let messages: [Message] = [
        Message(name: "a thousand workers", arguments: { ["rebuild", "order_summary", "--events", $0, "--workers", "1000"] }, says: "--workers must be from 0 to 64 (got 1000)"),
        Message(name: "negative workers", arguments: { ["rebuild", "order_summary", "--events", $0, "--workers", "-1"] }, says: "--workers must be from 0 to 64 (got -1)"),
        Message(name: "a lease no heartbeat can keep", arguments: { ["rebuild", "order_summary", "--events", $0, "--lease", "1ms"] }, says: "--lease must be at least 1s (got 1ms)"),
        Message(name: "a negative lease", arguments: { ["rebuild", "order_summary", "--events", $0, "--lease", "-5s"] }, says: "'-5s' is invalid for '--lease"),
        Message(name: "a worker's short lease", arguments: { _ in ["worker", "--redis", "redis://127.0.0.1:1", "--lease", "10ms"] }, says: "--lease must be at least 1s"),
        Message(name: "more aggregates than events", arguments: { ["generate", $0 + ".new", "--size", "10", "--aggregates", "100"] }, says: "--aggregates (100) cannot exceed"),
        Message(name: "more malformed than events", arguments: { ["generate", $0 + ".new", "--size", "100", "--aggregates", "5", "--malformed", "1000"] }, says: "--malformed (1000) cannot exceed"),
        Message(name: "a column flag that exists", arguments: { ["rebuild", "order_summary", "--events", $0, "--inline", "--version-column", "v"] }, says: "(set --version-column"),
    ]

    @Test(arguments: messages)
    func badInputGetsOneClearLine(_ message: Message) throws {
        let app = try copyOfEvents()
        let before = try bytes(app)
        let result = try RefoldRun.run(message.arguments(app))
        #expect(result.code == 2, "\(result.stderr)")
        #expect(result.stderr.contains(message.says), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(try bytes(app) == before)
        #expect(!FileManager.default.fileExists(atPath: app + ".new"))
        if message.name == "a column flag that exists" {
            let help = try RefoldRun.run(["rebuild", "--help"])
            #expect(help.stdout.contains("--version-column"))
        }
    }

    @Test func anHTTPServerGivenAsRedisIsNamedAsSuch() throws {
        let server = try FakeServer(reply: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        defer { server.stop() }
        let result = try RefoldRun.run(["status", "--redis", "redis://127.0.0.1:\(server.port)"])
        #expect(result.code == 2, "\(result.stderr)")
        #expect(result.stderr.contains("does not speak the Redis protocol"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
