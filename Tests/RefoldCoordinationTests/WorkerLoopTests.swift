import Foundation
import Logging
import RefoldCoordination
import RefoldRedis
import RefoldTestSupport
import Synchronization
import Testing

/// The worker loop against a real Redis: what it does with each way a handler can end.
@Suite(.serialized) struct WorkerLoopTests {
    struct Poison: Error {}

    struct Handler: TaskHandler {
        let claimBatch = 1
        let body: @Sendable (TaskExecution) throws -> TaskOutput
        func perform(_ task: TaskExecution) throws -> TaskOutput { try body(task) }
    }

    /// Runs a worker loop on a thread until the returned stop function is called.
    func startLoop(_ url: String, id: String, factory: @escaping TaskHandlerFactory) throws -> @Sendable () -> Void {
        let stop = Mutex(false)
        let finished = DispatchSemaphore(value: 0)
        var options = WorkerLoop.Options(workerID: id)
        options.maxIdleWait = 0.02
        let loop = WorkerLoop(configuration: RedisConfiguration(url: try RedisURL(parsing: url)), options: options, logger: Logger(label: "test"), handlerFactory: factory)
        let thread = Thread {
            try? loop.run(shouldStop: { stop.withLock { $0 } })
            finished.signal()
        }
        thread.start()
        return {
            stop.withLock { $0 = true }
            finished.wait()
        }
    }

    func client(_ url: String) throws -> CoordinationClient {
        try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url)))
    }

    @Test func aHandlerThrowingAnyOtherErrorFailsTheTaskAndItsAttemptsRunOut() throws {
        let redis = try RedisTestServer()
        let coordinator = try client(redis.url)
        let job = "poison-\(UUID().uuidString.prefix(8))"
        try coordinator.fork(jobID: job, settings: JobSettings(maxAttempts: 3, backoffMilliseconds: 1, payload: "{}"), tasks: [TaskDefinition(id: "t", spec: "")])
        let calls = Mutex(0)
        let stop = try startLoop(redis.url, id: "w1") { _, _ in
            Handler { _ in
                calls.withLock { $0 += 1 }
                throw Poison()
            }
        }
        defer { stop() }
        try Deadline.wait(seconds: 30, "the poison task to be dead-lettered") {
            try coordinator.status(jobID: job)?.isFinished == true
        }
        let dead = try coordinator.deadTasks(jobID: job)
        #expect(dead.count == 1)
        #expect(dead.first?.attempts == 3)
        #expect(dead.first?.error.contains("Poison") == true)
        #expect(calls.withLock { $0 } == 3)
        #expect(try coordinator.status(jobID: job)?.releases == 0)
    }

    @Test func aTaskThisWorkerCannotRunHereIsHandedBackWithoutSpendingAnAttempt() throws {
        let redis = try RedisTestServer()
        let coordinator = try client(redis.url)
        let job = "nothere-\(UUID().uuidString.prefix(8))"
        try coordinator.fork(jobID: job, settings: JobSettings(maxAttempts: 1, payload: "{}"), tasks: (0..<4).map { TaskDefinition(id: "t\($0)", spec: "") })
        let stopBroken = try startLoop(redis.url, id: "broken") { _, _ in
            Handler { _ in throw TaskFailure(.notHere, "events.db does not exist on this host") }
        }
        try Deadline.wait(seconds: 30, "the broken worker to hand a task back") {
            (try coordinator.status(jobID: job)?.releases ?? 0) >= 1
        }
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.releaseReason == "worker broken: events.db does not exist on this host")
        #expect(status.dead == 0)
        let stopHealthy = try startLoop(redis.url, id: "healthy") { _, _ in
            Handler { _ in TaskOutput(events: 1, result: "ok") }
        }
        defer { stopHealthy() }
        try Deadline.wait(seconds: 30, "the healthy worker to finish the job") {
            try coordinator.status(jobID: job)?.isFinished == true
        }
        stopBroken()
        // Max attempts is 1: had the hand-backs cost attempts, tasks would be dead.
        #expect(try coordinator.status(jobID: job)?.state == .joined)
        #expect(try coordinator.deadTasks(jobID: job).isEmpty)
        #expect(try coordinator.results(jobID: job).allSatisfy { $0.worker == "healthy" })
    }
}
