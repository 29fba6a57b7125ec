import Foundation

/// A synchronous Redis client for one server or a whole Redis Cluster, over hiredis.
///
/// The same URL works for both: on connecting, the client asks the server (`CLUSTER SLOTS`)
/// whether it is part of a cluster. A single server gets one `RedisNode` connection. A cluster
/// gets a slot map (`CLUSTER SLOTS`) and one connection per node it talks to: each command
/// goes to the master of its key's slot (scripts by their first key; a job's keys share the
/// `{job}` tag, so each script runs on one node). A `MOVED` reply refreshes the map and the
/// command is sent again; an `ASK` sends `ASKING` and the command to the node named, once.
/// `TRYAGAIN` and `CLUSTERDOWN` are thrown as transient replies (callers retry within their
/// outage budget); a node that cannot be reached marks the map stale, so the next command asks
/// the cluster again who serves the slot (after a failover, the promoted replica).
///
/// All calls block the calling thread, so call them from a dedicated thread or process —
/// never from Swift's cooperative pool. Two threads may share a connection.
///
/// ```swift
/// let redis = try RedisConnection(RedisConfiguration(url: RedisURL(parsing: "redis://127.0.0.1:6379")))
/// try redis.send(RedisCommand("SET", "k", [0, 255, 0] as [UInt8]))
/// ```
public final class RedisConnection: @unchecked Sendable {
    // @unchecked Sendable is safe: `state` is only touched while `lock` is held; each node
    // connection has a lock of its own.
    private let lock = NSLock()
    private let seed: RedisNode
    private var cluster: ClusterState?
    private let scripts: [RedisScript]

    /// Where this connection goes; the password inside is never printed.
    public let configuration: RedisConfiguration

    /// Whether the server is a Redis Cluster (decided when connecting).
    public let isCluster: Bool

    struct ClusterState {
        var map: ClusterSlotMap
        var nodes: [ClusterNode: RedisNode]
        var stale = false
        var refreshedAt = 0.0
    }

    /// How many times this connection has dialed (1 after `init` for a single server).
    public var connectCount: Int {
        lock.lock()
        defer { lock.unlock() }
        guard let cluster else { return seed.connectCount }
        return seed.connectCount + cluster.nodes.values.reduce(0) { $0 + $1.connectCount }
    }

    /// Whether to route over a cluster.
    public enum Routing: Sendable {
        /// Ask the server; route by slot if it is part of a cluster (the default).
        case detect
        /// Talk to the first endpoint only, even if it is a cluster node (tools and tests that
        /// inspect one node: `CLUSTER INFO`, `ROLE`).
        case thisNodeOnly
    }

    /// Connects now, so a wrong address fails here with a clear `.unreachable` error. With
    /// several seeds, the first that answers is used to learn the cluster.
    public init(_ configuration: RedisConfiguration, scripts: [RedisScript] = [], routing: Routing = .detect) throws(RedisError) {
        self.configuration = configuration
        self.scripts = scripts
        var lastError: RedisError?
        var connected: RedisNode?
        for endpoint in configuration.url.endpoints {
            do {
                connected = try RedisNode(Self.configuration(configuration, endpoint: endpoint), scripts: scripts)
                break
            } catch {
                lastError = error
            }
        }
        guard let connected else { throw lastError ?? RedisError(.unreachable, "no Redis endpoint was given.") }
        seed = connected
        if routing == .thisNodeOnly {
            isCluster = false
            return
        }
        // CLUSTER SLOTS both tells a cluster (an array) from a single server ("cluster support
        // disabled") and gives the map. A user whose ACL does not allow it gets NOPERM: such a
        // server is treated as a single one (on a cluster, MOVED then says what to grant).
        // A server still loading its dataset refuses CLUSTER SLOTS (LOADING) but answers INFO:
        // then INFO decides, and a cluster's map is loaded by the first command.
        var slots: RedisReply?
        var clusterLoading = false
        do {
            slots = try connected.send(RedisCommand("CLUSTER", "SLOTS"))
        } catch {
            guard error.code == .server else { throw error }
            if error.isTransientReply {
                guard let info = try? connected.send(RedisCommand("INFO", "cluster")).string else { throw error }
                clusterLoading = info.contains("cluster_enabled:1")
            }
        }
        isCluster = slots?.array != nil || clusterLoading
        guard isCluster else { return }
        if configuration.url.database != 0 {
            throw RedisError(.authentication, "Redis at \(configuration.url.endpointDescription) is a cluster, which has only database 0: drop /\(configuration.url.database) from the URL.")
        }
        if let slots {
            cluster = ClusterState(map: try Self.map(slots, from: connected), nodes: [:], refreshedAt: Self.now())
        } else {
            cluster = ClusterState(map: ClusterSlotMap(), nodes: [:], stale: true, refreshedAt: 0)
        }
    }

    static func configuration(_ base: RedisConfiguration, endpoint: RedisURL.Endpoint) -> RedisConfiguration {
        var configuration = base
        configuration.url.endpoint = endpoint
        configuration.url.seeds = []
        return configuration
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    private static func loadMap(from node: RedisNode) throws(RedisError) -> ClusterSlotMap {
        try map(try node.send(RedisCommand("CLUSTER", "SLOTS")), from: node)
    }

    private static func map(_ reply: RedisReply, from node: RedisNode) throws(RedisError) -> ClusterSlotMap {
        let host: String
        if case .tcp(let name, _) = node.configuration.url.endpoint { host = name } else { host = "127.0.0.1" }
        let map = try ClusterSlotMap(clusterSlots: reply, fallbackHost: host)
        guard map.coveredSlots > 0 else {
            throw RedisError(.server, "Redis Cluster at \(node.configuration.url.endpointDescription) serves no slot yet (CLUSTERDOWN); is the cluster created?", serverMessage: "CLUSTERDOWN no slot is served")
        }
        return map
    }

    /// A single-server connection that meets `MOVED`: the server is a cluster node after all
    /// (this user may not run `CLUSTER SLOTS`). Says so instead of a bare redirect.
    private func single<R>(_ body: () throws(RedisError) -> R) throws(RedisError) -> R {
        do {
            return try body()
        } catch {
            guard let text = error.serverMessage, ClusterRedirect(text) != nil else { throw error }
            throw RedisError(.server, "Redis at \(configuration.url.endpointDescription) is part of a Redis Cluster (it answered \(text.prefix(40))), but this client could not load the slot map: give the Redis user the CLUSTER SLOTS command (ACL +cluster|slots).", serverMessage: text)
        }
    }

    // MARK: Commands

    /// Sends one command and waits for its reply; an error reply is thrown as `.server`.
    ///
    /// - Parameter extraWait: seconds to add to the command timeout, for blocking commands (`BLPOP … 5`).
    @discardableResult
    public func send(_ command: RedisCommand, extraWait: Double = 0) throws(RedisError) -> RedisReply {
        guard isCluster else { return try single { () throws(RedisError) in try seed.send(command, extraWait: extraWait) } }
        return try routed(slot: ClusterSlots.slot(of: command)) { node, asking throws(RedisError) in
            try node.send(command, extraWait: extraWait, asking: asking)
        }
    }

    /// Sends many commands in one write per node and reads their replies in order.
    ///
    /// Error replies are returned in place (as `.error`), so one failing command does not hide
    /// the others' replies. A broken connection throws.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        guard isCluster else { return try seed.pipeline(commands) }
        var replies = [RedisReply](repeating: .null, count: commands.count)
        var groups: [ClusterNode: [Int]] = [:]
        for (index, command) in commands.enumerated() {
            groups[try target(slot: ClusterSlots.slot(of: command)), default: []].append(index)
        }
        for (address, indices) in groups {
            let node = try node(address)
            let answers: [RedisReply]
            do {
                answers = try node.pipeline(indices.map { commands[$0] })
            } catch {
                markStale(error)
                throw error
            }
            for (index, answer) in zip(indices, answers) {
                if case .error(let text) = answer, ClusterRedirect(text) != nil {
                    // Redirected: send that one again through the router.
                    do { replies[index] = try send(commands[index]) } catch { replies[index] = .error(error.serverMessage ?? error.message) }
                } else {
                    replies[index] = answer
                }
            }
        }
        return replies
    }

    /// Runs a registered script with `EVALSHA` on the node of its first key (see `RedisNode`).
    @discardableResult
    public func evalScript(_ name: String, keys: [String], arguments: [any RedisArgument], readOnly: Bool = false) throws(RedisError) -> RedisReply {
        guard isCluster else { return try single { () throws(RedisError) in try seed.evalScript(name, keys: keys, arguments: arguments, readOnly: readOnly) } }
        return try routed(slot: keys.first.map { ClusterSlots.slot(of: $0) }) { node, asking throws(RedisError) in
            try node.evalScript(name, keys: keys, arguments: arguments, readOnly: readOnly, asking: asking)
        }
    }

    /// Every key matching `pattern` (`SCAN … MATCH`), on every master of a cluster.
    public func keys(matching pattern: String, count: Int = 1000) throws(RedisError) -> [String] {
        var nodes: [RedisNode] = [seed]
        if isCluster {
            nodes = []
            for master in try masters() { nodes.append(try node(master)) }
        }
        var found: [String] = []
        for node in nodes {
            var cursor = "0"
            repeat {
                let reply = try node.send(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", count))
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                    throw RedisError(.protocolViolation, "SCAN answered something other than [cursor, keys].")
                }
                found += parts[1].array?.compactMap(\.string) ?? []
                cursor = next
            } while cursor != "0"
        }
        return found
    }

    /// Sends a keyless command (`INFO memory`, say) to the server, or to every master of a
    /// cluster; the replies come with the node they came from.
    public func everyMaster(_ command: RedisCommand) throws(RedisError) -> [(node: String, reply: RedisReply)] {
        guard isCluster else { return [(configuration.url.endpointDescription, try seed.send(command))] }
        var replies: [(node: String, reply: RedisReply)] = []
        for master in try masters() {
            do {
                replies.append((master.description, try node(master).send(command)))
            } catch {
                markStale(error)
                throw error
            }
        }
        return replies
    }

    /// The cluster's masters (refreshing the map when it is stale); empty for a single server.
    public func masters() throws(RedisError) -> [ClusterNode] {
        guard isCluster else { return [] }
        try refreshIfStale()
        lock.lock()
        defer { lock.unlock() }
        return cluster?.map.masters ?? []
    }

    /// The master serving a key now (nil for a single server).
    public func master(ofKey key: String) throws(RedisError) -> ClusterNode? {
        guard isCluster else { return nil }
        return try target(slot: ClusterSlots.slot(of: key))
    }

    // MARK: Subscriber mode

    /// Puts this connection in subscriber mode on `channels` (see `RedisNode.subscribe`). On a
    /// cluster, messages published on any node reach every node, so one node is enough.
    public func subscribe(_ channels: [String]) throws(RedisError) {
        try seed.subscribe(channels)
    }

    /// The next message published on a subscribed channel, or nil within `timeout` seconds.
    public func nextMessage(timeout: Double) throws(RedisError) -> (channel: String, payload: [UInt8])? {
        try seed.nextMessage(timeout: timeout)
    }

    // MARK: Routing

    /// The most redirects one command follows before giving up (a cluster being resharded
    /// moves a slot once; more means the map keeps changing under us).
    static let maxRedirects = 5

    private func routed(slot: Int?, _ run: (RedisNode, Bool) throws(RedisError) -> RedisReply) throws(RedisError) -> RedisReply {
        var address = try target(slot: slot)
        var asking = false
        for _ in 0...Self.maxRedirects {
            do {
                return try run(try node(address), asking)
            } catch {
                guard let text = error.serverMessage, let redirect = ClusterRedirect(text) else {
                    markStale(error)
                    // A node that could not be dialed never saw the command: ask the cluster
                    // who serves the slot now, and go there if it is someone else (a failover
                    // already done). Otherwise the caller's outage budget waits for it.
                    if error.code == .unreachable, !asking, let slot {
                        forceRefresh()
                        if let moved = try? target(slot: slot), moved != address {
                            address = moved
                            continue
                        }
                    }
                    throw error
                }
                address = redirect.node
                asking = redirect.kind == .ask
                if redirect.kind == .moved {
                    lock.lock()
                    cluster?.map.move(slot: redirect.slot, to: redirect.node)
                    cluster?.stale = true
                    lock.unlock()
                }
            }
        }
        throw RedisError(.server, "Redis Cluster at \(configuration.url.endpointDescription) redirected a command more than \(Self.maxRedirects) times; is it being resharded in a loop?",
                         serverMessage: "TRYAGAIN too many redirects")
    }

    /// The master for `slot` (any master for nil), refreshing a stale map first.
    private func target(slot: Int?) throws(RedisError) -> ClusterNode {
        try refreshIfStale()
        lock.lock()
        defer { lock.unlock() }
        guard let map = cluster?.map else { return ClusterNode(host: "127.0.0.1", port: 0) }
        if let slot, let master = map.master(of: slot) { return master }
        if let slot {
            cluster?.stale = true
            throw RedisError(.server, "Redis Cluster at \(configuration.url.endpointDescription) serves no node for slot \(slot) (CLUSTERDOWN); waiting for the cluster to heal.",
                             serverMessage: "CLUSTERDOWN slot \(slot) is not served")
        }
        guard let first = map.masters.first else {
            throw RedisError(.server, "Redis Cluster at \(configuration.url.endpointDescription) has no master.", serverMessage: "CLUSTERDOWN no master")
        }
        return first
    }

    /// The connection to `address`, dialed on first use.
    private func node(_ address: ClusterNode) throws(RedisError) -> RedisNode {
        lock.lock()
        if let existing = cluster?.nodes[address] {
            lock.unlock()
            return existing
        }
        lock.unlock()
        let made: RedisNode
        do {
            made = try RedisNode(Self.configuration(configuration, endpoint: .tcp(host: address.host, port: address.port)), scripts: scripts)
        } catch {
            markStale(error)
            throw error
        }
        lock.lock()
        defer { lock.unlock() }
        if let raced = cluster?.nodes[address] { return raced }
        cluster?.nodes[address] = made
        return made
    }

    /// A failure that may mean the topology changed (a node gone, a failover, a slot not
    /// served) makes the next command reload the map.
    private func markStale(_ error: RedisError) {
        guard isCluster else { return }
        let topology = error.isConnectionFailure || (error.serverMessage.map { $0.hasPrefix("CLUSTERDOWN") || $0.hasPrefix("READONLY") || $0.hasPrefix("MASTERDOWN") } ?? false)
        guard topology else { return }
        lock.lock()
        cluster?.stale = true
        lock.unlock()
    }

    /// Makes the next `refreshIfStale` reload the map at once.
    private func forceRefresh() {
        lock.lock()
        cluster?.stale = true
        cluster?.refreshedAt = 0
        lock.unlock()
    }

    /// Reloads the slot map from any node that answers (known replicas, then masters, then the
    /// seeds), at most every 100 ms.
    private func refreshIfStale() throws(RedisError) {
        lock.lock()
        guard let state = cluster, state.stale, Self.now() - state.refreshedAt >= 0.1 else {
            lock.unlock()
            return
        }
        cluster?.refreshedAt = Self.now()
        // Replicas first: when a master has just died, they are the ones still answering.
        let candidates = state.map.replicas.flatMap { $0 } + state.map.masters
        let known = state.nodes
        lock.unlock()
        var lastError: RedisError?
        var addresses: [RedisURL.Endpoint] = candidates.map { .tcp(host: $0.host, port: $0.port) }
        addresses += configuration.url.endpoints.filter { !addresses.contains($0) }
        for endpoint in addresses {
            do {
                let node: RedisNode
                if case .tcp(let host, let port) = endpoint, let existing = known[ClusterNode(host: host, port: port)] {
                    node = existing
                } else {
                    node = try RedisNode(Self.configuration(configuration, endpoint: endpoint))
                }
                let map = try Self.loadMap(from: node)
                lock.lock()
                cluster?.map = map
                cluster?.stale = false
                // Connections to nodes that are no longer masters go; they are dialed again if needed.
                let kept = cluster?.nodes.filter { map.masters.contains($0.key) } ?? [:]
                cluster?.nodes = kept
                lock.unlock()
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? RedisError(.unreachable, "no node of the Redis Cluster at \(configuration.url.endpointDescription) answered.")
    }
}
