/// Redis Cluster's key → slot rule and the pieces of routing that need no socket: the slot of a
/// key (CRC16/XMODEM of the key or of its `{hash tag}`, mod 16384), the key a command is routed
/// by, the slot map from `CLUSTER SLOTS`, and `MOVED`/`ASK` redirects.
public enum ClusterSlots {
    public static let count = 16384

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the checksum Redis Cluster uses.
    public static func crc16<Bytes: Collection>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }

    /// The slot of a key: only the part between the first `{` and the next `}` counts when that
    /// part is not empty (so `refold:{job}:tasks` and `refold:{job}:ready` share a slot).
    public static func slot<Bytes: BidirectionalCollection>(of key: Bytes) -> Int where Bytes.Element == UInt8 {
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                return Int(crc16(key[afterOpen..<close]) & 0x3FFF)
            }
        }
        return Int(crc16(key) & 0x3FFF)
    }

    public static func slot(of key: String) -> Int { slot(of: Array(key.utf8)) }

    /// Commands that carry no key: any node may answer them.
    static let keyless: Set<String> = [
        "PING", "INFO", "SCRIPT", "CLUSTER", "PUBLISH", "SUBSCRIBE", "UNSUBSCRIBE", "AUTH", "SELECT", "CLIENT", "HELLO",
        "CONFIG", "TIME", "DBSIZE", "SCAN", "KEYS", "ECHO", "COMMAND", "READONLY", "READWRITE", "ASKING", "WAIT", "ROLE",
        "LASTSAVE", "FLUSHALL", "FLUSHDB", "MEMORY", "LATENCY", "SLOWLOG", "ACL", "FUNCTION",
    ]

    /// The key a command is routed by, or nil for a command any node may answer. Scripts
    /// (`EVAL`, `EVALSHA`, `…_RO`, `FCALL`) route by their first key; every other command with a
    /// key has it first.
    public static func routingKey(_ command: RedisCommand) -> [UInt8]? {
        let name = command.name
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard command.arguments.count > 3, let count = Int(String(decoding: command.arguments[2], as: UTF8.self)), count > 0 else { return nil }
            return command.arguments[3]
        default:
            if keyless.contains(name) || command.arguments.count < 2 { return nil }
            return command.arguments[1]
        }
    }

    /// The slot a command goes to, or nil for any node.
    public static func slot(of command: RedisCommand) -> Int? {
        routingKey(command).map { slot(of: $0) }
    }
}

/// A node of a cluster, as `host:port`.
public struct ClusterNode: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (IPv6 as `[::1]:7000` or the bare `::1:7000` Redis prints).
    public init?(parsing text: Substring) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(after: close)...].drop { $0 == ":" }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        // "host:port@cport" in some replies: the bus port is not ours.
        if let at = portPart.firstIndex(of: "@") { portPart = portPart[..<at] }
        guard !hostPart.isEmpty, let port = Int(portPart), (1...65535).contains(port) else { return nil }
        self.init(host: String(hostPart), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which master serves each slot, from a `CLUSTER SLOTS` reply.
public struct ClusterSlotMap: Sendable, Equatable {
    /// The master of each slot (nil: not served).
    private var owners: [Int32]
    /// The masters, indexed by `owners`.
    public private(set) var masters: [ClusterNode]
    /// The replicas of each master (same order as `masters`).
    public private(set) var replicas: [[ClusterNode]]

    public init() {
        owners = Array(repeating: -1, count: ClusterSlots.count)
        masters = []
        replicas = []
    }

    /// Builds the map from `CLUSTER SLOTS`: `[[start, end, [host, port, id…], [replica…]…]…]`.
    /// A node with an empty host (`""`, or `?` for an unknown one) is reached at `fallbackHost`,
    /// the address this reply came from, as Redis documents.
    public init(clusterSlots reply: RedisReply, fallbackHost: String) throws(RedisError) {
        self.init()
        guard let ranges = reply.array else {
            throw RedisError(.protocolViolation, "CLUSTER SLOTS did not answer with an array.")
        }
        func node(_ entry: RedisReply) -> ClusterNode? {
            guard let parts = entry.array, parts.count >= 2, let port = parts[1].int else { return nil }
            var host = parts[0].string ?? ""
            if host.isEmpty || host == "?" { host = fallbackHost }
            return ClusterNode(host: host, port: Int(port))
        }
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                  start >= 0, end < ClusterSlots.count, start <= end, let master = node(parts[2]) else {
                throw RedisError(.protocolViolation, "CLUSTER SLOTS answered a range this client cannot read.")
            }
            let index = indexAdding(master)
            for entry in parts.dropFirst(3) {
                if let replica = node(entry), !replicas[index].contains(replica) { replicas[index].append(replica) }
            }
            for slot in Int(start)...Int(end) { owners[slot] = Int32(index) }
        }
    }

    /// The master serving `slot`, if any.
    public func master(of slot: Int) -> ClusterNode? {
        let index = owners[slot]
        return index < 0 ? nil : masters[Int(index)]
    }

    /// How many slots have a master.
    public var coveredSlots: Int { owners.reduce(0) { $0 + ($1 < 0 ? 0 : 1) } }

    /// Records a `MOVED`: the slot is now served by `node`.
    public mutating func move(slot: Int, to node: ClusterNode) {
        owners[slot] = Int32(indexAdding(node))
    }

    /// The index of `master`, added (with no replicas) if it is new.
    private mutating func indexAdding(_ master: ClusterNode) -> Int {
        if let index = masters.firstIndex(of: master) { return index }
        masters.append(master)
        replicas.append([])
        return masters.count - 1
    }
}

/// A `MOVED` or `ASK` error reply.
public struct ClusterRedirect: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case moved, ask }
    public let kind: Kind
    public let slot: Int
    public let node: ClusterNode

    public init(kind: Kind, slot: Int, node: ClusterNode) {
        self.kind = kind
        self.slot = slot
        self.node = node
    }

    /// Parses `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381` (nil for anything else).
    public init?(_ text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<ClusterSlots.count).contains(slot), let node = ClusterNode(parsing: parts[2]) else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = slot
        self.node = node
    }
}
