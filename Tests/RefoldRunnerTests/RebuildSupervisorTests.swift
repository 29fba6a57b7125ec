import RefoldCoordination
import RefoldRedis
import RefoldRunner
import Testing

/// The coordinator's supervision rules, without Redis, processes or a clock.
@Suite struct RebuildSupervisorTests {
    /// A job status as status.lua would report it.
    static func status(_ fields: [String: String] = [:]) -> JobStatus {
        var all = ["state": "open", "total": "4", "done": "0", "dead": "0", "ready": "4", "leased": "0", "delayed": "0",
                   "retries": "0", "stalls": "0", "events_total": "1000", "events_done": "0", "created_ms": "0", "now_ms": "0"]
        for (key, value) in fields { all[key] = value }
        return JobStatus(jobID: "j", fields: all, state: JobState(rawValue: all["state"]!)!)
    }

    func supervisor(_ configure: (inout RebuildSupervisor.Policy) -> Void = { _ in }) -> RebuildSupervisor {
        var policy = RebuildSupervisor.Policy()
        configure(&policy)
        return RebuildSupervisor(job: "j", policy: policy, redisDisplay: "redis://127.0.0.1:6379/0", forkedAt: 100)
    }

    func warnings(_ actions: [RebuildSupervisor.Action]) -> [String] {
        actions.compactMap { if case .warn(let text) = $0 { return text } else { return nil } }
    }

    @Test func renewsTheLockAndReapsOnTheirOwnCadence() {
        var s = supervisor()
        let first = s.handle(.status(Self.status(), now: 100))
        #expect(first.contains(.reap))
        #expect(!first.contains(.renewLock))
        #expect(!s.handle(.status(Self.status(), now: 100.5)).contains(.reap))
        #expect(s.handle(.status(Self.status(), now: 101.1)).contains(.reap))
        #expect(s.handle(.status(Self.status(), now: 105.1)).contains(.renewLock))
        #expect(!s.handle(.status(Self.status(), now: 106)).contains(.renewLock))
    }

    @Test func saysOnceWhenNoWorkerClaimsAndNamesTheRedis() {
        var s = supervisor()
        #expect(warnings(s.handle(.status(Self.status(), now: 109))).isEmpty)
        let warned = warnings(s.handle(.status(Self.status(), now: 110)))
        #expect(warned.count == 1)
        #expect(warned.first?.contains("no worker has claimed a task of job j in 10 s") == true)
        #expect(warned.first?.contains("refold worker --redis redis://127.0.0.1:6379/0") == true)
        #expect(warnings(s.handle(.status(Self.status(), now: 200))).isEmpty)
        #expect(!s.isDone)
    }

    @Test func aClaimSilencesTheWarning() {
        var s = supervisor()
        _ = s.handle(.status(Self.status(["leased": "1", "ready": "3"]), now: 101))
        #expect(warnings(s.handle(.status(Self.status(["leased": "0", "done": "1"]), now: 120))).isEmpty)
    }

    @Test func waitForWorkersCancelsWithExitThree() {
        var s = supervisor { $0.waitForWorkers = 30 }
        #expect(!s.handle(.status(Self.status(), now: 129)).contains { if case .cancel = $0 { true } else { false } })
        let actions = s.handle(.status(Self.status(), now: 130))
        guard case .cancel(let reason)? = actions.dropLast().last, case .stop(let error)? = actions.last else {
            Issue.record("expected cancel then stop, got \(actions)")
            return
        }
        #expect(reason.contains("no worker claimed a task of job j within 30 s"))
        #expect(error.code == .infrastructure)
        #expect(s.isDone)
        #expect(s.handle(.status(Self.status(), now: 131)).isEmpty)
    }

    @Test func workersThatOnlyHandTasksBackDoNotHoldOffWaitForWorkers() {
        var s = supervisor { $0.waitForWorkers = 20 }
        let reason = "worker h:1: PostgreSQL at 127.0.0.1:5432 refused the login of user refold"
        // A claim that is handed back, again and again: no progress.
        _ = s.handle(.status(Self.status(["leased": "1", "ready": "3"]), now: 101))
        #expect(!s.handle(.status(Self.status(["releases": "3", "release_reason": reason]), now: 119)).contains { if case .cancel = $0 { true } else { false } })
        // While a task is leased the worker may be working: no cancel yet.
        #expect(!s.handle(.status(Self.status(["releases": "4", "leased": "1", "ready": "3", "release_reason": reason]), now: 121)).contains { if case .cancel = $0 { true } else { false } })
        let actions = s.handle(.status(Self.status(["releases": "5", "release_reason": reason]), now: 122))
        guard case .cancel(let why)? = actions.dropLast().last, case .stop(let error)? = actions.last else {
            Issue.record("expected cancel then stop, got \(actions)")
            return
        }
        #expect(why.contains("handed every one back") && why.contains(reason))
        #expect(error.code == .infrastructure)
    }

    @Test func progressKeepsAJobWhoseWorkersAlsoHandedTasksBack() {
        var s = supervisor { $0.waitForWorkers = 20 }
        _ = s.handle(.status(Self.status(["releases": "1", "release_reason": "x"]), now: 101))
        _ = s.handle(.status(Self.status(["releases": "1", "done": "1", "ready": "3", "release_reason": "x"]), now: 110))
        #expect(!s.handle(.status(Self.status(["releases": "1", "done": "1", "ready": "3"]), now: 200)).contains { if case .cancel = $0 { true } else { false } })
    }

    @Test func aWorkerHandingTasksBackIsNamedOncePerReason() {
        var s = supervisor()
        let reason = "worker h:1: table \"stored_events\" not found in empty.db"
        #expect(warnings(s.handle(.status(Self.status(["releases": "1", "release_reason": reason]), now: 101))) == ["a worker handed a task of job j back: \(reason)"])
        #expect(warnings(s.handle(.status(Self.status(["releases": "2", "release_reason": reason]), now: 102))).isEmpty)
        #expect(warnings(s.handle(.status(Self.status(["releases": "3", "release_reason": "other"]), now: 103))).count == 1)
    }

    @Test func redisMayFailForTheOutageBudgetInARow() {
        var s = supervisor { $0.outageBudget = 30 }
        let loading = CoordinationError(RedisError(.server, "LOADING", serverMessage: "LOADING Redis is loading the dataset in memory"))
        #expect(s.handle(.redisFailed(loading, now: 100)).allSatisfy { if case .progress = $0 { true } else { false } })
        #expect(!s.isDone)
        _ = s.handle(.redisFailed(loading, now: 125))
        #expect(!s.isDone)
        // A good read resets the clock.
        _ = s.handle(.status(Self.status(), now: 126))
        _ = s.handle(.redisFailed(loading, now: 140))
        _ = s.handle(.redisFailed(loading, now: 169))
        #expect(!s.isDone)
        guard case .stop(let error)? = s.handle(.redisFailed(loading, now: 171)).last else {
            Issue.record("expected stop")
            return
        }
        #expect(error.code == .infrastructure)
        #expect(error.message.contains("stayed unavailable for 30 s"))
    }

    @Test func aFinalRedisErrorOrAVanishedJobStopsAtOnce() {
        var s = supervisor()
        let noPermission = CoordinationError(RedisError(.server, "NOPERM", serverMessage: "NOPERM no"))
        #expect(s.handle(.redisFailed(noPermission, now: 100)).last.map { if case .stop = $0 { true } else { false } } == true)
        var t = supervisor()
        guard case .stop(let error)? = t.handle(.redisFailed(CoordinationError(.jobMissing, "gone"), now: 100)).last else {
            Issue.record("expected stop")
            return
        }
        #expect(error.message.contains("vanished from Redis"))
    }

    @Test func crashedWorkersAreReplacedUpToTheLimit() {
        var s = supervisor { $0.maxWorkerRestarts = 2 }
        #expect(s.handle(.workersCrashed(count: 1, now: 100)) == [.replaceCrashedWorkers])
        #expect(s.handle(.workersCrashed(count: 1, now: 101)) == [.replaceCrashedWorkers])
        let actions = s.handle(.workersCrashed(count: 1, now: 102))
        #expect(actions.count == 2)
        #expect(s.workerRestarts == 3)
        #expect(s.isDone)
    }

    /// A local worker bound to the job exits 0 only when the job is over; one that left while
    /// the job was not finished is replaced (said once), against the same limit as crashes.
    @Test func workersThatLeftAnUnfinishedJobAreReplacedUpToTheLimit() {
        var s = supervisor { $0.maxWorkerRestarts = 3 }
        let first = s.handle(.workersLeft(count: 2))
        #expect(first.count == 2)
        guard case .warn(let line)? = first.first else {
            Issue.record("expected a warning first: \(first)")
            return
        }
        #expect(line.contains("2 local workers exited before job"), "\(line)")
        #expect(first.last == .replaceExitedWorkers)
        #expect(s.handle(.workersLeft(count: 0)) == [])
        #expect(s.handle(.workersLeft(count: 1)) == [.replaceExitedWorkers], "said once")
        #expect(s.workerRestarts == 3)
        let over = s.handle(.workersCrashed(count: 1, now: 100))
        #expect(s.isDone, "crashes and early exits share the limit: \(over)")
    }

    @Test(arguments: [(Int32(2), "SIGINT"), (Int32(15), "SIGTERM")])
    func aSignalCancelsTheJobAndEndsAsInterrupted(_ signal: Int32, _ name: String) {
        var s = supervisor()
        let actions = s.handle(.signal(signal))
        guard case .cancel(let reason)? = actions.first, case .stop(let error)? = actions.last else {
            Issue.record("expected cancel then stop, got \(actions)")
            return
        }
        #expect(reason.contains(name))
        #expect(error.code == .interrupted(signal))
    }

    @Test func aFinishedJobEndsSupervision() {
        var s = supervisor()
        let done = Self.status(["state": "joined", "done": "4", "ready": "0"])
        #expect(s.handle(.status(done, now: 100)).last == .finished(done))
        #expect(s.isDone)
    }
}
