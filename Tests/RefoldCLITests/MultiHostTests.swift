import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldRunner
import RefoldStore
import RefoldTestSupport
import Synchronization
import Testing

/// Workers on other "hosts": network namespaces joined by veth pairs, each reaching Redis and
/// PostgreSQL only over its own link (through a TCP proxy of the test on the link's outside
/// address, which can also stall or break that link's traffic). A rebuild coordinated from
/// this namespace must end with the rows of a single-host rebuild, no dead task, and one join,
/// whatever happens to one host's link.
@Suite(.serialized, .enabled(if: NetworkHost.available && TestServer.postgres.available,
                              "needs root (network namespaces) and the harness's PostgreSQL (./refold.sh test as root)"))
struct MultiHostTests {
    static let generateArguments = ["--size", "20000", "--aggregates", "400", "--seed", "17", "--malformed", "5"]

    /// The rows of the same dataset rebuilt inline on SQLite, in the canonical dump.
    func referenceRows() throws -> String {
        try Self.dump(try GeneratedEvents.rebuilt(Self.generateArguments))
    }

    /// Rows (data with sorted keys) and quarantine, whatever the database (`ModelDump`).
    static func dump(_ location: String) throws -> String { try ModelDump.canonical(location) }

    /// Redis and a PostgreSQL database on this side; `count` hosts, each with a proxy to each.
    final class Setup: @unchecked Sendable {
        let database: TestServerDatabase
        let redis: RedisTestServer
        let hosts: [NetworkHost]
        let redisProxies: [TCPProxy]
        let databaseProxies: [TCPProxy]

        init(hosts count: Int, label: String = #function) throws {
            database = try TestServerDatabase(.postgres, label)
            let generate = try RefoldRun.run(["generate", database.url] + MultiHostTests.generateArguments)
            guard generate.code == 0 else { throw TestSupportError("generate failed: \(generate.stderr)") }
            redis = try RedisTestServer()
            let databasePort = try DatabaseLocation(parsing: database.url).port
            var hosts: [NetworkHost] = []
            var redisProxies: [TCPProxy] = []
            var databaseProxies: [TCPProxy] = []
            for index in 1...count {
                let host = try NetworkHost(index: index)
                hosts.append(host)
                redisProxies.append(try TCPProxy(listenHost: host.outsideAddress, upstreamPort: redis.port))
                databaseProxies.append(try TCPProxy(listenHost: host.outsideAddress, upstreamPort: databasePort))
            }
            self.hosts = hosts
            self.redisProxies = redisProxies
            self.databaseProxies = databaseProxies
        }

        /// The database as host `index` (0-based) reaches it.
        func databaseURL(host index: Int) throws -> String {
            var location = try DatabaseLocation(parsing: database.url)
            location.host = hosts[index].outsideAddress
            location.port = databaseProxies[index].port
            return location.description
        }

        /// `refold worker` on host `index`, for one job.
        func worker(host index: Int, job: String, extra: [String] = []) throws -> RefoldRun.Running {
            let url = try databaseURL(host: index)
            return try hosts[index].start(["worker", "--redis", "redis://\(hosts[index].outsideAddress):\(redisProxies[index].port)",
                                           "--events", url, "--read-models", url, "--job", job] + extra)
        }

        /// The rebuild's coordinator, here, with no local worker.
        func rebuild(tasks: Int, lease: String) throws -> RefoldRun.Running {
            try RefoldRun.start(["rebuild", "order_summary", "--events", database.url, "--redis", redis.url, "--workers", "0",
                                 "--tasks", String(tasks), "--lease", lease])
        }

        func coordination() throws -> CoordinationClient {
            try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        }

        func job(_ client: CoordinationClient) throws -> String {
            var job = ""
            try Deadline.wait(seconds: 60, "the rebuild's job") {
                job = try client.indexedJobs().first ?? ""
                return !job.isEmpty
            }
            return job
        }

        deinit {
            for proxy in redisProxies + databaseProxies { proxy.stop() }
            for host in hosts { host.remove() }
        }
    }

    /// The worker's closing tally (`refold.completed=…` in its exit log line).
    static func tally(_ stderr: String, _ name: String) -> Int {
        guard let range = stderr.range(of: "refold.\(name)=") else { return -1 }
        return Int(stderr[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    @Test func aHostCutOffMidTaskLosesItsLeaseToAnotherAndItsLateWorkIsNotCounted() throws {
        let setup = try Setup(hosts: 2)
        let client = try setup.coordination()
        let rebuild = try setup.rebuild(tasks: 8, lease: "2s")
        let job = try setup.job(client)
        let finished = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: setup.redis.url)))
        try finished.subscribe(["refold:{\(job)}:finished"])

        // Host 2 does seven tasks; one is left.
        let seven = try setup.worker(host: 1, job: job, extra: ["--max-tasks", "7"]).finish(timeout: 120)
        #expect(seven.code == 0, "\(seven.stderr.suffix(1000))")
        // Host 1 claims the last one and is stuck reading its events (its database link stalls)…
        setup.databaseProxies[0].hold(true)
        let cutOff = try setup.worker(host: 0, job: job)
        try Deadline.wait(seconds: 60, "host 1 to hold the last task") { try client.status(jobID: job)?.leased == 1 }
        // …when its link goes down altogether.
        try setup.hosts[0].cut()

        // Host 2 takes the task over once the lease expires, and the job joins.
        let rescuer = try setup.worker(host: 1, job: job).finish(timeout: 120)
        #expect(rescuer.code == 0, "\(rescuer.stderr.suffix(1000))")
        let result = try rebuild.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr.suffix(2000))")
        #expect(try Self.dump(setup.database.url) == referenceRows())
        let status = try #require(try client.status(jobID: job))
        #expect(status.dead == 0 && status.state == .joined)
        let results = try client.results(jobID: job)
        #expect(results.count == 8 && !results.contains { $0.worker.hasSuffix(":\(cutOff.child.pid)") }, "\(results.map(\.worker))")

        // The link comes back and the stalled read goes through: the cut-off worker's work on
        // that task is not counted (its lease is gone), and it exits 0.
        try setup.hosts[0].restore()
        setup.databaseProxies[0].hold(false)
        let late = try cutOff.finish(timeout: 180)
        #expect(late.code == 0, "\(late.stderr.suffix(2000))")
        #expect(Self.tally(late.stderr, "completed") == 0, "\(late.stderr.suffix(2000))")
        #expect(Self.tally(late.stderr, "stale") + Self.tally(late.stderr, "abandoned") + Self.tally(late.stderr, "failed") >= 1, "\(late.stderr.suffix(2000))")
        #expect(try client.results(jobID: job).count == 8)
        print("cut-off worker: " + ["completed", "stale", "abandoned", "failed", "released"].map { "\($0)=\(Self.tally(late.stderr, $0))" }.joined(separator: " "))

        var messages: [String] = []
        while let message = try finished.nextMessage(timeout: 0.5) { messages.append(String(decoding: message.payload, as: UTF8.self)) }
        #expect(messages == ["joined"], "the join fired \(messages.count) times")
    }

    @Test func aSlowFlakyLinkToRedisStillJoinsOnceWithTheSameRows() throws {
        let setup = try Setup(hosts: 2)
        // Host 2's link to Redis: 3 ms per chunk, and every 9th chunk resets its connection.
        setup.redisProxies[1].configure(delayMilliseconds: 3, resetEvery: 9)
        let client = try setup.coordination()
        let rebuild = try setup.rebuild(tasks: 16, lease: "3s")
        let job = try setup.job(client)
        let finished = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: setup.redis.url)))
        try finished.subscribe(["refold:{\(job)}:finished"])
        let flaky = try setup.worker(host: 1, job: job)
        // The flaky host starts first and does part of the job alone.
        do {
            try Deadline.wait(seconds: 120, "the flaky host to complete two tasks") { (try client.status(jobID: job)?.done ?? 0) >= 2 }
        } catch {
            Issue.record("\(error); the flaky host's log:\n\(flaky.stderrText().suffix(3000))")
            throw error
        }
        let steady = try setup.worker(host: 0, job: job)
        let result = try rebuild.finish(timeout: 300)
        #expect(result.code == 0, "\(result.stderr.suffix(2000))")
        #expect(try Self.dump(setup.database.url) == referenceRows())
        let status = try #require(try client.status(jobID: job))
        #expect(status.dead == 0 && status.state == .joined)
        #expect(setup.redisProxies[1].counts.resets > 0, "the link never reset: the test proved nothing")
        for worker in [flaky, steady] {
            let exit = try worker.finish(timeout: 120)
            #expect(exit.code == 0, "\(exit.stderr.suffix(1500))")
        }
        var messages: [String] = []
        while let message = try finished.nextMessage(timeout: 0.5) { messages.append(String(decoding: message.payload, as: UTF8.self)) }
        #expect(messages == ["joined"], "the join fired \(messages.count) times")
    }
}
