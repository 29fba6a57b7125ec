import RefoldCoordination
import RefoldRedis
import Testing

/// Every rule of the worker's decisions, without Redis, threads or a clock.
@Suite struct WorkerMachineTests {
    func machine(_ configure: (inout WorkerMachine.Policy) -> Void = { _ in }) -> WorkerMachine {
        var policy = WorkerMachine.Policy()
        configure(&policy)
        return WorkerMachine(policy: policy)
    }

    static let lease = TaskLease(jobID: "j", taskID: "t", token: "1", attempt: 1, deadlineMilliseconds: 0, spec: "")

    struct Ending: Sendable, CustomStringConvertible {
        let ending: WorkerMachine.TaskEnding
        let lost: Bool
        let stopping: Bool
        let decision: WorkerMachine.TaskDecision
        var description: String { "\(ending) lost=\(lost) stopping=\(stopping)" }
    }

    static let endings: [Ending] = [
        // A finished task is always reported: complete.lua decides (stale if the lease moved on).
        Ending(ending: .finished, lost: false, stopping: false, decision: .complete),
        Ending(ending: .finished, lost: true, stopping: true, decision: .complete),
        Ending(ending: .failed(.retry), lost: false, stopping: false, decision: .fail(retryable: true)),
        Ending(ending: .failed(.fatal), lost: false, stopping: false, decision: .fail(retryable: false)),
        // Any other error counts as a failure: a poison task must not loop forever.
        Ending(ending: .otherError, lost: false, stopping: false, decision: .fail(retryable: true)),
        Ending(ending: .otherError, lost: false, stopping: true, decision: .fail(retryable: true)),
        // Not runnable here: handed back with the reason, no attempt spent.
        Ending(ending: .failed(.notHere), lost: false, stopping: false, decision: .release(reasoned: true)),
        // Stopping (SIGTERM): hand back at once for another worker.
        Ending(ending: .abandoned, lost: false, stopping: true, decision: .release(reasoned: false)),
        // A lost lease: the task may be someone else's now; neither fail nor release it.
        Ending(ending: .abandoned, lost: true, stopping: false, decision: .drop),
        Ending(ending: .abandoned, lost: true, stopping: true, decision: .drop),
        Ending(ending: .failed(.retry), lost: true, stopping: false, decision: .drop),
        Ending(ending: .otherError, lost: true, stopping: false, decision: .drop),
        Ending(ending: .failed(.notHere), lost: true, stopping: false, decision: .drop),
    ]

    @Test(arguments: endings)
    func howATaskEndsDecidesWhatHappensToIt(_ case_: Ending) {
        #expect(WorkerMachine.decide(case_.ending, leaseLost: case_.lost, stopping: case_.stopping) == case_.decision)
    }

    @Test func unstartedTasksGoBackWhenStoppingOrWhenNoneCanRunHere() {
        #expect(WorkerMachine.releaseRest(stopping: true, notHereSeen: false))
        #expect(WorkerMachine.releaseRest(stopping: false, notHereSeen: true))
        #expect(!WorkerMachine.releaseRest(stopping: false, notHereSeen: false))
    }

    @Test func jobsAreVisitedOldestFirstSkippingRefusedOnes() {
        var m = machine()
        #expect(m.jobsToVisit(indexed: ["a", "b", "c"], now: 0) == ["a", "b", "c"])
        let r1 = m.refuse("b")
        #expect(r1)
        let r2 = m.refuse("b")
        #expect(!r2, "said once")
        #expect(m.jobsToVisit(indexed: ["a", "b", "c"], now: 100) == ["a", "c"])
    }

    /// A worker started before its job is registered waits for it until its deadline; once
    /// it has seen the job, a missing job means it is gone.
    @Test func anEarlyWorkerAwaitsItsJobUntilSeenOrTheDeadline() {
        var m = machine { $0.onlyJob = "j"; $0.awaitJobUntil = 10 }
        #expect(m.arrival(of: "j", state: nil, now: 5) == .wait)
        #expect(m.arrival(of: "j", state: nil, now: 10) == .gone, "past the deadline: gone")
        #expect(m.arrival(of: "other", state: nil, now: 5) == .gone, "only its own job")
        #expect(m.arrival(of: "j", state: .open, now: 5) == .ready)
        #expect(m.arrival(of: "j", state: nil, now: 5) == .gone, "seen once: a missing job is gone")
        var unbounded = machine { $0.onlyJob = "j" }
        #expect(unbounded.arrival(of: "j", state: nil, now: 0) == .gone, "no deadline: never waits")
    }

    /// The coordinator creates a job as `building`, registers its tasks, then opens it. A
    /// worker that reads it in between must wait: a claim then answers "closed", which a
    /// bound worker took for its job's end and exited 0 — its coordinator waited forever
    /// (a fresh-clone run hung 120 s on it once the workers started during the plan).
    @Test func aJobBeingRegisteredIsWaitedForNeverTakenForItsEnd() {
        var m = machine { $0.onlyJob = "j"; $0.awaitJobUntil = 10 }
        #expect(m.arrival(of: "j", state: .building, now: 5) == .wait)
        #expect(m.arrival(of: "j", state: .building, now: 50) == .wait, "past the deadline too: it exists")
        #expect(m.arrival(of: "j", state: nil, now: 5) == .wait, "building does not count as seen")
        #expect(m.afterClaim("j", .closed(state: .building)) == .next)
        #expect(m.roundEnded(worked: false, awaitingJob: true) == 0.002)
        var unbound = machine()
        #expect(unbound.arrival(of: "k", state: .building, now: 0) == .wait)
        #expect(unbound.afterClaim("k", .closed(state: .building)) == .next)
        for state in [JobState.joined, .failed, .cancelled] {
            #expect(m.arrival(of: "j", state: state, now: 5) == .gone)
        }
    }

    @Test func aBoundWorkerVisitsOnlyItsJobAndStopsWithIt() {
        let m = machine { $0.onlyJob = "j" }
        #expect(m.jobsToVisit(indexed: [], now: 0) == ["j"])
        #expect(m.jobEnded("j"))
        #expect(!m.jobEnded("other"))
        #expect(m.afterClaim("j", .closed(state: .joined)) == .forget(stopWorker: true))
        #expect(machine().afterClaim("j", .missing) == .forget(stopWorker: false))
        #expect(m.afterClaim("j", .leases([], serverMilliseconds: 0)) == .next)
        #expect(m.afterClaim("j", .leases([Self.lease], serverMilliseconds: 0)) == .perform)
    }

    @Test func aJobThatCannotRunHereIsBackedOffFromDoublingToThirtySeconds() {
        var m = machine()
        #expect(m.batchEnded("j", notHere: true, now: 100) == 1)
        #expect(m.jobsToVisit(indexed: ["j", "k"], now: 100.5) == ["k"])
        #expect(m.jobsToVisit(indexed: ["j", "k"], now: 101) == ["j", "k"])
        #expect(m.batchEnded("j", notHere: true, now: 101) == 2)
        #expect(m.batchEnded("j", notHere: true, now: 103) == 4)
        for now in stride(from: 110.0, to: 200, by: 10) { _ = m.batchEnded("j", notHere: true, now: now) }
        #expect(m.batchEnded("j", notHere: true, now: 300) == 30)
        // A batch that ran clears the back-off.
        #expect(m.batchEnded("j", notHere: false, now: 301) == nil)
        #expect(m.jobsToVisit(indexed: ["j"], now: 301) == ["j"])
        #expect(m.batchEnded("j", notHere: true, now: 302) == 1)
    }

    @Test func eachJobIsReapedAtMostOnceASecond() {
        var m = machine()
        let r3 = m.shouldReap("a", now: 10)
        #expect(r3)
        let r4 = m.shouldReap("b", now: 10.1)
        #expect(r4)
        let r5 = m.shouldReap("a", now: 10.9)
        #expect(!r5)
        let r6 = m.shouldReap("a", now: 11)
        #expect(r6)
    }

    @Test func idleRoundsWaitLongerUpToTheCap() {
        var m = machine { $0.maxIdleWait = 0.04 }
        #expect(m.roundEnded(worked: false) == 0.005)
        #expect(m.roundEnded(worked: false) == 0.01)
        #expect(m.roundEnded(worked: false) == 0.02)
        #expect(m.roundEnded(worked: false) == 0.04)
        #expect(m.roundEnded(worked: false) == 0.04)
        #expect(m.roundEnded(worked: true) == 0)
        #expect(m.roundEnded(worked: false) == 0.005)
    }

    @Test func redisMayBeUnavailableForTheToleranceInARow() {
        var m = machine { $0.outageTolerance = 60 }
        let lost = CoordinationError(RedisError(.connectionLost, "lost"))
        #expect(m.redisFailed(lost, now: 0) == .retry(after: 0.05))
        if case .retry(let after) = m.redisFailed(lost, now: 59) { #expect(after == 1) } else { Issue.record("expected a retry") }
        #expect(m.redisFailed(lost, now: 61) == .giveUp)
        // A round that reached Redis resets the clock.
        _ = m.roundEnded(worked: false)
        let again = m.redisFailed(lost, now: 100)
        #expect(again != .giveUp)
        let final = m.redisFailed(CoordinationError(RedisError(.server, "ERR x", serverMessage: "ERR x")), now: 100)
        #expect(final == .giveUp)
    }
}
