import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldTestSupport
import Synchronization
import Testing

/// The fork-join scripts against a real redis-server.
@Suite(.serialized) struct ForkJoinProtocolTests {
    func client(_ url: String? = nil) throws -> CoordinationClient {
        try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url ?? TestRedis.url())))
    }

    func jobID(_ name: String = #function) -> String {
        "t-" + name.filter { $0.isLetter }.prefix(24) + "-" + UUID().uuidString.prefix(8)
    }

    func tasks(_ count: Int) -> [TaskDefinition] {
        (0..<count).map { TaskDefinition(id: "task-\($0)", spec: "spec-\($0)") }
    }

    func settings(lease: Int = 30_000, maxAttempts: Int = 3, backoff: Int = 1, onDead: JobSettings.DeadTaskPolicy = .joinWithFailures) -> JobSettings {
        JobSettings(maxAttempts: maxAttempts, leaseMilliseconds: lease, backoffMilliseconds: backoff, onDeadTask: onDead, retentionMilliseconds: 600_000, payload: "{}")
    }

    func leases(_ outcome: ClaimOutcome) -> [TaskLease] {
        if case .leases(let leases, _) = outcome { return leases }
        return []
    }

    @Test func forkOf100000TasksClaimedBy16ClientsExactlyOnce() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(100_000))
        #expect(try coordinator.status(jobID: job)?.ready == 100_000)

        let claimed = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        let url = try TestRedis.url()
        let threads = (0..<16).map { index in
            Thread {
                do {
                    let worker = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url)))
                    while true {
                        let got = try leases(worker.claim(jobID: job, worker: "w\(index)", count: 200))
                        if got.isEmpty { break }
                        claimed.withLock { $0.append(contentsOf: got.map(\.taskID)) }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        for thread in threads { thread.start() }
        try Deadline.wait(seconds: 120, "16 clients to drain 100,000 tasks") {
            claimed.withLock { $0.count } >= 100_000 || !failures.withLock { $0.isEmpty }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let ids = claimed.withLock { $0 }
        #expect(ids.count == 100_000)
        #expect(Set(ids).count == 100_000)
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.leased == 100_000 && status.ready == 0)
        try coordinator.cancel(jobID: job, reason: "test over")
        try coordinator.drop(jobID: job)
    }

    @Test func forkRefusesAnExistingIdAndSealChecksTheCount() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(3))
        let error = #expect(throws: CoordinationError.self) {
            try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(3))
        }
        #expect(error?.code == .jobExists)
        #expect(try coordinator.status(jobID: job)?.total == 3)
        #expect(throws: CoordinationError.self) { try coordinator.fork(jobID: "bad{id}", settings: settings(), tasks: []) }
    }

    @Test func stuckBuildingJobIsDetectableAndRemovable() throws {
        let coordinator = try client()
        let job = jobID()
        let keys = JobKeys(jobID: job)
        // A coordinator that died after fork, before seal: the job stays "building".
        _ = try coordinator.redis.evalScript("fork", keys: keys.all, arguments: [job, "1", 3, 1000, 10, "join", 60_000, "{}"])
        _ = try coordinator.redis.evalScript("register", keys: keys.all, arguments: [1, "a", "spec"])
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.state == .building)
        #expect(leases(try coordinator.claim(jobID: job, worker: "w", count: 5)).isEmpty)
        #expect(try coordinator.claim(jobID: job, worker: "w", count: 5) == .closed(state: .building))
        // Too young to drop, then dropped once old enough.
        #expect(try coordinator.drop(jobID: job, minimumBuildingAgeMilliseconds: 60_000) == nil)
        #expect(try coordinator.drop(jobID: job, minimumBuildingAgeMilliseconds: 0) == .building)
        #expect(try coordinator.status(jobID: job) == nil)
        #expect(try coordinator.redis.send(RedisCommand("EXISTS", keys.all[1])) == .integer(0))
    }

    @Test func repeatedCompletionCountsOnceAndStaleTokenIsRejected() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(lease: 100), tasks: tasks(2))
        let first = try #require(leases(try coordinator.claim(jobID: job, worker: "w1", count: 1)).first)
        // w1 stalls past its lease; the task is reaped and re-claimed by w2 with a new token.
        try Deadline.wait(seconds: 5, "the lease to expire and be reaped") {
            try coordinator.reap(jobID: job) == .reaped(requeued: 1, dead: 0, finished: nil)
        }
        let second = try #require(leases(try coordinator.claim(jobID: job, worker: "w2", count: 1)).first)
        #expect(second.taskID == first.taskID)
        #expect(second.token != first.token)
        #expect(second.attempt == 2)
        #expect(UInt64(second.token)! > UInt64(first.token)!)
        // The stale holder's completion is rejected; the new holder's wins.
        let stale = try coordinator.complete(jobID: job, worker: "w1", completions: [TaskCompletion(lease: first, events: 1, result: "old")])
        #expect(stale.outcomes == [.stale])
        for expected in [CompletionOutcome.done, .duplicate, .duplicate] {
            let reply = try coordinator.complete(jobID: job, worker: "w2", completions: [TaskCompletion(lease: second, events: 5, result: "new")])
            #expect(reply.outcomes == [expected])
        }
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.done == 1)
        #expect(status.eventsDone == 5)
        #expect(try coordinator.results(jobID: job).first?.result == "new")
        #expect(try coordinator.results(jobID: job).first?.worker == "w2")
    }

    @Test func silentWorkerIsReapedAndItsLateHeartbeatHearsLost() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(lease: 100), tasks: tasks(1))
        let lease = try #require(leases(try coordinator.claim(jobID: job, worker: "quiet", count: 1)).first)
        #expect(try coordinator.heartbeat(jobID: job, worker: "quiet", leases: [(lease, 3)]) == .renewed(lost: []))
        #expect(try coordinator.status(jobID: job)?.eventsDone == 3)
        try Deadline.wait(seconds: 5, "the silent worker's lease to be reaped") {
            try coordinator.reap(jobID: job) == .reaped(requeued: 1, dead: 0, finished: nil)
        }
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.stalls == 1 && status.retries == 1 && status.eventsDone == 0)
        let again = try #require(leases(try coordinator.claim(jobID: job, worker: "other", count: 1)).first)
        #expect(again.token != lease.token)
        #expect(try coordinator.heartbeat(jobID: job, worker: "quiet", leases: [(lease, 9)]) == .renewed(lost: [lease.taskID]))
        #expect(try coordinator.heartbeat(jobID: job, worker: "other", leases: [(again, 1)]) == .renewed(lost: []))
    }

    @Test func retriesWithBackoffThenDeadLetterJoinPolicy() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(maxAttempts: 3, backoff: 20, onDead: .joinWithFailures), tasks: tasks(2))
        var delays: [Int64] = []
        var lastOutcome: FailOutcome?
        var other: TaskLease?
        for attempt in 1...3 {
            var lease: TaskLease?
            try Deadline.wait(seconds: 5, "task-0 to come back from backoff (attempt \(attempt))") {
                for claimed in leases(try coordinator.claim(jobID: job, worker: "w", count: 1)) {
                    if claimed.taskID == "task-0" { lease = claimed } else { other = claimed }
                }
                return lease != nil
            }
            #expect(lease?.attempt == attempt)
            lastOutcome = try coordinator.fail(lease: lease!, worker: "w", retryable: true, error: "boom \(attempt)")
            if case .retry(let delay) = lastOutcome { delays.append(delay) }
        }
        #expect(delays == [20, 40])
        #expect(lastOutcome == .dead(jobState: .open, fired: false))
        let dead = try coordinator.deadTasks(jobID: job)
        #expect(dead == [DeadTask(taskID: "task-0", attempts: 3, worker: "w", error: "boom 3")])
        // The other task still runs and the job joins with the failure reported.
        try Deadline.wait(seconds: 5, "task-1 to be claimable") {
            other = leases(try coordinator.claim(jobID: job, worker: "w", count: 1)).first ?? other
            return other != nil
        }
        let reply = try coordinator.complete(jobID: job, worker: "w", completions: [TaskCompletion(lease: other!, events: 1, result: "")])
        #expect(reply.fired && reply.jobState == .joined)
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.state == .joined && status.dead == 1 && status.done == 1 && status.retries == 2)
    }

    @Test func fatalFailureUnderFailPolicyFailsTheJobAtOnce() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(onDead: .failJob), tasks: tasks(3))
        let claimed = leases(try coordinator.claim(jobID: job, worker: "w", count: 2))
        #expect(try coordinator.fail(lease: claimed[0], worker: "w", retryable: false, error: "poison") == .dead(jobState: .failed, fired: true))
        #expect(try coordinator.claim(jobID: job, worker: "w", count: 1) == .closed(state: .failed))
        let late = try coordinator.complete(jobID: job, worker: "w", completions: [TaskCompletion(lease: claimed[1], events: 0, result: "")])
        #expect(late.outcomes == [.closed])
        #expect(try coordinator.redis.send(RedisCommand("LRANGE", JobKeys(jobID: job).signal, 0, -1)) == .array([.bulk(Array("failed".utf8))]))
        let ttl = try coordinator.redis.send(RedisCommand("PTTL", JobKeys(jobID: job).job)).int ?? -1
        #expect(ttl > 0 && ttl <= 600_000)
    }

    @Test func joinFiresExactlyOnceWhenTheLastTwoCompletionsRace() throws {
        let url = try TestRedis.url()
        let coordinator = try client()
        for round in 0..<30 {
            let job = jobID() + "-\(round)"
            try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(2))
            let claimed = leases(try coordinator.claim(jobID: job, worker: "w", count: 2))
            let fired = Atomic<Int>(0)
            let finished = Atomic<Int>(0)
            for lease in claimed {
                Thread {
                    if let racer = try? CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url))),
                       let reply = try? racer.complete(jobID: job, worker: "w", completions: [TaskCompletion(lease: lease, events: 1, result: "")]),
                       reply.fired {
                        fired.add(1, ordering: .relaxed)
                    }
                    finished.add(1, ordering: .releasing)
                }.start()
            }
            try Deadline.wait(seconds: 10, "both racers to finish") { finished.load(ordering: .acquiring) == 2 }
            #expect(fired.load(ordering: .relaxed) == 1)
            #expect(try coordinator.redis.send(RedisCommand("LLEN", JobKeys(jobID: job).signal)) == .integer(1))
        }
    }

    @Test func scriptFlushInTheMiddleOfARunDoesNotBreakIt() throws {
        // A server of its own: flushing the shared one's scripts would disturb other tests.
        let server = try RedisTestServer()
        let coordinator = try client(server.url)
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(10))
        var completed = 0
        while true {
            try coordinator.redis.send(RedisCommand("SCRIPT", "FLUSH"))
            let claimed = leases(try coordinator.claim(jobID: job, worker: "w", count: 3))
            if claimed.isEmpty { break }
            try coordinator.redis.send(RedisCommand("SCRIPT", "FLUSH"))
            let reply = try coordinator.complete(jobID: job, worker: "w", completions: claimed.map { TaskCompletion(lease: $0, events: 1, result: "") })
            completed += reply.outcomes.filter { $0 == .done }.count
        }
        #expect(completed == 10)
        #expect(try coordinator.status(jobID: job)?.state == .joined)
    }

    @Test func cancelStopsClaimsAndHeartbeatsReportIt() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(5))
        let held = try #require(leases(try coordinator.claim(jobID: job, worker: "w", count: 1)).first)
        #expect(try coordinator.cancel(jobID: job, reason: "operator said so"))
        #expect(try coordinator.claim(jobID: job, worker: "w", count: 1) == .closed(state: .cancelled))
        #expect(try coordinator.heartbeat(jobID: job, worker: "w", leases: [(held, 1)]) == .cancelled)
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.state == .cancelled && status.reason == "operator said so")
        #expect(try coordinator.cancel(jobID: job, reason: "again") == false)
        #expect(!(try coordinator.indexedJobs()).contains(job))
    }

    @Test func releaseHandsATaskBackWithoutSpendingAnAttempt() throws {
        let coordinator = try client()
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(maxAttempts: 1), tasks: tasks(1))
        let first = try #require(leases(try coordinator.claim(jobID: job, worker: "w", count: 1)).first)
        #expect(try coordinator.release(lease: first))
        #expect(try coordinator.release(lease: first) == false)
        let second = try #require(leases(try coordinator.claim(jobID: job, worker: "w2", count: 1)).first)
        #expect(second.attempt == 1)
        #expect(try coordinator.complete(jobID: job, worker: "w2", completions: [TaskCompletion(lease: second, events: 0, result: "")]).fired)
    }

    @Test func tasksLeasedByAClaimWhoseReplyWasLostAreHandedBackWithoutSpendingAnAttempt() throws {
        let server = try RedisTestServer()
        let coordinator = try client(server.url)
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(10))
        // "w" claims three tasks and never hears back; "other" holds one of its own.
        _ = try coordinator.claim(jobID: job, worker: "w", count: 3)
        let kept = leases(try coordinator.claim(jobID: job, worker: "other", count: 1))
        #expect(try coordinator.handBackLostClaims(jobID: job, worker: "w") == 3)
        let status = try #require(try coordinator.status(jobID: job))
        #expect(status.ready == 9 && status.leased == 1 && status.releases == 3)
        #expect(try coordinator.tasks(jobID: job).filter { $0.value.state == .leased }.map(\.key) == kept.map(\.taskID))
        // The next claims are first attempts again.
        let again = leases(try coordinator.claim(jobID: job, worker: "w2", count: 3))
        #expect(again.count == 3 && again.allSatisfy { $0.attempt == 1 })
        #expect(try coordinator.handBackLostClaims(jobID: job, worker: "w") == 0)
    }

    @Test func tokensStayUniqueAcrossARestartThatLosesWrites() throws {
        let server = try RedisTestServer(appendOnly: true)
        let coordinator = try client(server.url)
        let job = jobID()
        try coordinator.fork(jobID: job, settings: settings(), tasks: tasks(400))
        try coordinator.redis.send(RedisCommand("BGREWRITEAOF"))
        try Deadline.wait(seconds: 10, "the AOF rewrite") {
            (try coordinator.redis.send(RedisCommand("INFO", "persistence")).string ?? "").contains("aof_rewrite_in_progress:0")
        }
        var issued: [UInt64] = []
        for _ in 0..<20 {
            issued += leases(try coordinator.claim(jobID: job, worker: "w", count: 10)).compactMap { UInt64($0.token) }
        }
        server.kill()  // SIGKILL: whatever was not fsynced (up to a second) is gone
        try server.start()
        var after: [UInt64] = []
        // The restarted server answers LOADING while it replays its AOF: a transient reply the
        // client reports as such (this wait used to fail on it two runs in three).
        try Deadline.wait(seconds: 10, "claims after the restart") {
            do {
                if case .leases(let got, _) = try coordinator.claim(jobID: job, worker: "w", count: 10) {
                    after += got.compactMap { UInt64($0.token) }
                }
            } catch let error as CoordinationError where error.isTransient {
                return false
            }
            return !after.isEmpty
        }
        #expect(issued.count == 200)
        #expect(after.min()! > issued.max()!)
    }
}
