import RefoldCoordination
import RefoldRedis
import Testing

/// Every script's arguments and reply parser, without a server.
@Suite struct ProtocolScriptTests {
    func reply(_ parts: String...) -> RedisReply {
        .array(parts.map { .bulk(Array($0.utf8)) })
    }

    let lease = TaskLease(jobID: "j", taskID: "a", token: "11", attempt: 1, deadlineMilliseconds: 2000, spec: "")

    @Test func claimWithLeases() throws {
        let claim = ClaimScript(jobID: "j", worker: "w", count: 2)
        #expect(ClaimScript.name == "claim" && !ClaimScript.readOnly)
        #expect(claim.arguments.map(\.redisBytes) == ["w", "2", "0"].map { Array($0.utf8) })
        let outcome = try claim.reply(reply("ok", "1000", "2", "a", "11", "1", "2000", "spec-a", "b", "12", "3", "2000", ""))
        #expect(outcome == .leases([
            TaskLease(jobID: "j", taskID: "a", token: "11", attempt: 1, deadlineMilliseconds: 2000, spec: "spec-a"),
            TaskLease(jobID: "j", taskID: "b", token: "12", attempt: 3, deadlineMilliseconds: 2000, spec: ""),
        ], serverMilliseconds: 1000))
    }

    @Test func claimClosedMissingAndMalformed() throws {
        let claim = ClaimScript(jobID: "j", worker: "w", count: 1)
        #expect(try claim.reply(reply("closed", "cancelled")) == .closed(state: .cancelled))
        #expect(try claim.reply(reply("missing")) == .missing)
        #expect(throws: CoordinationError.self) { try claim.reply(reply("ok", "1", "2", "a")) }
        #expect(throws: CoordinationError.self) { try claim.reply(.integer(1)) }
        // A state this client does not know is a protocol mismatch, not a guess.
        #expect(throws: CoordinationError.self) { try claim.reply(reply("closed", "paused")) }
    }

    @Test func heartbeatShapes() throws {
        let beat = HeartbeatScript(jobID: "j", worker: "w", leases: [(lease, 5)])
        #expect(beat.arguments.map(\.redisBytes) == ["w", "0", "1", "a", "11", "5"].map { Array($0.utf8) })
        #expect(try beat.reply(reply("ok", "5", "1", "t3")) == .renewed(lost: ["t3"]))
        #expect(try beat.reply(reply("ok", "5", "0")) == .renewed(lost: []))
        #expect(try beat.reply(reply("cancelled", "5", "1", "t1")) == .cancelled)
        #expect(try beat.reply(reply("closed", "5", "1", "t1", "joined")) == .closed(state: .joined))
        #expect(try beat.reply(reply("missing")) == .closed(state: nil))
    }

    @Test func completeShapes() throws {
        let complete = CompleteScript(jobID: "j", worker: "w", completions: [TaskCompletion(lease: lease, events: 3, result: "{}")])
        #expect(complete.arguments.map(\.redisBytes) == ["w", "1", "a", "11", "3", "{}"].map { Array($0.utf8) })
        #expect(try complete.reply(reply("joined", "1", "2", "done", "duplicate")) == CompletionReply(jobState: .joined, fired: true, outcomes: [.done, .duplicate]))
        #expect(throws: CoordinationError.self) { try complete.reply(reply("open", "0", "1", "weird")) }
        #expect(throws: CoordinationError.self) { try complete.reply(reply("missing")) }
    }

    @Test func failReleaseAndReapShapes() throws {
        let fail = FailScript(lease: lease, worker: "w", retryable: false, error: "boom")
        #expect(fail.jobID == "j")
        #expect(fail.arguments.map(\.redisBytes) == ["w", "a", "11", "fatal", "boom"].map { Array($0.utf8) })
        #expect(try fail.reply(reply("retry", "open", "0", "400")) == .retry(delayMilliseconds: 400))
        #expect(try fail.reply(reply("dead", "failed", "1")) == .dead(jobState: .failed, fired: true))
        #expect(try fail.reply(reply("stale")) == .stale)
        let release = ReleaseScript(lease: lease, reason: "no file here")
        #expect(release.arguments.count == 3)
        #expect(ReleaseScript(lease: lease).arguments.count == 2)
        #expect(try release.reply(reply("released")) == .released)
        #expect(try release.reply(reply("closed", "joined")) == .closed(.joined))
        let reap = ReapScript(jobID: "j")
        #expect(try reap.reply(reply("open", "0", "3", "1")) == .reaped(requeued: 3, dead: 1, finished: nil))
        #expect(try reap.reply(reply("joined", "1", "0", "1")).fired)
        #expect(try reap.reply(reply("closed", "cancelled")) == .closed(.cancelled))
    }

    @Test func forkRegisterSealCancelDropShapes() throws {
        let fork = ForkScript(jobID: "j", settings: JobSettings(maxAttempts: 3, leaseMilliseconds: 100, backoffMilliseconds: 5, onDeadTask: .failJob, retentionMilliseconds: 9, payload: "p"))
        #expect(fork.arguments.map(\.redisBytes) == ["j", "1", "3", "100", "5", "fail", "9", "p"].map { Array($0.utf8) })
        #expect(try fork.reply(reply("ok")) == .created)
        #expect(try fork.reply(reply("exists", "open")) == .exists(.open))
        let register = RegisterScript(jobID: "j", tasks: [TaskDefinition(id: "a", spec: "x")])
        #expect(register.arguments.map(\.redisBytes) == ["1", "a", "x"].map { Array($0.utf8) })
        #expect(try register.reply(reply("ok", "7")) == .registered(7))
        #expect(try SealScript(jobID: "j", taskCount: 7, eventsTotal: 70).reply(reply("incomplete", "6")) == .incomplete(registered: 6))
        #expect(try CancelScript(jobID: "j", reason: "r").reply(reply("closed", "joined")) == .closed(.joined))
        #expect(try DropScript(jobID: "j").reply(reply("active", "open")) == .active(.open))
    }

    @Test func statusFields() throws {
        #expect(StatusScript.readOnly)
        let status = try #require(try StatusScript(jobID: "j").reply(
            reply("ok", "state", "open", "total", "10", "done", "4", "events_total", "100", "events_done", "40",
                  "created_ms", "1000", "sealed_ms", "", "ready", "3", "leased", "3", "delayed", "0", "now_ms", "5000")))
        #expect(status.state == .open)
        #expect(status.total == 10 && status.done == 4 && status.ready == 3)
        #expect(status.eventsDone == 40)
        #expect(status.sealedMilliseconds == nil)
        #expect(status.ageMilliseconds == 4000)
        #expect(!status.isFinished)
        #expect(try StatusScript(jobID: "j").reply(reply("missing")) == nil)
    }

    @Test func recordsFromJSON() throws {
        let result = try TaskResult(taskID: "t", record: Array(#"{"worker":"w","token":"9","attempt":"2","started_ms":"10","finished_ms":"1510","events":"7","result":"{}"}"#.utf8))
        #expect(result.worker == "w" && result.attempt == 2 && result.events == 7)
        #expect(result.seconds == 1.5)
        let dead = try DeadTask(taskID: "t", record: Array(#"{"error":"boom","attempt":"3","worker":"w"}"#.utf8))
        #expect(dead == DeadTask(taskID: "t", attempts: 3, worker: "w", error: "boom"))
        #expect(throws: CoordinationError.self) { try DeadTask(taskID: "t", record: Array("nope".utf8)) }
    }

    @Test func jobAndTaskStates() {
        #expect(JobState.allCases.filter(\.isFinished) == [.joined, .failed, .cancelled])
        #expect(TaskState(rawValue: "leased") == .leased)
    }
}
