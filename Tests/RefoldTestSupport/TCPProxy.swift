import Foundation
import RefoldTesting
import Synchronization

/// A small TCP proxy for fault tests: listens on `host:port` and forwards each connection to
/// `upstreamHost:upstreamPort`, optionally delaying every chunk, resetting the connection of
/// one chunk in N on average (a seeded generator: not periodic, so a client that replays the
/// same steps after each reset cannot fall in step with the faults forever), or holding all traffic (bytes wait until `hold(false)`). This kernel has no `netem`, so a slow,
/// flaky link is this proxy between a "host" and its server.
///
/// ```swift
/// let proxy = try TCPProxy(listenHost: "10.77.1.1", upstreamPort: redis.port)
/// proxy.configure(delayMilliseconds: 20, resetEvery: 25)
/// ```
public final class TCPProxy: Sendable {
    public let host: String
    public let port: Int
    private let upstreamHost: String
    private let upstreamPort: Int
    private let listener: Int32
    private let state = Mutex<State>(State())
    private let stopped = Atomic<Bool>(false)
    private let gate = Gate()

    struct State {
        var delayMilliseconds = 0
        var resetEvery = 0
        var chunks = 0
        var random = SeededRandom(seed: 0x5EED)
        var sockets: Set<Int32> = []
        var resets = 0
        var connections = 0
    }

    /// Listens now (port 0: any free port, read `port`).
    public init(listenHost: String = "127.0.0.1", port: Int = 0, upstreamHost: String = "127.0.0.1", upstreamPort: Int) throws {
        host = listenHost
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        let (fd, bound) = try ListeningSocket.open(host: listenHost, port: port)
        self.port = bound
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "tcp-proxy-accept"
        thread.start()
    }

    deinit { stop() }

    /// Delay per forwarded chunk; one chunk in `resetEvery` on average (0: none) resets its
    /// connection (both sides see a TCP RST) instead of being forwarded.
    public func configure(delayMilliseconds: Int, resetEvery: Int) {
        state.withLock {
            $0.delayMilliseconds = delayMilliseconds
            $0.resetEvery = resetEvery
        }
    }

    /// Holds every byte in both directions until released (a link that stalls, sockets open).
    public func hold(_ held: Bool) {
        gate.set(closed: held)
    }

    /// Connections reset on purpose so far, and connections accepted.
    public var counts: (resets: Int, connections: Int) { state.withLock { ($0.resets, $0.connections) } }

    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        gate.set(closed: false)
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        let sockets = state.withLock { state -> Set<Int32> in
            defer { state.sockets = [] }
            return state.sockets
        }
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    static func address(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.address(upstreamHost, upstreamPort)
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard upstream >= 0, connected == 0 else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            state.withLock {
                $0.sockets.insert(client)
                $0.sockets.insert(upstream)
                $0.connections += 1
            }
            let pumps = PumpCount()
            for (from, to) in [(client, upstream), (upstream, client)] {
                let pump = Thread { [self] in
                    self.pump(from: from, to: to)
                    // The last pump out closes both sockets (never one the other still uses).
                    if pumps.value.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        state.withLock {
                            $0.sockets.remove(client)
                            $0.sockets.remove(upstream)
                        }
                        close(client)
                        close(upstream)
                    }
                }
                pump.name = "tcp-proxy-pump"
                pump.start()
            }
        }
    }

    /// Copies one direction until either side closes, then shuts both sockets down.
    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        defer {
            shutdown(to, Int32(SHUT_RDWR))
            shutdown(from, Int32(SHUT_RDWR))
        }
        while !stopped.load(ordering: .acquiring) {
            let count = recv(from, &buffer, buffer.count, 0)
            if count <= 0 { return }
            gate.waitWhileClosed()
            let (delay, reset) = state.withLock { state -> (Int, Bool) in
                state.chunks += 1
                return (state.delayMilliseconds, state.resetEvery > 0 && Int.random(in: 0..<state.resetEvery, using: &state.random) == 0)
            }
            if delay > 0 { usleep(UInt32(delay) * 1000) }
            if reset {
                // RST, not FIN: SO_LINGER 0 then close.
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(from, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                setsockopt(to, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                state.withLock { $0.resets += 1 }
                return
            }
            var sent = 0
            while sent < count {
                let n = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
    }
}

/// How many of a connection's two pumps still run.
final class PumpCount: Sendable {
    let value = Atomic<Int>(2)
}

/// Where held traffic waits: pumps block while the gate is closed and go on when it opens.
final class Gate: @unchecked Sendable {
    // @unchecked: `closed` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var closed = false

    func set(closed: Bool) {
        condition.lock()
        self.closed = closed
        condition.broadcast()
        condition.unlock()
    }

    func waitWhileClosed() {
        condition.lock()
        while closed { condition.wait() }
        condition.unlock()
    }
}
