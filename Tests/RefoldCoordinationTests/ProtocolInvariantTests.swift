import Foundation
import RefoldCoordination
import RefoldProcess
import RefoldRedis
import RefoldTestSupport
import Testing

@Suite(.serialized) struct ProtocolInvariantTests {
    /// Random interleavings of claim / complete (also repeated and stale) / fail / reap /
    /// heartbeat / expiry across several clients; afterwards every task is done or dead exactly
    /// once, each done task was counted by exactly one completion, and the join fired once.
    @Test(arguments: [1, 7, 42, 2024, 99_991] as [UInt64])
    func randomInterleavingsResolveEveryTaskExactlyOnce(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)  // deterministic: a failing seed can be replayed
        let url = try TestRedis.url()
        let clients = try (0..<4).map { _ in try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url))) }
        let job = "inv-\(seed)-\(UUID().uuidString.prefix(6))"
        let total = 60
        try clients[0].fork(
            jobID: job,
            settings: JobSettings(maxAttempts: 3, leaseMilliseconds: 300, backoffMilliseconds: 1, onDeadTask: .joinWithFailures, retentionMilliseconds: 600_000, payload: "{}"),
            tasks: (0..<total).map { TaskDefinition(id: "t\($0)", spec: "") })

        var held: [[TaskLease]] = Array(repeating: [], count: 6)
        var counted: [String: Int] = [:]
        var fired = 0
        func record(_ reply: CompletionReply, _ completed: [TaskLease]) {
            if reply.fired { fired += 1 }
            for (lease, outcome) in zip(completed, reply.outcomes) where outcome == .done {
                counted[lease.taskID, default: 0] += 1
            }
        }

        for _ in 0..<2500 {
            let worker = Int.random(in: 0..<held.count, using: &random)
            let client = clients[worker % clients.count]
            let name = "w\(worker)"
            switch Int.random(in: 0..<9, using: &random) {
            case 0, 1:
                // Some claims get a 1 ms lease, so they expire and are reaped under the holder.
                let lease = Bool.random(using: &random) ? 1 : 0
                if case .leases(let got, _) = try client.claim(jobID: job, worker: name, count: Int.random(in: 1...4, using: &random), leaseMilliseconds: lease) {
                    held[worker] += got
                }
            case 2, 3:
                guard let index = held[worker].indices.randomElement(using: &random) else { continue }
                let lease = held[worker][index]
                if Int.random(in: 0..<3, using: &random) > 0 { held[worker].remove(at: index) }  // else: complete it again later
                record(try client.complete(jobID: job, worker: name, completions: [TaskCompletion(lease: lease, events: 1, result: "")]), [lease])
            case 4:
                guard let index = held[worker].indices.randomElement(using: &random) else { continue }
                let lease = held[worker].remove(at: index)
                if case .dead(_, true) = try client.fail(lease: lease, worker: name, retryable: Int.random(in: 0..<10, using: &random) > 0, error: "random failure") {
                    fired += 1
                }
            case 5:
                if try client.reap(jobID: job).fired { fired += 1 }
            case 6:
                let leases = held[worker].filter { $0.jobID == job }
                if case .renewed(let lost) = try client.heartbeat(jobID: job, worker: name, leases: leases.map { ($0, 1) }) {
                    held[worker].removeAll { lost.contains($0.taskID) }
                }
            case 7:
                // A forged token is always rejected.
                guard let lease = held[worker].randomElement(using: &random) else { continue }
                let forged = TaskLease(jobID: job, taskID: lease.taskID, token: "1", attempt: lease.attempt, deadlineMilliseconds: 0, spec: "")
                let reply = try client.complete(jobID: job, worker: name, completions: [TaskCompletion(lease: forged, events: 1, result: "")])
                #expect(reply.outcomes == [.stale] || reply.outcomes == [.closed])
            default:
                // A worker crashes: it forgets everything it held.
                held[worker].removeAll()
            }
        }

        // Drain: the remaining tasks finish on fresh, long leases.
        try Deadline.wait(seconds: 30, "job \(job) to finish") {
            if try clients[0].reap(jobID: job).fired { fired += 1 }
            if case .leases(let got, _) = try clients[0].claim(jobID: job, worker: "drain", count: 50), !got.isEmpty {
                record(try clients[0].complete(jobID: job, worker: "drain", completions: got.map { TaskCompletion(lease: $0, events: 1, result: "") }), got)
            }
            return try clients[0].status(jobID: job)?.isFinished == true
        }

        let status = try #require(try clients[0].status(jobID: job))
        let results = Set(try clients[0].results(jobID: job).map(\.taskID))
        let dead = Set(try clients[0].deadTasks(jobID: job).map(\.taskID))
        #expect(status.state == .joined)
        #expect(status.retries > 0, "the run should have exercised expiry and retries")
        #expect(fired == 1)
        #expect(try clients[0].redis.send(RedisCommand("LLEN", JobKeys(jobID: job).signal)) == .integer(1))
        #expect(results.isDisjoint(with: dead))
        #expect(results.count + dead.count == total)
        #expect(status.done == results.count && status.dead == dead.count)
        #expect(counted.keys.sorted() == results.sorted())
        #expect(counted.values.allSatisfy { $0 == 1 })
        let states = try clients[0].redis.send(RedisCommand("HVALS", JobKeys(jobID: job).all[2])).array?.compactMap(\.string) ?? []
        #expect(states.count == total && states.allSatisfy { $0 == "done" || $0 == "dead" })
    }

    /// The protocol from redis-cli alone (docs/examples/fork-join-with-redis-cli.sh).
    @Test func redisCLIOnlyForkClaimCompleteStatus() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let output = try TemporaryDirectory.make().appendingPathComponent("out.txt")
        let job = "cli-\(UUID().uuidString.prefix(8))"
        let child = try ChildProcess(
            executable: "/bin/bash",
            arguments: [root.appendingPathComponent("docs/examples/fork-join-with-redis-cli.sh").path, try TestRedis.url(), job],
            standardOutput: .file(output.path), standardError: .file(output.path + ".err"))
        let exit = child.wait(timeout: 30)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOf: URL(fileURLWithPath: output.path + ".err"), encoding: .utf8)) ?? ""
        #expect(exit == ExitStatus(code: 0, signal: nil), "stderr: \(errors)")
        #expect(text.contains("state joined"))
        #expect(text.contains("total 2"))
        #expect(text.contains("done 2"))
        #expect(text.contains("events_done 20"))
        let status = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: TestRedis.url()))).status(jobID: job)
        #expect(status?.state == .joined)
        #expect(status?.done == 2)
    }
}
