import Foundation
import Logging
import RefoldHTTP
import RefoldRedis
import RefoldTestSupport
import Testing

/// The shared row subscription that version-checked reads wait on.
struct RowWaitersTests {
    @Test func aNotificationBetweenTheReadAndTheWaitIsNotMissed() async {
        let waiters = RowWaiters()
        let waiter = waiters.register(projection: "p", id: "a", minimum: 3)
        waiters.rowAdvanced(projection: "p", id: "a", version: 3)  // before anyone waits
        #expect(await waiter.wait(timeout: 5) == true)
        waiters.remove(waiter)
        #expect(waiters.count == 0)
    }

    @Test func aLowerVersionOrAnotherRowDoesNotWakeAndTheWaitTimesOut() async {
        let waiters = RowWaiters()
        let waiter = waiters.register(projection: "p", id: "a", minimum: 3)
        waiters.rowAdvanced(projection: "p", id: "a", version: 2)
        waiters.rowAdvanced(projection: "p", id: "b", version: 9)
        waiters.rowAdvanced(projection: "q", id: "a", version: 9)
        #expect(await waiter.wait(timeout: 0.05) == false)
        waiters.remove(waiter)
    }

    @Test func oneRedisSubscriptionWakesEveryWaiterOfTheRow() async throws {
        let redis = try RedisTestServer()
        let configuration = RedisConfiguration(url: try RedisURL(parsing: redis.url))
        let waiters = RowWaiters()
        waiters.listen(redis: configuration, projections: ["order_summary"], logger: Logger(label: "test"))
        defer { waiters.stop() }
        let publisher = try RedisConnection(configuration)
        // The subscription is up once a publish reaches one subscriber.
        try Deadline.wait(seconds: 10, "the subscription") {
            try publisher.send(RedisCommand("PUBLISH", "refold:rows:order_summary", "warmup 1")).int == 1
        }
        let many = (0..<50).map { _ in waiters.register(projection: "order_summary", id: "o-1", minimum: 7) }
        let started = Date()
        async let woken = withTaskGroup(of: Bool.self) { group in
            for waiter in many { group.addTask { await waiter.wait(timeout: 300) } }
            var all = true
            for await one in group { all = all && one }
            return all
        }
        _ = try publisher.send(RedisCommand("PUBLISH", "refold:rows:order_summary", "o-1 7"))
        // Correctness only: how fast is measured by `refold serve` benchmarks, not asserted (a
        // test process's cooperative pool may be busy with other suites for a while).
        #expect(await woken)
        _ = started
    }
}
