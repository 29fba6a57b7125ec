import RefoldRedis
import Testing

/// The pure parts of cluster routing: CRC16, key slots and hash tags, the key a command routes
/// by, the slot map and redirects. (Against a real cluster: `RedisClusterTests`.)
@Suite struct ClusterSlotsTests {
    @Test func crc16MatchesRedisOwnTestVector() {
        // src/crc16.c: "123456789" → 0x31C3 (CRC16-CCITT, XMODEM).
        #expect(ClusterSlots.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(ClusterSlots.crc16([UInt8]()) == 0)
    }

    @Test func keySlotsMatchTheClusterSpecification() {
        // From the CLUSTER KEYSLOT documentation and the cluster specification.
        #expect(ClusterSlots.slot(of: "somekey") == 11058)
        #expect(ClusterSlots.slot(of: "foo{hash_tag}") == 2515)
        #expect(ClusterSlots.slot(of: "bar{hash_tag}") == 2515)
        #expect(ClusterSlots.slot(of: "foo") == 12182)
        // Hash tags: the first "{…}" with something inside.
        #expect(ClusterSlots.slot(of: "{user1000}.following") == ClusterSlots.slot(of: "{user1000}.followers"))
        #expect(ClusterSlots.slot(of: "foo{}{bar}") == Int(ClusterSlots.crc16(Array("foo{}{bar}".utf8)) & 0x3FFF))
        #expect(ClusterSlots.slot(of: "foo{{bar}}zap") == ClusterSlots.slot(of: "{bar"))
        #expect(ClusterSlots.slot(of: "foo{bar}{zap}") == ClusterSlots.slot(of: "bar"))
        #expect(ClusterSlots.slot(of: "no{close") == Int(ClusterSlots.crc16(Array("no{close".utf8)) & 0x3FFF))
        // A job's keys share one slot.
        let job = "rebuild-order_summary-1a2b3c4d"
        #expect(Set(["refold:{\(job)}:job", "refold:{\(job)}:ready", "refold:{\(job)}:leases"].map { ClusterSlots.slot(of: $0) }).count == 1)
    }

    @Test func commandsRouteByTheirKeyAndScriptsByTheirFirstKey() {
        #expect(ClusterSlots.routingKey(RedisCommand("GET", "k1")) == Array("k1".utf8))
        #expect(ClusterSlots.routingKey(RedisCommand("hset", "h", "f", "v")) == Array("h".utf8))
        #expect(ClusterSlots.routingKey(RedisCommand("EVALSHA", "abc", 2, "{j}:a", "{j}:b", "arg")) == Array("{j}:a".utf8))
        #expect(ClusterSlots.routingKey(RedisCommand("EVALSHA_RO", "abc", 0, "arg")) == nil)
        #expect(ClusterSlots.routingKey(RedisCommand("PING")) == nil)
        #expect(ClusterSlots.routingKey(RedisCommand("PUBLISH", "refold:rows:x", "id 3")) == nil)
        #expect(ClusterSlots.routingKey(RedisCommand("SCRIPT", "LOAD", "return 1")) == nil)
        #expect(ClusterSlots.slot(of: RedisCommand("ZADD", "refold:history", 1, "job")) == ClusterSlots.slot(of: "refold:history"))
    }

    static func node(_ host: String, _ port: Int64) -> RedisReply { .array([.bulk(Array(host.utf8)), .integer(port), .bulk(Array("id".utf8))]) }

    @Test func theSlotMapComesFromClusterSlots() throws {
        let reply = RedisReply.array([
            .array([.integer(0), .integer(5460), Self.node("127.0.0.1", 7000), Self.node("127.0.0.1", 7003)]),
            .array([.integer(5461), .integer(10922), Self.node("127.0.0.1", 7001), Self.node("127.0.0.1", 7004)]),
            .array([.integer(10923), .integer(16383), Self.node("", 7002)]),
        ])
        let map = try ClusterSlotMap(clusterSlots: reply, fallbackHost: "10.0.0.9")
        #expect(map.coveredSlots == 16384)
        #expect(map.master(of: 0) == ClusterNode(host: "127.0.0.1", port: 7000))
        #expect(map.master(of: 5461) == ClusterNode(host: "127.0.0.1", port: 7001))
        // An empty host means "the node you asked".
        #expect(map.master(of: 16383) == ClusterNode(host: "10.0.0.9", port: 7002))
        #expect(map.masters.count == 3 && map.replicas[0] == [ClusterNode(host: "127.0.0.1", port: 7003)])

        var moved = map
        moved.move(slot: 42, to: ClusterNode(host: "127.0.0.1", port: 7001))
        #expect(moved.master(of: 42) == ClusterNode(host: "127.0.0.1", port: 7001) && moved.master(of: 41) == map.master(of: 41))

        let partial = try ClusterSlotMap(clusterSlots: .array([.array([.integer(0), .integer(99), Self.node("h", 1)])]), fallbackHost: "x")
        #expect(partial.coveredSlots == 100 && partial.master(of: 100) == nil)
        #expect(throws: RedisError.self) { try ClusterSlotMap(clusterSlots: .array([.array([.integer(5), .integer(2), Self.node("h", 1)])]), fallbackHost: "x") }
        #expect(throws: RedisError.self) { try ClusterSlotMap(clusterSlots: .integer(3), fallbackHost: "x") }
    }

    @Test func redirectsAreParsed() {
        #expect(ClusterRedirect("MOVED 3999 127.0.0.1:6381") == ClusterRedirect(kind: .moved, slot: 3999, node: ClusterNode(host: "127.0.0.1", port: 6381)))
        #expect(ClusterRedirect("ASK 3999 127.0.0.1:6381") == ClusterRedirect(kind: .ask, slot: 3999, node: ClusterNode(host: "127.0.0.1", port: 6381)))
        #expect(ClusterRedirect("MOVED 12 ::1:7000")?.node == ClusterNode(host: "::1", port: 7000))
        #expect(ClusterRedirect("MOVED 16384 h:1") == nil)
        #expect(ClusterRedirect("ERR wrong number of arguments") == nil)
        #expect(ClusterRedirect("TRYAGAIN Multiple keys request during rehashing of slot") == nil)
    }

    @Test func aURLMayListSeveralSeedNodes() throws {
        let url = try RedisURL(parsing: "redis://:pw@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002")
        #expect(url.endpoints == [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 7001), .tcp(host: "::1", port: 7002)])
        #expect(url.password == "pw" && url.database == 0)
        #expect(url.description == "redis://:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0")
        #expect(throws: RedisError.self) { try RedisURL(parsing: "redis://10.0.0.1:7000,") }
    }
}
