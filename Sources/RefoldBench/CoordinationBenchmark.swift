import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldRunner

/// Fork-join of N no-op tasks over W local worker processes: the protocol's own cost,
/// without any events to fold. Used by `refold bench coordination` and `refold bench`.
public enum CoordinationBenchmark {
    public struct Result: Sendable {
        public let tasks: Int
        public let workers: Int
        /// Concurrent jobs the tasks were split over.
        public var jobs = 1
        /// Fork start to the last join (worker start-up included).
        public let seconds: Double
        public let forkSeconds: Double
        public let retries: Int
        /// Distinct cluster masters the jobs' keys landed on (0 on a single server).
        public var mastersUsed = 0

        public var tasksPerSecond: Double { Double(tasks) / seconds }
    }

    /// Forks `jobs` jobs of `tasks / jobs` no-op tasks each at once, starts `workers` worker
    /// processes (each serving every job in the index), and waits for every join.
    public static func run(redis: RedisConfiguration, redisURLText: String, tasks: Int, workers: Int, batch: Int, jobs: Int = 1) throws -> Result {
        let client = try CoordinationClient(configuration: redis)
        let run = UUID().uuidString.prefix(8).lowercased()
        let jobIDs = (0..<jobs).map { jobs == 1 ? "bench-coordination-\(run)" : "bench-coordination-\(run)-\($0)" }
        let settings = JobSettings(leaseMilliseconds: 30_000, retentionMilliseconds: 60_000, payload: #"{"kind":"noop","batch":\#(batch)}"#)
        let start = Date()
        for (index, jobID) in jobIDs.enumerated() {
            let share = tasks / jobs + (index < tasks % jobs ? 1 : 0)
            try client.fork(jobID: jobID, settings: settings, tasks: (0..<share).map { TaskDefinition(id: "t\($0)", spec: "") })
        }
        let forked = Date()
        let pool = try LocalWorkerPool(count: workers, redisURL: redisURLText, arguments: (jobs == 1 ? ["--job", jobIDs[0]] : []) + ["--poll", "5ms"])
        defer { pool.stopAll(grace: 2) }
        var retries = 0
        for jobID in jobIDs {
            let status = try client.waitForJoin(jobID: jobID, poll: 0.02, shouldStop: { pool.exited().contains { $0.status.code != 0 } })
            guard status.state == .joined else {
                let exits = pool.exited().map { "worker \($0.pid): \($0.status)" }.joined(separator: ", ")
                for id in jobIDs { _ = try? client.cancel(jobID: id, reason: "benchmark failed") }
                throw RunnerError(.infrastructure, "the benchmark job \(jobID) did not join (state \(status.state), \(status.done)/\(status.total) done; \(exits)).")
            }
            retries += status.retries
        }
        let joined = Date()
        var masters = Set<ClusterNode>()
        for jobID in jobIDs {
            if let master = try client.redis.master(ofKey: JobKeys(jobID: jobID).job) { masters.insert(master) }
            try client.drop(jobID: jobID)
        }
        var result = Result(tasks: tasks, workers: workers, seconds: joined.timeIntervalSince(start), forkSeconds: forked.timeIntervalSince(start), retries: retries)
        result.jobs = jobs
        result.mastersUsed = masters.count
        return result
    }

    /// Unpipelined PING round trips per second on one connection: the yardstick the
    /// coordination figure is divided by, so the ratio holds across machines.
    public static func pingRate(redis: RedisConfiguration, count: Int = 5_000) throws -> Double {
        let connection = try RedisConnection(redis)
        let start = Date()
        for _ in 0..<count { try connection.send(RedisCommand("PING")) }
        return Double(count) / Date().timeIntervalSince(start)
    }
}
