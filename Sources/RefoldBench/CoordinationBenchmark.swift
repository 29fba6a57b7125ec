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
        /// Fork start to join (worker start-up included).
        public let seconds: Double
        public let forkSeconds: Double
        public let retries: Int

        public var tasksPerSecond: Double { Double(tasks) / seconds }
    }

    public static func run(redis: RedisConfiguration, redisURLText: String, tasks: Int, workers: Int, batch: Int) throws -> Result {
        let client = try CoordinationClient(configuration: redis)
        let jobID = "bench-coordination-\(UUID().uuidString.prefix(8).lowercased())"
        let definitions = (0..<tasks).map { TaskDefinition(id: "t\($0)", spec: "") }
        let settings = JobSettings(leaseMilliseconds: 30_000, retentionMilliseconds: 60_000, payload: #"{"kind":"noop","batch":\#(batch)}"#)
        let start = Date()
        try client.fork(jobID: jobID, settings: settings, tasks: definitions)
        let forked = Date()
        let pool = try LocalWorkerPool(count: workers, redisURL: redisURLText, arguments: ["--job", jobID, "--poll", "5ms"])
        defer { pool.stopAll(grace: 2) }
        let status = try client.waitForJoin(jobID: jobID, poll: 0.02, shouldStop: { pool.exited().contains { $0.status.code != 0 } })
        let joined = Date()
        guard status.state == .joined else {
            let exits = pool.exited().map { "worker \($0.pid): \($0.status)" }.joined(separator: ", ")
            _ = try? client.cancel(jobID: jobID, reason: "benchmark failed")
            throw RunnerError(.infrastructure, "the benchmark job did not join (state \(status.state), \(status.done)/\(status.total) done; \(exits)).")
        }
        try client.drop(jobID: jobID)
        return Result(tasks: tasks, workers: workers, seconds: joined.timeIntervalSince(start), forkSeconds: forked.timeIntervalSince(start), retries: status.retries)
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
