import Foundation
import RefoldRedis
import RefoldTestSupport
import Testing

@Suite(.serialized) struct RedisConnectionTests {
    func connect(_ url: String? = nil, scripts: [RedisScript] = [], commandTimeout: Double = 5) throws -> RedisConnection {
        let text = try url ?? TestRedis.url()
        return try RedisConnection(RedisConfiguration(url: RedisURL(parsing: text), commandTimeout: commandTimeout), scripts: scripts)
    }

    @Test func binaryStringsRoundTrip() throws {
        let redis = try connect()
        let key = TestRedis.uniquePrefix() + ":bin\u{0}key"
        let value: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 0xC3, 0x28, 0, 0x80, 10, 13]
        try redis.send(RedisCommand("SET", key, value))
        #expect(try redis.send(RedisCommand("GET", key)) == .bulk(value))
        #expect(try redis.send(RedisCommand("STRLEN", key)) == .integer(Int64(value.count)))
        try redis.send(RedisCommand("DEL", key))
    }

    @Test func pipelineOfTenThousandRepliesInOrder() throws {
        let redis = try connect()
        let key = TestRedis.uniquePrefix()
        let commands = (0..<10_000).map { _ in RedisCommand("INCR", key) }
        let replies = try redis.pipeline(commands)
        #expect(replies.count == 10_000)
        #expect(replies == (1...10_000).map { RedisReply.integer(Int64($0)) })
        try redis.send(RedisCommand("DEL", key))
    }

    @Test func errorRepliesAreTypedWithTheServerMessage() throws {
        let redis = try connect()
        let key = TestRedis.uniquePrefix()
        try redis.send(RedisCommand("SET", key, "text"))
        let error = #expect(throws: RedisError.self) { try redis.send(RedisCommand("INCR", key)) }
        #expect(error?.code == .server)
        #expect(error?.serverMessage == "ERR value is not an integer or out of range")
        #expect(error?.message.contains("rejected INCR") == true)
        // The connection is still usable, and pipelines return errors in place.
        let replies = try redis.pipeline([RedisCommand("INCR", key), RedisCommand("GET", key)])
        #expect(replies[0].errorText?.hasPrefix("ERR") == true)
        #expect(replies[1] == .bulk(Array("text".utf8)))
        try redis.send(RedisCommand("DEL", key))
    }

    @Test func evalshaSurvivesScriptFlush() throws {
        let script = RedisScript(name: "echo", source: "return 'echo:' .. ARGV[1]")
        // A server of its own: flushing the shared one's scripts would disturb other tests.
        let server = try RedisTestServer()
        let redis = try connect(server.url, scripts: [script])
        #expect(try redis.evalScript("echo", keys: [], arguments: ["a"]).string == "echo:a")
        // A second connection flushes the script cache behind the first one's back.
        let other = try connect(server.url)
        try other.send(RedisCommand("SCRIPT", "FLUSH"))
        #expect(try redis.evalScript("echo", keys: [], arguments: ["b"]).string == "echo:b")
    }

    @Test func unknownScriptIsATypedError() throws {
        let redis = try connect()
        #expect(throws: RedisError.self) { try redis.evalScript("nope", keys: [], arguments: []) }
    }

    @Test func reconnectsAfterServerRestartOnSamePort() throws {
        let server = try RedisTestServer()
        let script = RedisScript(name: "one", source: "return 1")
        let redis = try connect(server.url, scripts: [script])
        try redis.send(RedisCommand("SET", "k", "v"))
        #expect(redis.connectCount == 1)
        server.stop()
        try server.start()
        // The closed socket is noticed before sending: no error, a fresh connection, scripts reloaded.
        #expect(try redis.send(RedisCommand("PING")) == .status("PONG"))
        #expect(redis.connectCount == 2)
        #expect(try redis.evalScript("one", keys: [], arguments: []) == .integer(1))
    }

    @Test func stoppedServerFailsFastWithAClearError() throws {
        let server = try RedisTestServer()
        let port = server.port
        let redis = try connect(server.url, commandTimeout: 1)
        server.stop()
        let start = Date()
        let error = #expect(throws: RedisError.self) { try redis.send(RedisCommand("PING")) }
        #expect(error?.code == .unreachable)
        #expect(error?.message == "could not reach Redis at 127.0.0.1:\(port): connection refused — is redis-server running there?")
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func hungServerTimesOutWithinCommandTimeout() throws {
        let server = try RedisTestServer()
        let redis = try connect(server.url, commandTimeout: 0.5)
        server.pause(true)
        defer { server.pause(false) }
        let start = Date()
        let error = #expect(throws: RedisError.self) { try redis.send(RedisCommand("PING")) }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("did not answer PING within 500ms") == true)
        #expect(Date().timeIntervalSince(start) < 1.5)
        server.pause(false)
        #expect(try redis.send(RedisCommand("PING")) == .status("PONG"))
    }

    @Test func wrongPasswordIsRefusedWithoutLeakingIt() throws {
        let server = try RedisTestServer()
        let admin = try connect(server.url)
        try admin.send(RedisCommand("CONFIG", "SET", "requirepass", "right-one"))
        let error = #expect(throws: RedisError.self) { try connect("redis://:wrong-secret@127.0.0.1:\(server.port)") }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("wrong-secret") == false)
        let good = try connect("redis://:right-one@127.0.0.1:\(server.port)/2")
        #expect(try good.send(RedisCommand("PING")) == .status("PONG"))
    }
}
