import RefoldCoordination
import Testing

@Suite struct LeaseBookTests {
    let lease = TaskLease(jobID: "j", taskID: "t1", token: "100", attempt: 1, deadlineMilliseconds: 13_000, spec: "")
    let other = TaskLease(jobID: "j", taskID: "t2", token: "101", attempt: 1, deadlineMilliseconds: 13_000, spec: "")

    @Test func heldLeaseIsAliveUntilItsSafetyMarginPasses() {
        var book = LeaseBook(safety: 0.8)
        book.hold(lease, serverMilliseconds: 3_000, now: 100)  // a 10 s lease
        #expect(!book.isLost(lease, now: 100))
        #expect(!book.isLost(lease, now: 107.9))
        #expect(book.isLost(lease, now: 108.1))
        #expect(book.heartbeatInterval == 1, "long leases still beat every second, for progress")
        var short = LeaseBook()
        short.hold(lease, serverMilliseconds: 12_400, now: 0)  // a 600 ms lease
        #expect(abs((short.heartbeatInterval ?? 0) - 0.2) < 1e-9)
    }

    @Test func renewalMovesTheMarginFromTheSendTime() {
        var book = LeaseBook(safety: 0.8)
        book.hold(lease, serverMilliseconds: 3_000, now: 100)
        let lost = book.apply(.renewed(lost: []), sent: [lease], sentAt: 105)
        #expect(lost.isEmpty)
        #expect(!book.isLost(lease, now: 112.9))
        #expect(book.isLost(lease, now: 113.1))
    }

    @Test func serverSaysLostOrCancelled() {
        var book = LeaseBook()
        book.hold(lease, serverMilliseconds: 3_000, now: 0)
        book.hold(other, serverMilliseconds: 3_000, now: 0)
        #expect(book.apply(.renewed(lost: ["t2"]), sent: [lease, other], sentAt: 1) == [other])
        #expect(book.isLost(other, now: 1))
        #expect(!book.isLost(lease, now: 1))
        #expect(book.apply(.cancelled, sent: [lease], sentAt: 2) == [lease])
        #expect(book.isLost(lease, now: 2))
        // Lost is final: a later renewal does not revive it.
        #expect(book.apply(.renewed(lost: []), sent: [lease], sentAt: 3).isEmpty)
        #expect(book.isLost(lease, now: 3))
    }

    @Test func aDifferentTokenIsNotTheHeldLease() {
        var book = LeaseBook()
        book.hold(lease, serverMilliseconds: 3_000, now: 0)
        let reclaimed = TaskLease(jobID: "j", taskID: "t1", token: "999", attempt: 2, deadlineMilliseconds: 13_000, spec: "")
        #expect(book.isLost(reclaimed, now: 0))
    }

    @Test func progressTravelsInThePlanAndDropsForget() {
        var book = LeaseBook()
        book.hold(lease, serverMilliseconds: 3_000, now: 0)
        book.setProgress(lease, events: 42)
        #expect(book.heartbeatPlan()["j"]?.first?.events == 42)
        book.drop(lease)
        #expect(book.count == 0)
        #expect(book.heartbeatPlan().isEmpty)
        #expect(book.heartbeatInterval == nil)
    }

    @Test func overdueLeasesExpireWhenRedisIsUnreachable() {
        var book = LeaseBook(safety: 0.5)
        book.hold(lease, serverMilliseconds: 12_000, now: 0)  // 1 s lease
        #expect(book.expireUnconfirmed(now: 0.4).isEmpty)
        #expect(book.expireUnconfirmed(now: 0.6) == [lease])
        #expect(book.heartbeatPlan().isEmpty)
    }
}
