import Foundation
import RefoldCoordination
import RefoldProcess
import RefoldRedis
import RefoldSQLite
import RefoldTestSupport
import Synchronization
import Testing

/// Refold on a real Redis Cluster (3 masters, 3 replicas, started by the test on loopback
/// ports): the same rows as on one server, jobs spread over the masters, and a master killed
/// mid-job while its replica takes over.
@Suite(.serialized) struct RedisClusterTests {
    /// A copy of the generated event file (20k events, 400 orders, 5 malformed).
    func events(_ name: String) throws -> String {
        try GeneratedEvents.copy(["--size", "20000", "--aggregates", "400", "--seed", "11", "--malformed", "5"], name: name)
    }

    /// The live table and quarantine as canonical text.
    func dump(_ path: String) throws -> String { try ModelDump.canonical(path) }

    /// The rows of a rebuild on one ordinary redis-server.
    func singleNodeRows() throws -> String {
        let path = try events("single.db")
        let redis = try RedisTestServer()
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", path, "--redis", redis.url, "--workers", "2", "--tasks", "16"])
        guard rebuild.code == 0 else { throw TestSupportError("single-node rebuild failed: \(rebuild.stderr)") }
        return try dump(path)
    }

    @Test func aRebuildOnAClusterGivesTheRowsOfASingleNodeRebuildAndSlotsAgreeWithRedis() throws {
        let cluster = try RedisTestCluster()
        let client = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: cluster.url)))
        #expect(client.isCluster)
        #expect(try client.masters().count == 3)
        // The client's slots are the server's.
        for index in 0..<200 {
            let key = index % 3 == 0 ? "refold:{job-\(index)}:ready" : "key-\(index)-\(UUID().uuidString.prefix(4))"
            #expect(try client.send(RedisCommand("CLUSTER", "KEYSLOT", key)).int == Int64(ClusterSlots.slot(of: key)), "\(key)")
        }
        // A key on every master, through the router (MOVED would be followed).
        for index in 0..<30 { try client.send(RedisCommand("SET", "refold:test:\(index)", "\(index)")) }
        #expect(try client.keys(matching: "refold:test:*").count == 30)
        let replies = try client.pipeline((0..<30).map { RedisCommand("GET", "refold:test:\($0)") })
        #expect(replies.map(\.string) == (0..<30).map { "\($0)" })

        let path = try events("cluster.db")
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", path, "--redis", cluster.url, "--workers", "2", "--tasks", "16"])
        #expect(rebuild.code == 0, "\(rebuild.stderr.suffix(2000))")
        #expect(rebuild.stdout.hasPrefix("Rebuilt order_summary and swapped it in"), "\(rebuild.stdout.prefix(300))")
        #expect(try dump(path) == singleNodeRows())
    }

    @Test func askAndMovedRedirectsAreFollowedDuringASlotMigration() throws {
        let cluster = try RedisTestCluster()
        let client = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: cluster.url)))
        let key = "refold:{migrating-\(UUID().uuidString.prefix(6))}:job"
        let slot = ClusterSlots.slot(of: key)
        let source = try cluster.master(ofKey: key)
        let masters = try client.masters()
        let target = try #require(masters.first { $0.port != source.port })
        func direct(_ port: Int) throws -> RedisConnection {
            try RedisConnection(RedisConfiguration(url: RedisURL(parsing: "redis://127.0.0.1:\(port)")), routing: .thisNodeOnly)
        }
        let sourceID = try #require(try direct(source.port).send(RedisCommand("CLUSTER", "MYID")).string)
        let targetID = try #require(try direct(target.port).send(RedisCommand("CLUSTER", "MYID")).string)
        // The slot is being moved: the source answers ASK for keys it does not have.
        try direct(target.port).send(RedisCommand("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID))
        try direct(source.port).send(RedisCommand("CLUSTER", "SETSLOT", slot, "MIGRATING", targetID))
        try client.send(RedisCommand("SET", key, "asked"))
        #expect(try client.send(RedisCommand("GET", key)).string == "asked")
        // The key went to the importing node (ASKING + SET there), not the source.
        // (the source, asked directly, redirects with ASK: it does not hold the key).
        do {
            _ = try direct(source.port).send(RedisCommand("GET", key))
            Issue.record("the source node answered for a key it should not hold")
        } catch {
            #expect((error as? RedisError)?.serverMessage?.hasPrefix("ASK \(slot) ") == true, "\(error)")
        }
        // The move completes: every master now says the target owns the slot; the client's map
        // still names the source, which answers MOVED, and the client follows and learns.
        for master in masters { try direct(master.port).send(RedisCommand("CLUSTER", "SETSLOT", slot, "NODE", targetID)) }
        #expect(try client.send(RedisCommand("GET", key)).string == "asked")
        #expect(try client.master(ofKey: key)?.port == target.port)
    }

    @Test func theLiveServiceAndVersionCheckedReadsWorkOnACluster() throws {
        let cluster = try RedisTestCluster()
        let path = try events("live.db")
        let built = try RefoldRun.run(["rebuild", "order_summary", "--events", path, "--inline"])
        #expect(built.code == 0, "\(built.stderr)")
        let port = try FreePort.find()
        let server = try RefoldRun.start(["serve", "--events", path, "--redis", cluster.url, "--port", String(port)])
        defer { server.child.signal(SIGTERM); _ = try? server.finish(timeout: 30) }
        let base = "http://127.0.0.1:\(port)"
        try Deadline.wait(seconds: 60, "serve to be healthy on the cluster") { (try? HTTPTests.request("GET", base + "/health").status) == 200 }
        let firstRow = try dump(path).split(separator: "\n").first ?? ""
        let id = String(firstRow.prefix { $0 != "|" })
        // The live service leads through the cluster (its lock is a key in its own slot)…
        try Deadline.wait(seconds: 60, "the live service to lead") {
            (try HTTPTests.request("GET", base + "/v1/projections/order_summary").body["leader"] as? [String: Any]) != nil
        }
        // …and an append's row is read back at its version: the wake-up travels by PUBLISH,
        // which the cluster delivers to the node the server subscribed on.
        for _ in 0..<5 {
            let appended = try HTTPTests.request("POST", base + "/v1/aggregates/\(id)/events", body: #"{"type":"App\\Events\\ItemAdded","data":{"sku":"C","qty":1,"price_cents":1}}"#)
            let version = try #require(appended.body["version"] as? Int, "\(appended.text)")
            let read = try HTTPTests.request("GET", base + "/v1/projections/order_summary/rows/\(id)", headers: ["Refold-Min-Version": String(version), "Refold-Wait": "20000"])
            #expect(read.status == 200 && read.body["version"] as? Int == version, "\(read.text)")
        }
        let lag = try RefoldRun.run(["lag", "order_summary", "--events", path, "--redis", cluster.url])
        #expect(lag.code == 0 && lag.stdout.contains("0 aggregates have a written version above their row's"), "\(lag.stdout) \(lag.stderr)")
    }

    @Test func manyJobsAtOnceSpreadOverTheMasters() throws {
        let cluster = try RedisTestCluster()
        let run = try RefoldRun.run(["bench", "coordination", "--tasks", "3200", "--workers", "2", "--jobs", "16", "--redis", cluster.url, "--json"])
        #expect(run.code == 0, "\(run.stderr.suffix(2000))")
        let report = try RefoldRun.json(run.stdout)
        #expect(report["jobs"] as? Int == 16)
        // 16 random job ids over 3 masters: all on one would be a 1-in-5-million chance.
        #expect((report["masters_used"] as? Int ?? 0) >= 2, "\(run.stdout)")
    }

    @Test func killingTheMasterOfARunningJobFailsOverAndTheJobJoinsOnceWithTheSameRows() throws {
        let cluster = try RedisTestCluster()
        let path = try events("failover.db")
        // No local workers: the test's workers decide how far the job gets before the kill.
        let rebuild = try RefoldRun.start(["rebuild", "order_summary", "--events", path, "--redis", cluster.url, "--workers", "0", "--tasks", "16"])
        let coordinator = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: cluster.url)))
        var job = ""
        try Deadline.wait(seconds: 60, "the rebuild's job") {
            job = try coordinator.indexedJobs().first ?? ""
            return !job.isEmpty
        }
        let first = try RefoldRun.run(["worker", "--redis", cluster.url, "--job", job, "--max-tasks", "4"], timeout: 120)
        #expect(first.code == 0, "\(first.stderr.suffix(1000))")
        let before = try #require(try coordinator.status(jobID: job))
        #expect(before.done == 4 && !before.isFinished)
        let tokensBefore = try Self.tokens(coordinator, job)

        // Kill the master that holds the job; its replica takes over.
        let master = try cluster.master(ofKey: JobKeys(jobID: job).job)
        master.kill()
        try cluster.waitUntilHealthy(masters: 3, replicas: 2, except: [master.port])
        let promoted = try cluster.master(ofKey: JobKeys(jobID: job).job)
        #expect(promoted.port != master.port)

        // Count the job's "finished" messages from a surviving node.
        let listener = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: "redis://127.0.0.1:\(promoted.port)")), routing: .thisNodeOnly)
        try listener.subscribe(["refold:{\(job)}:finished"])

        let rest = try RefoldRun.run(["worker", "--redis", cluster.url, "--job", job], timeout: 300)
        #expect(rest.code == 0, "\(rest.stderr.suffix(1000))")
        let result = try rebuild.finish(timeout: 300)
        #expect(result.code == 0, "\(result.stderr.suffix(2000))")
        #expect(try dump(path) == singleNodeRows())

        var finished: [String] = []
        while let message = try listener.nextMessage(timeout: 0.5) { finished.append(String(decoding: message.payload, as: UTF8.self)) }
        #expect(finished == ["joined"], "the join fired \(finished.count) times: \(finished)")
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.state == .joined && status.dead == 0 && status.done == 16)
        // Tokens issued after the failover are new ones, never one handed out before it.
        let tokensAfter = try Self.tokens(coordinator, job)
        let reissued = tokensAfter.filter { task, token in tokensBefore[task] != token }.values
        #expect(Set(reissued).isDisjoint(with: Set(tokensBefore.values)))
        #expect(Set(tokensAfter.values).count == tokensAfter.count, "a fencing token was handed out twice")
    }

    /// Each task's last fencing token.
    static func tokens(_ client: CoordinationClient, _ job: String) throws -> [String: String] {
        let reply = try client.redis.send(RedisCommand("HGETALL", JobKeys(jobID: job).all[4]))
        var tokens: [String: String] = [:]
        let items = reply.array ?? []
        for index in stride(from: 0, to: items.count - 1, by: 2) { tokens[items[index].string ?? ""] = items[index + 1].string ?? "" }
        return tokens
    }
}
