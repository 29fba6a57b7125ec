import Foundation
import RefoldCoordination
import RefoldProcess
import RefoldRedis
import RefoldSQLite
import RefoldTestSupport
import Synchronization
import Testing

/// The parallel rebuild end to end, with crashes: real coordinator and worker processes, a
/// private redis-server per test, real signals.
@Suite(.serialized) struct ParallelRebuildTests {
    /// One shared dataset (generated once), copied read-only by every test.
    static let dataset = Mutex<String?>(nil)

    func events() throws -> String {
        try Self.dataset.withLock { cached in
            if let cached { return cached }
            let path = try TemporaryDirectory.make(prefix: "refold-parallel").appendingPathComponent("events.db").path
            let result = try RefoldRun.run(["generate", path, "--size", "300000", "--aggregates", "3000", "--seed", "21", "--malformed", "10", "--gaps", "3", "--null-aggregates", "5"])
            guard result.code == 0 else { throw TestSupportError("generate failed: \(result.stderr)") }
            cached = path
            return path
        }
    }

    func models() throws -> String {
        try TemporaryDirectory.make(prefix: "refold-models").appendingPathComponent("models.db").path
    }

    func coordination(_ url: String) throws -> CoordinationClient {
        try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url)))
    }

    /// The one job in a private Redis.
    func onlyJob(_ client: CoordinationClient) throws -> String? {
        try client.indexedJobs().first
    }

    func verifyClean(_ events: String, _ models: String) throws {
        let verify = try RefoldRun.run(["verify", "order_summary", "--events", events, "--read-models", models, "--json"])
        #expect(verify.code == 0, "verify: \(verify.stdout) \(verify.stderr)")
        #expect(try RefoldRun.json(verify.stdout)["ok"] as? Bool == true)
    }

    func workerPIDs(of coordinator: pid_t) -> [pid_t] {
        ProcessInspection.children(of: coordinator).filter { ProcessInspection.commandLine($0).contains("worker") }
    }

    /// Holds a lock on a SQLite file until `release`. The write lock (`BEGIN IMMEDIATE`) on the
    /// read-model file: no task can complete meanwhile (a task writes its rows before it
    /// reports), so a worker that claimed one is mid-task for as long as the test needs,
    /// whatever the machine's speed. The exclusive lock on the event file (rollback journal):
    /// no task can even read, and a waiting worker holds no lock of its own.
    final class FileLock {
        let connection: SQLiteConnection
        init(_ path: String, exclusive: Bool = false) throws {
            connection = try SQLiteConnection(path: path, readOnly: false)
            try connection.execute(exclusive ? "BEGIN EXCLUSIVE" : "BEGIN IMMEDIATE")
        }
        func release() throws { try connection.execute("ROLLBACK") }

        /// Whether no other connection keeps a lock on `path`: an exclusive lock is taken within
        /// `timeout` seconds (a lock held for a moment is waited for) and dropped.
        static func nobodyHolds(_ path: String, timeout: Double = 2) -> Bool {
            guard let probe = try? SQLiteConnection(path: path, readOnly: false, busyTimeout: timeout),
                  (try? probe.execute("BEGIN EXCLUSIVE")) != nil else { return false }
            try? probe.execute("ROLLBACK")
            return true
        }
    }

    @Test func killNineOfAWorkerMidTaskStillJoinsAndCountsTheRetry() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let (events, models) = (try events(), try models())
        let timeline = URL(fileURLWithPath: models).deletingLastPathComponent().appendingPathComponent("timeline.svg").path
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "0", "--tasks", "4", "--lease", "3s", "--redis", redis.url, "--json",
                                               "--timeline", timeline])
        let job = try client.registeredJob()
        // A worker in the middle of a task: it claimed one and cannot finish it (the test holds
        // the read-model file's write lock), then it is killed.
        let lock = try FileLock(models)
        let victim = try RefoldRun.start(["worker", "--redis", redis.url, "--job", job])
        try Deadline.wait(seconds: 60, "the worker to hold a task") { try client.status(jobID: job)?.leased == 1 }
        victim.child.signal(SIGKILL)
        #expect(try victim.finish(timeout: 30).status.signal == SIGKILL)
        try lock.release()
        let finishers = try (0..<2).map { _ in try RefoldRun.start(["worker", "--redis", redis.url, "--job", job]) }
        let result = try coordinator.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        for finisher in finishers {
            let done = try finisher.finish(timeout: 60)
            #expect(done.code == 0, "\(done.stderr)")
        }
        let report = try RefoldRun.json(result.stdout)
        #expect((report["retries"] as? Int ?? 0) >= 1, "the killed task must be counted as a retry")
        #expect((report["dead_tasks"] as? [Any])?.isEmpty == true)
        try verifyClean(events, models)
        // The timeline marks the retried task (orange bar).
        let svg = try String(contentsOfFile: timeline, encoding: .utf8)
        #expect(svg.contains("#f0a030"))
        #expect(svg.components(separatedBy: "<rect class=\"task\"").count - 1 == 4)
        // The coordinator's steps have their own lane, the plan first and the swap last.
        #expect(svg.contains("<title>plan: ") && svg.contains("<title>swap: "))
    }

    @Test func stoppedWorkerPastItsLeaseHasItsCompletionRejectedAndCarriesOn() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let (events, models) = (try events(), try models())
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "0", "--tasks", "6", "--lease", "3s", "--redis", redis.url, "--json"])
        let job = try client.registeredJob()
        // While the test holds the event file's exclusive lock no task advances: each worker
        // claims one and waits to read. (Not the read-model file's lock: a worker stopped while
        // it retries that lock can be caught holding a shared lock on the file for a moment, and
        // stopped there it would keep the other worker from ever writing.)
        let lock = try FileLock(events, exclusive: true)
        let first = try RefoldRun.start(["worker", "--redis", redis.url])
        let second = try RefoldRun.start(["worker", "--redis", redis.url])
        defer {
            first.child.signal(SIGCONT)
            first.child.terminate(grace: 5)
            second.child.signal(SIGCONT)
            second.child.terminate(grace: 5)
        }
        let firstID = "\(ProcessInfo.processInfo.hostName):\(first.child.pid)"
        let secondID = "\(ProcessInfo.processInfo.hostName):\(second.child.pid)"
        func leasedByFirst() throws -> String? {
            let keys = JobKeys(jobID: job)
            let owners = try client.redis.send(RedisCommand("HGETALL", keys.all[5])).array?.compactMap(\.string) ?? []
            var index = 0
            while index + 1 < owners.count {
                let task = owners[index]
                if owners[index + 1] == firstID,
                   try client.redis.send(RedisCommand("HGET", keys.all[2], task)).string == "leased" {
                    return task
                }
                index += 2
            }
            return nil
        }
        // The first worker holds a task it cannot complete; it is stopped, then the lock goes.
        var stolen = ""
        try Deadline.wait(seconds: 60, "the first worker to hold a task") {
            stolen = try leasedByFirst() ?? ""
            return !stolen.isEmpty
        }
        // Stopped where it keeps no lock on the read-model file (it may be opening it: then it
        // goes on a moment and is stopped again; it cannot get past the event file's lock).
        try Deadline.wait(seconds: 60, "the first worker to be stopped holding no lock on the read models") {
            first.child.signal(SIGSTOP)
            try Deadline.wait(seconds: 5, "the first worker to stop") { ProcessInspection.state(first.child.pid) == "T" }
            if FileLock.nobodyHolds(models) { return true }
            first.child.signal(SIGCONT)
            return false
        }
        #expect(try leasedByFirst() == stolen)
        try lock.release()
        // Its lease runs out; the task is reaped and finished by the other worker.
        do {
            try Deadline.wait(seconds: 60, "task \(stolen) to be completed by the other worker") {
                try client.results(jobID: job).contains { $0.taskID == stolen && $0.worker == secondID }
            }
        } catch {
            let states = try client.redis.send(RedisCommand("HGETALL", JobKeys(jobID: job).all[2]))
            Issue.record("states \(states); results \(try client.results(jobID: job).map { "\($0.taskID) by \($0.worker)" }); second worker: \(second.stderrText()); coordinator: \(coordinator.stderrText())")
            throw error
        }
        first.child.signal(SIGCONT)
        let result = try coordinator.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(try client.results(jobID: job).first { $0.taskID == stolen }?.worker == secondID)
        try verifyClean(events, models)
        #expect(first.child.poll() == nil, "the stopped worker must still be running")

        // It carries on: with the other worker stopped, it alone finishes a second rebuild.
        second.child.signal(SIGSTOP)
        let again = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", try self.models(),
                                       "--workers", "0", "--tasks", "3", "--lease", "2s", "--redis", redis.url, "--json"], timeout: 120)
        #expect(again.code == 0, "\(again.stderr)")
        let secondJob = try #require(try RefoldRun.json(again.stdout)["job"] as? String)
        #expect(try client.results(jobID: secondJob).contains { $0.worker == firstID })
        second.child.signal(SIGCONT)
    }

    @Test func redisRestartDuringARebuildNeverLeavesAWrongModel() throws {
        let redis = try RedisTestServer(appendOnly: true)
        let client = try coordination(redis.url)
        let (events, models) = (try events(), try models())
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "0", "--tasks", "8", "--lease", "2s", "--redis", redis.url, "--json"])
        // The job is half-way whatever the machine's speed: one worker completes exactly one
        // task and leaves (a rebuild's own workers could finish all eight before a poll saw one).
        let job = try client.registeredJob()
        let one = try RefoldRun.run(["worker", "--redis", redis.url, "--max-tasks", "1"], timeout: 120)
        #expect(one.code == 0, "\(one.stderr)")
        #expect(try client.status(jobID: job)?.done == 1)
        redis.kill()
        try redis.start()
        // Workers finish the job after the restart, while the coordinator rode through it.
        let workers = try (0..<2).map { _ in try RefoldRun.start(["worker", "--redis", redis.url]) }
        defer { for worker in workers { worker.child.terminate(grace: 5) } }
        let result = try coordinator.finish(timeout: 180)
        if result.code == 0 {
            try verifyClean(events, models)
        } else {
            #expect(result.code == 3, "\(result.stderr)")
            #expect(result.stderr.contains("Redis") || result.stderr.contains("redis"))
            let store = try SQLiteReadModelStore(path: models, create: false)
            #expect(try !store.hasModel(projection: "order_summary"), "a failed run must not swap anything in")
        }
    }

    @Test func sigtermToAWorkerMidTaskExitsZeroAndTheTaskCompletesElsewhere() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let (events, models) = (try events(), try models())
        let leaving = try RefoldRun.start(["worker", "--redis", redis.url])
        let leavingID = "\(ProcessInfo.processInfo.hostName):\(leaving.child.pid)"
        // A long lease: the task can only move on this fast if the worker hands it back.
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "0", "--tasks", "2", "--lease", "60s", "--redis", redis.url, "--json"])
        var job = ""
        try Deadline.wait(seconds: 60, "the worker to be in the middle of a task") {
            guard let id = try onlyJob(client), let status = try client.status(jobID: id) else { return false }
            job = id
            return status.leased >= 1 && status.eventsDone > 0
        }
        let staying = try RefoldRun.start(["worker", "--redis", redis.url])
        defer { staying.child.terminate(grace: 5) }
        let signalled = Date()
        leaving.child.signal(SIGTERM)
        let exit = leaving.child.wait(timeout: 10)
        #expect(exit == ExitStatus(code: 0, signal: nil))
        #expect(Date().timeIntervalSince(signalled) < 10)
        let result: RefoldResult
        do {
            result = try coordinator.finish(timeout: 50)
        } catch {
            let states = try client.redis.send(RedisCommand("HGETALL", JobKeys(jobID: job).all[2]))
            Issue.record("the job did not finish: states \(states); leaving worker: \(leaving.stderrText()); staying worker: \(staying.stderrText())")
            throw error
        }
        #expect(result.code == 0, "\(result.stderr)")
        #expect(try client.results(jobID: job).allSatisfy { $0.worker != leavingID || $0.finishedMilliseconds > 0 })
        #expect(try client.results(jobID: job).contains { $0.worker != leavingID })
        try verifyClean(events, models)
    }

    @Test func aSecondCoordinatorForTheSameModelIsRefused() throws {
        let redis = try RedisTestServer()
        let (events, models) = (try events(), try models())
        let first = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                         "--workers", "1", "--tasks", "4", "--redis", redis.url])
        try Deadline.wait(seconds: 60, "the first rebuild to create its shadow table") {
            guard FileManager.default.fileExists(atPath: models) else { return false }
            return (try? SQLiteReadModelStore(path: models, create: false).hasShadow(projection: "order_summary")) ?? false
        }
        for mode in [["--workers", "1", "--redis", redis.url], ["--inline"]] {
            let second = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", models] + mode)
            #expect(second.code == 2)
            #expect(second.stderr.contains("another rebuild of order_summary is running"), "\(second.stderr)")
        }
        let result = try first.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        try verifyClean(events, models)
    }

    @Test func poisonPartitionIsDeadLetteredAndTheRestJoins() throws {
        let directory = try TemporaryDirectory.make()
        let events = directory.appendingPathComponent("events.db").path
        #expect(try RefoldRun.run(["generate", events, "--size", "20000", "--aggregates", "400", "--seed", "3"]).code == 0)
        let connection = try SQLiteConnection(path: events, readOnly: false)
        try connection.execute("""
            INSERT INTO stored_events (aggregate_uuid, aggregate_version, event_version, event_class, event_properties, meta_data, created_at)
            SELECT aggregate_uuid, max(aggregate_version) + 1, 1, 'App\\Events\\Poison', '{}', '{}', '2024-02-01 00:00:00'
            FROM stored_events WHERE aggregate_uuid = (SELECT min(aggregate_uuid) FROM stored_events)
            """)
        let models = directory.appendingPathComponent("models.db").path
        let result = try RefoldRun.run(["rebuild", "poison_summary", "--events", events, "--read-models", models,
                                        "--workers", "2", "--tasks", "6", "--json"], timeout: 120, binary: try Executables.fixture())
        #expect(result.code == 1, "\(result.stderr)")
        let report = try RefoldRun.json(result.stdout)
        let dead = try #require(report["dead_tasks"] as? [[String: Any]])
        #expect(dead.count == 1)
        #expect(dead.first?["attempts"] as? Int == 3)
        #expect((dead.first?["error"] as? String)?.contains("cannot handle Poison events") == true)
        #expect(report["tasks"] as? Int == 6)
        #expect((report["retries"] as? Int ?? 0) >= 2)
        // A model with a dead range is never swapped in.
        #expect(try !SQLiteReadModelStore(path: models, create: false).hasModel(projection: "poison_summary"))
    }

    /// A coordinator creates its job as `building`, registers the tasks, then opens it; its
    /// local workers start during the plan and poll for the job every 2 ms. One that read the
    /// job between those steps used to claim, get "closed (building)", take that for the job's
    /// end and exit 0 — the coordinator then waited for a claim forever (a fresh-clone run hung
    /// 120 s on it). Here the job stays `building` while the worker polls it dozens of times.
    @Test func aBoundWorkerWaitsWhileItsJobIsBeingRegistered() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let job = "building-\(UInt32.random(in: 0...UInt32.max))"
        let tasks = (0..<4).map { TaskDefinition(id: "t\($0)", spec: "s\($0)") }
        _ = try client.run(ForkScript(jobID: job, settings: JobSettings(payload: #"{"kind":"noop","batch":1}"#)))
        _ = try client.run(RegisterScript(jobID: job, tasks: tasks))
        /// Status reads are `EVALSHA_RO` (claims `EVALSHA`).
        func statusReads() throws -> Int {
            let info = try client.redis.send(RedisCommand("INFO", "commandstats")).string ?? ""
            guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha_ro:") }),
                  let calls = line.split(separator: ",").first?.split(separator: "=").last, let count = Int(calls) else { return 0 }
            return count
        }
        let before = try statusReads()
        let worker = try RefoldRun.start(["worker", "--redis", redis.url, "--job", job, "--await-job", "60s"])
        // Each round reads the job's status: 30 reads are 30 looks at `building`.
        try Deadline.wait(seconds: 60, "the worker to read its building job 30 times") {
            if worker.child.poll() != nil { return true }
            return try statusReads() >= before + 30
        }
        #expect(worker.child.poll() == nil, "the worker left while its job was being registered: \(worker.stderrText())")
        #expect(try client.status(jobID: job)?.state == .building)
        _ = try client.run(SealScript(jobID: job, taskCount: tasks.count, eventsTotal: 0))
        let result = try worker.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        let status = try #require(try client.status(jobID: job))
        #expect(status.state == .joined)
        #expect(status.done == tasks.count)
    }

    /// A coordinator starts its local workers together with a private Redis on a Unix socket
    /// (its address is known before it listens): a worker waiting for its job (`--await-job`)
    /// waits for nothing listening there too, and works once the server is up. Without
    /// `--await-job`, nothing listening is a wrong address and fails at once.
    @Test func anEarlyWorkerWaitsForItsRedisToListenOnItsSocket() throws {
        let folder = try TemporaryDirectory.make(prefix: "refold-sock")
        let socket = folder.appendingPathComponent("redis.sock").path
        let url = "unix://\(socket)"
        let job = "early-\(UInt32.random(in: 0...UInt32.max))"

        let plain = try RefoldRun.run(["worker", "--redis", url, "--job", job])
        #expect(plain.code != 0 && plain.stderr.contains("could not reach"), "\(plain.stderr)")

        let worker = try RefoldRun.start(["worker", "--redis", url, "--job", job, "--await-job", "60s"])
        // Running its loop (its SIGTERM handler is installed after start-up), still waiting.
        try Deadline.wait(seconds: 60, "the early worker to reach its connect loop") {
            worker.child.poll() != nil || ProcessInspection.handles(SIGTERM, worker.child.pid)
        }
        #expect(worker.child.poll() == nil, "the worker gave up before its Redis listened: \(worker.stderrText())")
        let server = try ChildProcess(
            executable: try Programs.find("redis-server").path,
            arguments: ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", folder.path],
            standardOutput: .null, standardError: .null)
        defer { _ = server.terminate(grace: 3) }
        try Deadline.wait(seconds: 10, "redis-server on \(socket)") { FreePort.isListening(socketPath: socket) }
        let client = try coordination(url)
        let tasks = (0..<4).map { TaskDefinition(id: "t\($0)", spec: "s\($0)") }
        _ = try client.run(ForkScript(jobID: job, settings: JobSettings(payload: #"{"kind":"noop","batch":1}"#)))
        _ = try client.run(RegisterScript(jobID: job, tasks: tasks))
        _ = try client.run(SealScript(jobID: job, taskCount: tasks.count, eventsTotal: 0))
        let result = try worker.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        let status = try #require(try client.status(jobID: job))
        #expect(status.state == .joined && status.done == tasks.count)
    }

    /// The private Redis's socket path is written into a `unix://` URL: a temporary folder
    /// whose path a URL would misread (`@` as a password, `?` as a query) makes it listen on a
    /// loopback port instead, and the rebuild works the same.
    @Test func aTemporaryFolderWithURLCharactersStillGetsAPrivateRedis() throws {
        let odd = try TemporaryDirectory.make(prefix: "refold-job@tmp?x")
        let (events, models) = (try events(), try models())
        let result = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", models, "--workers", "1", "--json"],
                                       environment: ["TMPDIR": odd.path])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(try RefoldRun.json(result.stdout)["swapped"] as? Bool == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: odd.path).filter { $0.hasPrefix("refold-redis-") }.isEmpty,
                "the private Redis's folder was left behind")
    }

    /// A local worker that exits 0 while its job is not finished (here: stopped with SIGTERM
    /// before it could claim anything) is replaced, said once on stderr, and the job joins.
    @Test func aLocalWorkerThatLeavesAnUnfinishedJobIsReplaced() throws {
        let redis = try RedisTestServer()
        let (events, models) = (try events(), try models())
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "1", "--tasks", "4", "--redis", redis.url, "--json"])
        var worker: pid_t = 0
        try Deadline.wait(seconds: 60, "the local worker, running and handling SIGTERM") {
            guard let found = ProcessInspection.children(of: coordinator.child.pid).first(where: {
                ProcessInspection.commandLine($0).dropFirst().first == "worker" && ProcessInspection.handles(SIGTERM, $0)
            }) else { return false }
            worker = found
            return true
        }
        // Stopped first, so it cannot claim between the two signals; it wakes to a graceful stop.
        kill(worker, SIGSTOP)
        kill(worker, SIGTERM)
        kill(worker, SIGCONT)
        let result = try coordinator.finish(timeout: 180)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stderr.contains("a local worker exited before job"), "\(result.stderr)")
        #expect(try RefoldRun.json(result.stdout)["swapped"] as? Bool == true)
        try verifyClean(events, models)
    }

    @Test func killNineOfTheCoordinatorTakesItsWorkersAndRedisWithIt() throws {
        let (events, models) = (try events(), try models())
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models, "--workers", "2", "--tasks", "8"])
        var family: [pid_t] = []
        try Deadline.wait(seconds: 60, "two workers and a private redis-server") {
            family = ProcessInspection.descendants(of: coordinator.child.pid)
            let lines = family.map(ProcessInspection.commandLine)
            return lines.filter { $0.contains("worker") }.count == 2 && lines.contains { $0.joined(separator: " ").contains("redis-server") }
        }
        coordinator.child.signal(SIGKILL)
        _ = coordinator.child.wait(timeout: 10)
        try Deadline.wait(seconds: 15, "every child of the killed coordinator to die") {
            family.allSatisfy { !ProcessInspection.isAlive($0) }
        }
    }

    @Test func ctrlCCancelsTheJobStopsTheWorkersAndDropsTheShadow() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let (events, models) = (try events(), try models())
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "2", "--tasks", "8", "--redis", redis.url])
        var job = ""
        var workers: [pid_t] = []
        try Deadline.wait(seconds: 60, "the rebuild to be under way") {
            guard let id = try onlyJob(client), let status = try client.status(jobID: id) else { return false }
            job = id
            workers = workerPIDs(of: coordinator.child.pid)
            return status.eventsDone > 0 && workers.count == 2
        }
        coordinator.child.signal(SIGINT)
        let result = try coordinator.finish(timeout: 30)
        #expect(result.code == 130)
        #expect(result.stderr.contains("interrupted"))
        #expect(result.stderr.contains("not swapped: order_summary has no live table yet, and none was created"))
        #expect(try client.status(jobID: job)?.state == .cancelled)
        // Stopped by the user: nothing went wrong to read about, so the workers' logs go too.
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("refold-\(job)").path
        #expect(!FileManager.default.fileExists(atPath: logs), "\(logs) was left behind")
        try Deadline.wait(seconds: 10, "the workers to exit") { workers.allSatisfy { !ProcessInspection.isAlive($0) } }
        let store = try SQLiteReadModelStore(path: models, create: false)
        #expect(try !store.hasShadow(projection: "order_summary"))
        #expect(try !store.hasModel(projection: "order_summary"))
        #expect(try store.lockHolder(projection: "order_summary") == nil)
    }

    @Test func aWorkerWithAnotherProjectionVersionSkipsTheJobWithoutClaiming() throws {
        let redis = try RedisTestServer()
        let client = try coordination(redis.url)
        let (events, models) = (try events(), try models())
        let stranger = try RefoldRun.start(["worker", "--redis", redis.url], environment: ["REFOLD_FIXTURE_ORDER_SUMMARY_VERSION": "2"], binary: try Executables.fixture())
        defer { stranger.child.terminate(grace: 5) }
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "0", "--tasks", "3", "--redis", redis.url, "--json"])
        var job = ""
        try Deadline.wait(seconds: 60, "the mismatched worker to skip the job") {
            guard let id = try onlyJob(client) else { return false }
            job = id
            return stranger.stderrText().contains("skipping job") && stranger.stderrText().contains(id)
        }
        #expect(stranger.stderrText().contains("version 2 but job"))
        // It never claimed: nothing leased, nothing dead, nothing handed back.
        let status = try #require(try client.status(jobID: job))
        #expect(status.leased == 0 && status.done == 0 && status.dead == 0 && status.releases == 0 && status.ready == 3)
        // A worker of the right build then does the whole job.
        let right = try RefoldRun.start(["worker", "--redis", redis.url])
        defer { right.child.terminate(grace: 5) }
        let result = try coordinator.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(try RefoldRun.json(result.stdout)["swapped"] as? Bool == true)
        #expect(try client.results(jobID: job).allSatisfy { !$0.worker.hasSuffix(":\(stranger.child.pid)") })
        try verifyClean(events, models)
    }

    @Test func strictParallelRebuildFailsOnTheFirstDataErrorAndKeepsTheLiveTable() throws {
        let (events, models) = (try events(), try models())
        let strict = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                        "--workers", "2", "--tasks", "6", "--strict"], timeout: 120)
        #expect(strict.code == 1, "\(strict.stderr)")
        #expect(strict.stderr.contains("strict mode: aggregate"))
        #expect(strict.stderr.contains("the live table of order_summary is untouched"))
        let store = try SQLiteReadModelStore(path: models, create: false)
        #expect(try !store.hasModel(projection: "order_summary"))
        #expect(try !store.hasShadow(projection: "order_summary"))
    }

    @Test func operatorsSeeAndCancelARunningJob() throws {
        let redis = try RedisTestServer()
        let (events, models) = (try events(), try models())
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                               "--workers", "0", "--tasks", "4", "--redis", redis.url])
        var job = ""
        try Deadline.wait(seconds: 60, "the job to be listed by refold status") {
            let status = try RefoldRun.run(["status", "--redis", redis.url, "--json"])
            guard status.code == 0, let jobs = try RefoldRun.json(status.stdout)["jobs"] as? [[String: Any]], let first = jobs.first else { return false }
            job = first["job"] as? String ?? ""
            return first["state"] as? String == "open" && first["total"] as? Int == 4
        }
        let one = try RefoldRun.run(["status", job, "--redis", redis.url, "--json"])
        #expect(try RefoldRun.json(one.stdout)["ready"] as? Int == 4)
        let cancel = try RefoldRun.run(["cancel", job, "--redis", redis.url])
        #expect(cancel.code == 0)
        #expect(cancel.stdout.contains("Cancelled job \(job)"))
        let result = try coordinator.finish(timeout: 30)
        #expect(result.code == 1)
        #expect(result.stderr.contains("was cancelled"))
        #expect(try !SQLiteReadModelStore(path: models, create: false).hasShadow(projection: "order_summary"))
        let missing = try RefoldRun.run(["status", "no-such-job", "--redis", redis.url])
        #expect(missing.code == 2)
        let unreachable = try RefoldRun.run(["status", "--redis", "redis://127.0.0.1:1"])
        #expect(unreachable.code == 3)
        #expect(unreachable.stderr.contains("could not reach Redis at 127.0.0.1:1"))
    }

    @Test func passwordProtectedRedisWorksAndThePasswordIsNeverPrinted() throws {
        let redis = try RedisTestServer()
        try coordination(redis.url).redis.send(RedisCommand("CONFIG", "SET", "requirepass", "s3cr3t-pw"))
        let (events, models) = (try events(), try models())
        let url = "redis://:s3cr3t-pw@127.0.0.1:\(redis.port)"
        let result = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", models,
                                        "--workers", "2", "--tasks", "4", "--redis", url, "--json"], timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("s3cr3t") && !result.stderr.contains("s3cr3t"))
        try verifyClean(events, models)
        // From the environment instead of the URL, for status.
        let status = try RefoldRun.run(["status", "--redis", "redis://127.0.0.1:\(redis.port)"], environment: ["REFOLD_REDIS_PASSWORD": "s3cr3t-pw"])
        #expect(status.code == 0, "\(status.stderr)")
        let wrong = try RefoldRun.run(["status", "--redis", "redis://:not-it@127.0.0.1:\(redis.port)"])
        #expect(wrong.code == 2)
        #expect(wrong.stderr.contains("refused the password"))
        #expect(!wrong.stderr.contains("not-it"))
    }

    @Test func benchCoordinationReportsTheContractKeys() throws {
        let result = try RefoldRun.run(["bench", "coordination", "--tasks", "2000", "--workers", "1", "--json"], timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        let report = try RefoldRun.json(result.stdout)
        #expect(report["tasks"] as? Int == 2000)
        #expect(report["workers"] as? Int == 1)
        let redis = try RefoldRun.run(["bench", "redis", "--repeat", "1", "--requests", "3200", "--round-trips", "100", "--json"], timeout: 120)
        #expect(redis.code == 0, "\(redis.stderr)")
        #expect(try RefoldRun.json(redis.stdout)["repeat"] as? Int == 1)
        for key in ["seconds", "fork_seconds", "tasks_per_second"] {
            #expect((report[key] as? Double ?? 0) > 0, "\(key)")
        }
    }
}
