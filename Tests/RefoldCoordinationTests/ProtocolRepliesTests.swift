import RefoldCoordination
import RefoldRedis
import Testing

@Suite struct ProtocolRepliesTests {
    func reply(_ parts: String...) -> RedisReply {
        .array(parts.map { .bulk(Array($0.utf8)) })
    }

    @Test func claimWithLeases() throws {
        let outcome = try ProtocolReplies.claim(reply("ok", "1000", "2", "a", "11", "1", "2000", "spec-a", "b", "12", "3", "2000", ""), jobID: "j")
        #expect(outcome == .leases([
            TaskLease(jobID: "j", taskID: "a", token: "11", attempt: 1, deadlineMilliseconds: 2000, spec: "spec-a"),
            TaskLease(jobID: "j", taskID: "b", token: "12", attempt: 3, deadlineMilliseconds: 2000, spec: ""),
        ], serverMilliseconds: 1000))
    }

    @Test func claimClosedMissingAndMalformed() throws {
        #expect(try ProtocolReplies.claim(reply("closed", "cancelled"), jobID: "j") == .closed(state: "cancelled"))
        #expect(try ProtocolReplies.claim(reply("missing"), jobID: "j") == .missing)
        #expect(throws: CoordinationError.self) { try ProtocolReplies.claim(reply("ok", "1", "2", "a"), jobID: "j") }
        #expect(throws: CoordinationError.self) { try ProtocolReplies.claim(.integer(1), jobID: "j") }
    }

    @Test func heartbeatShapes() throws {
        #expect(try ProtocolReplies.heartbeat(reply("ok", "5", "1", "t3")) == .renewed(lost: ["t3"]))
        #expect(try ProtocolReplies.heartbeat(reply("ok", "5", "0")) == .renewed(lost: []))
        #expect(try ProtocolReplies.heartbeat(reply("cancelled", "5", "1", "t1")) == .cancelled)
        #expect(try ProtocolReplies.heartbeat(reply("closed", "5", "1", "t1", "joined")) == .closed(state: "joined"))
    }

    @Test func completeShapes() throws {
        let parsed = try ProtocolReplies.complete(reply("joined", "1", "2", "done", "duplicate"))
        #expect(parsed == CompletionReply(jobState: "joined", fired: true, outcomes: [.done, .duplicate]))
        #expect(throws: CoordinationError.self) { try ProtocolReplies.complete(reply("open", "0", "1", "weird")) }
        #expect(throws: CoordinationError.self) { try ProtocolReplies.complete(reply("missing")) }
    }

    @Test func failAndReapShapes() throws {
        #expect(try ProtocolReplies.fail(reply("retry", "open", "0", "400")) == .retry(delayMilliseconds: 400))
        #expect(try ProtocolReplies.fail(reply("dead", "failed", "1")) == .dead(jobState: "failed", fired: true))
        #expect(try ProtocolReplies.fail(reply("stale")) == .stale)
        #expect(try ProtocolReplies.reap(reply("open", "0", "3", "1")) == ReapOutcome(jobState: "open", fired: false, requeued: 3, dead: 1))
    }

    @Test func statusFields() throws {
        let status = try #require(try ProtocolReplies.status(
            reply("ok", "state", "open", "total", "10", "done", "4", "events_total", "100", "events_done", "40",
                  "created_ms", "1000", "sealed_ms", "", "ready", "3", "leased", "3", "delayed", "0", "now_ms", "5000"),
            jobID: "j"))
        #expect(status.state == "open")
        #expect(status.total == 10 && status.done == 4 && status.ready == 3)
        #expect(status.eventsDone == 40)
        #expect(status.sealedMilliseconds == nil)
        #expect(status.ageMilliseconds == 4000)
        #expect(!status.isFinished)
        #expect(try ProtocolReplies.status(reply("missing"), jobID: "j") == nil)
    }

    @Test func recordsFromJSON() throws {
        let result = try ProtocolReplies.taskResult(taskID: "t", json: Array(#"{"worker":"w","token":"9","attempt":"2","started_ms":"10","finished_ms":"1510","events":"7","result":"{}"}"#.utf8))
        #expect(result.worker == "w" && result.attempt == 2 && result.events == 7)
        #expect(result.seconds == 1.5)
        let dead = try ProtocolReplies.deadTask(taskID: "t", json: Array(#"{"error":"boom","attempt":"3","worker":"w"}"#.utf8))
        #expect(dead == DeadTask(taskID: "t", attempts: 3, worker: "w", error: "boom"))
    }
}
