import Foundation
import RefoldProcess
import RefoldRedis
import RefoldTesting

/// A private Redis Cluster for tests: `masters` masters with `replicasPerMaster` replicas each,
/// every node a `RedisTestServer` on a free loopback port in its own temporary folder, joined
/// with `redis-cli --cluster create`. Node timeout 1 s, so a killed master's replica takes
/// over within a few seconds. Stopped on `stop()` and on deinit.
///
/// ```swift
/// let cluster = try RedisTestCluster()
/// let result = try RefoldRun.run(["rebuild", "order_summary", "--events", path, "--redis", cluster.url])
/// ```
public final class RedisTestCluster: Sendable {
    public let nodes: [RedisTestServer]

    public init(masters: Int = 3, replicasPerMaster: Int = 1) throws {
        let settings = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                        "--cluster-replica-validity-factor", "0", "--appendonly", "yes", "--appendfsync", "everysec"]
        var started: [RedisTestServer] = []
        for _ in 0..<(masters * (1 + replicasPerMaster)) {
            // The bus port defaults to port + 10000, past 65535 for a high free port: name one.
            started.append(try RedisTestServer(settings: settings + ["--cluster-port", String(try FreePort.find())]))
        }
        nodes = started
        let create = try ChildProcess(
            executable: try Programs.find("redis-cli").path,
            arguments: ["--cluster", "create"] + started.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "\(replicasPerMaster)", "--cluster-yes"],
            standardOutput: .file(started[0].directory.appendingPathComponent("create.log").path), standardError: .null)
        guard create.wait(timeout: 120)?.code == 0 else {
            let log = (try? String(contentsOf: started[0].directory.appendingPathComponent("create.log"), encoding: .utf8)) ?? ""
            throw TestingError("redis-cli --cluster create failed:\n\(log.suffix(2000))")
        }
        try waitUntilHealthy(masters: masters, replicas: masters * replicasPerMaster)
    }

    deinit { stop() }

    /// Seed URL: every node, comma-separated (any one that answers is enough).
    public var url: String { "redis://" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }

    /// Waits until every running node says `cluster_state:ok`, serves all slots, knows
    /// `masters` masters and `replicas` replicas, and every replica's link to its master is up.
    public func waitUntilHealthy(masters: Int, replicas: Int, seconds: Double = 60, except: Set<Int> = []) throws {
        try Deadline.wait(seconds: seconds, "the Redis Cluster to agree on \(masters) masters and \(replicas) replicas") {
            for node in nodes where !except.contains(node.port) {
                guard let connection = try? RedisConnection(RedisConfiguration(url: RedisURL(parsing: "redis://127.0.0.1:\(node.port)")), routing: .thisNodeOnly),
                      let info = try? connection.send(RedisCommand("CLUSTER", "INFO")).string,
                      info.contains("cluster_state:ok"), info.contains("cluster_slots_ok:16384"),
                      let listed = try? connection.send(RedisCommand("CLUSTER", "NODES")).string else { return false }
                let lines = listed.split(separator: "\n").filter { !$0.contains("fail") }
                if lines.filter({ $0.contains("master") }).count != masters || lines.filter({ $0.contains("slave") }).count != replicas { return false }
                // A replica counts once its copy is in sync: one promoted before would start empty.
                guard let replication = try? connection.send(RedisCommand("INFO", "replication")).string else { return false }
                if replication.contains("role:slave") && !replication.contains("master_link_status:up") { return false }
            }
            return true
        }
    }

    /// The node serving `key`'s slot now.
    public func master(ofKey key: String) throws -> RedisTestServer {
        let connection = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: url)))
        guard let address = try connection.master(ofKey: key), let node = nodes.first(where: { $0.port == address.port }) else {
            throw TestingError("no master serves \(key)")
        }
        return node
    }

    public func stop() {
        for node in nodes { node.stop() }
    }
}

