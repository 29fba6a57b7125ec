import Foundation
import RefoldProcess
import RefoldTesting

/// A "host" for tests: a network namespace joined to this one by a veth pair, so a process
/// started in it reaches the test's servers only over its own link (`10.N.k.2` inside, the
/// services on `10.N.k.1` outside), and the test can cut that link (`ip link set … down`).
/// Root only: `NetworkHost.unavailableReason` says why not elsewhere. Removed on `remove()` and
/// deinit (deleting the namespace deletes both ends of the pair).
///
/// ```swift
/// let host = try NetworkHost(index: 1)
/// let proxy = try TCPProxy(listenHost: host.outsideAddress, upstreamPort: redis.port)
/// let worker = try host.start(["worker", "--redis", "redis://\(host.outsideAddress):\(proxy.port)"])
/// host.cut()
/// ```
public final class NetworkHost: Sendable {
    public let namespace: String
    public let outsideDevice: String
    /// The address of this host's link on the test's side (where its services listen).
    public let outsideAddress: String
    /// The host's own address.
    public let insideAddress: String

    /// Why namespaces cannot be used here, or nil when they can.
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "network namespaces need root (run the tests as root, e.g. in CI)" }
        guard let ip = try? Programs.find("ip") else { return "the ip command (iproute2) is not installed" }
        let probe = "rfprobe\(getpid() % 100_000)"
        guard run(ip.path, ["netns", "add", probe]) else { return "this kernel or container does not allow `ip netns add`" }
        _ = run(ip.path, ["netns", "del", probe])
        return nil
    }()

    public static var available: Bool { unavailableReason == nil }

    static func ipPath() throws -> String { try Programs.find("ip").path }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) -> Bool {
        guard let child = try? ChildProcess(executable: executable, arguments: arguments, standardOutput: .null, standardError: .null) else { return false }
        return child.wait(timeout: 30)?.code == 0
    }

    /// Creates host `index` (1…60) of this test process.
    public init(index: Int) throws {
        precondition((1...60).contains(index))
        let tag = "\(getpid() % 100_000)h\(index)"
        namespace = "rf\(tag)"
        outsideDevice = "rf\(tag)o"
        let inside = "rf\(tag)i"
        // A /30 per host, in a 10.x block chosen by the pid so two test processes do not collide.
        let block = 100 + Int(getpid() % 150)
        outsideAddress = "10.\(block).\(index * 4).1"
        insideAddress = "10.\(block).\(index * 4).2"
        let ip = try Self.ipPath()
        let steps: [[String]] = [
            ["netns", "add", namespace],
            ["link", "add", outsideDevice, "type", "veth", "peer", "name", inside],
            ["link", "set", inside, "netns", namespace],
            ["addr", "add", "\(outsideAddress)/30", "dev", outsideDevice],
            ["link", "set", outsideDevice, "up"],
            ["netns", "exec", namespace, "ip", "addr", "add", "\(insideAddress)/30", "dev", inside],
            ["netns", "exec", namespace, "ip", "link", "set", inside, "up"],
            ["netns", "exec", namespace, "ip", "link", "set", "lo", "up"],
        ]
        for step in steps where !Self.run(ip, step) {
            Self.run(ip, ["netns", "del", namespace])
            Self.run(ip, ["link", "del", outsideDevice])
            throw TestingError("could not create test host \(namespace): ip \(step.joined(separator: " ")) failed")
        }
    }

    deinit { remove() }

    /// Cuts the link: packets in both directions are dropped (sockets stay open).
    public func cut() throws {
        guard Self.run(try Self.ipPath(), ["link", "set", outsideDevice, "down"]) else { throw TestingError("could not cut \(outsideDevice)") }
    }

    /// Brings the link back.
    public func restore() throws {
        guard Self.run(try Self.ipPath(), ["link", "set", outsideDevice, "up"]) else { throw TestingError("could not restore \(outsideDevice)") }
    }

    /// Starts `refold arguments…` inside this host (`ip netns exec` replaces itself with refold,
    /// so signals reach refold directly).
    public func start(_ arguments: [String], environment: [String: String] = [:]) throws -> RefoldRun.Running {
        try RefoldRun.start(["netns", "exec", namespace, try Executables.refold().path] + arguments, environment: environment,
                            binary: URL(fileURLWithPath: try Self.ipPath()))
    }

    public func remove() {
        guard let ip = try? Self.ipPath() else { return }
        Self.run(ip, ["netns", "del", namespace])
        Self.run(ip, ["link", "del", outsideDevice])
    }
}
