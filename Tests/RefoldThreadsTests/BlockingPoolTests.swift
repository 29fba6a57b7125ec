import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldTestSupport
import RefoldThreads
import Synchronization
import Testing

/// The seam between async code and blocking C calls: work runs on the pool's own threads.
@Suite struct BlockingPoolTests {
    @Test func workRunsOnThePoolsThreadsNeverOnTheCallers() async throws {
        let pool = BlockingPool(threads: 2, name: "test-blocking")
        defer { pool.shutdown() }
        let names = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await pool.run { BlockingPool.currentThreadName ?? "?" } }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(names.count == 20)
        #expect(Set(names).isSubset(of: ["test-blocking-1", "test-blocking-2"]))
        #expect(BlockingPool.currentThreadName == nil, "the test itself runs on the cooperative pool")
    }

    @Test func errorsComeBackToTheAwaitingTask() async {
        struct Boom: Error {}
        let pool = BlockingPool(threads: 1)
        defer { pool.shutdown() }
        await #expect(throws: Boom.self) { try await pool.run { throw Boom() } }
    }

    @Test func blockingCallsDoNotHoldUpOtherAwaits() async throws {
        // One thread is parked in a blocking wait; the other still serves calls.
        let pool = BlockingPool(threads: 2)
        defer { pool.shutdown() }
        let release = DispatchSemaphore(value: 0)
        let parked = Task { try await pool.run { release.wait(); return 1 } }
        let quick = try await pool.run { 2 }
        #expect(quick == 2)
        release.signal()
        #expect(try await parked.value == 1)
    }

    @Test func anAsyncCallerAwaitsARedisScript() async throws {
        let pool = BlockingPool(threads: 2)
        defer { pool.shutdown() }
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: TestRedis.url())))
        let job = "async-\(UUID().uuidString.prefix(8))"
        try await pool.run { try client.fork(jobID: job, settings: JobSettings(payload: "{}"), tasks: [TaskDefinition(id: "t", spec: "")]) }
        let status = try await pool.run { try client.run(StatusScript(jobID: job)) }
        #expect(status?.state == .open)
        #expect(status?.total == 1)
    }

    @Test func aShutDownPoolRefusesNewWork() async {
        let pool = BlockingPool(threads: 1)
        pool.shutdown()
        await #expect(throws: BlockingPoolStopped.self) { try await pool.run { 1 } }
    }

    @Test func aDedicatedThreadCarriesOneLongJob() async throws {
        let name = try await BlockingPool.dedicatedThread(name: "refold-long") { BlockingPool.currentThreadName ?? "?" }
        #expect(name == "refold-long")
    }
}
