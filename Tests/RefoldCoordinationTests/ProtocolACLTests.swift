import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldTestSupport
import Testing

/// The Redis ACL of docs/PROTOCOL.md ("Trust"): other services may read jobs, only Refold's
/// own user may claim, complete and fork.
@Suite(.serialized) struct ProtocolACLTests {
    /// The exact lines docs/PROTOCOL.md gives (a test keeps them in step with the document).
    static let refoldUser = "ACL SETUSER refold on >refold-secret resetkeys ~refold:* resetchannels &refold:* -@all +@read +@write +@scripting +@connection +@transaction +time +publish -@dangerous +info"
    static let requesterUser = "ACL SETUSER requester on >requester-secret resetkeys %R~refold:* ~refold:{requests:* resetchannels -@all +@read +@write +@connection +time +evalsha_ro +evalsha +script|load"
    static let readerUser = "ACL SETUSER app on >app-secret resetkeys %R~refold:* resetchannels -@all +@read +@connection +time +evalsha_ro +script|load"

    func client(_ url: String) throws -> CoordinationClient {
        try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: url)))
    }

    @Test func theDocumentedACLLetsServicesReadAndOnlyRefoldWork() throws {
        let protocolDoc = try String(contentsOf: LuaScriptsTests.luaDirectory.deletingLastPathComponent().appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        #expect(protocolDoc.contains(Self.refoldUser))
        #expect(protocolDoc.contains(Self.readerUser))
        #expect(protocolDoc.contains(Self.requesterUser))
        let server = try RedisTestServer()
        let admin = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: server.url)))
        for line in [Self.refoldUser, Self.readerUser, Self.requesterUser] {
            try admin.send(RedisCommand("ACL", arguments: line.split(separator: " ").dropFirst().map(String.init)))
        }
        let refold = try client("redis://refold:refold-secret@127.0.0.1:\(server.port)")
        let app = try client("redis://app:app-secret@127.0.0.1:\(server.port)")
        let job = "acl-\(UUID().uuidString.prefix(8))"
        let tasks = [TaskDefinition(id: "a", spec: "x"), TaskDefinition(id: "b", spec: "y")]
        try refold.fork(jobID: job, settings: JobSettings(payload: #"{"kind":"noop"}"#), tasks: tasks)

        // The service reads the job and the index…
        #expect(try app.status(jobID: job)?.total == 2)
        #expect(try app.indexedJobs() == [job])
        // …but cannot claim, complete, cancel or fork, and nothing changes when it tries.
        #expect { try app.claim(jobID: job, worker: "intruder", count: 1) } throws: { "\($0)".contains("NOPERM") }
        #expect { try app.cancel(jobID: job, reason: "x") } throws: { "\($0)".contains("NOPERM") }
        #expect { try app.fork(jobID: "other-\(job)", settings: JobSettings(payload: "{}"), tasks: tasks) } throws: { "\($0)".contains("NOPERM") }
        #expect(try refold.status(jobID: job)?.ready == 2)

        // Refold's own user does the whole fork-join.
        guard case .leases(let leases, _) = try refold.claim(jobID: job, worker: "w", count: 2) else {
            Issue.record("refold could not claim")
            return
        }
        let reply = try refold.complete(jobID: job, worker: "w", completions: leases.map { TaskCompletion(lease: $0, events: 1, result: "ok") })
        #expect(reply.fired && reply.jobState == .joined)
        #expect(try app.status(jobID: job)?.state == .joined)

        // A requester sends requests, and still cannot work tasks.
        let requester = try client("redis://requester:requester-secret@127.0.0.1:\(server.port)")
        #expect(try requester.run(ReplayRequestScript(projection: "order_summary", kind: .catchup)) == .queued("catchup-order_summary-1"))
        let other = "acl2-\(UUID().uuidString.prefix(8))"
        try refold.fork(jobID: other, settings: JobSettings(payload: #"{"kind":"noop"}"#), tasks: tasks)
        #expect { try requester.claim(jobID: other, worker: "intruder", count: 1) } throws: { "\($0)".contains("NOPERM") }
        #expect(try refold.status(jobID: other)?.ready == 2)
        #expect { try app.run(ReplayRequestScript(projection: "order_summary", kind: .catchup)) } throws: { "\($0)".contains("NOPERM") }
    }
}
