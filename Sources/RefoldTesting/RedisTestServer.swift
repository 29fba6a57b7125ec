import Foundation
import RefoldProcess
import Synchronization

/// A private `redis-server` on a free loopback port in a temporary folder, for tests: one per
/// test that restarts, pauses or kills its Redis, or a shared one for a suite. Stopped on
/// `stop()`, on deinit, and when the test process exits.
///
/// ```swift
/// let redis = try RedisTestServer()
/// let result = try RefoldRun.run(["rebuild", "my_model", "--events", path, "--redis", redis.url])
/// ```
public final class RedisTestServer: Sendable {
    public let port: Int
    public let directory: URL
    private let appendOnly: Bool
    private let settings: [String]
    private let process = Mutex<ChildProcess?>(nil)

    /// Starts a server. `appendOnly` turns on AOF with `appendfsync everysec` (crash tests);
    /// `settings` are added to every start (e.g. `--cluster-enabled yes`).
    public init(port: Int? = nil, appendOnly: Bool = false, settings: [String] = []) throws {
        self.port = try port ?? FreePort.find()
        self.appendOnly = appendOnly
        self.settings = settings
        self.directory = try TemporaryDirectory.make(prefix: "refold-redis")
        try start()
    }

    deinit {
        stop()
    }

    /// `redis://127.0.0.1:PORT`
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts (or restarts) the server on the same port and data directory, waiting until it
    /// accepts connections (it may still be loading its dataset then). `extra` arguments are
    /// added to this start only (e.g. `--key-load-delay` to make loading last).
    public func start(extra: [String] = []) throws {
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--dir", directory.path,
            "--daemonize", "no", "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        arguments += appendOnly ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"]
        arguments += settings + extra
        let child = try ChildProcess(
            executable: try Programs.find("redis-server").path, arguments: arguments,
            standardOutput: .null, standardError: .null)
        ChildProcesses.register(child.pid)
        process.withLock { $0 = child }
        try Deadline.wait(seconds: 10, "redis-server on port \(port) to accept connections") {
            FreePort.isListening(port: port)
        }
    }

    /// Stops the server (SIGKILL: like a crash; AOF keeps what was fsynced).
    public func kill() {
        stop(signal: SIGKILL)
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    public func stop(signal: Int32 = SIGTERM) {
        guard let child = process.withLock({ current -> ChildProcess? in
            defer { current = nil }
            return current
        }) else { return }
        child.signal(SIGCONT)
        child.signal(signal)
        if child.wait(timeout: 10) == nil {
            child.signal(SIGKILL)
            _ = child.wait()
        }
        ChildProcesses.unregister(child.pid)
    }

    /// Pauses or resumes the server process (SIGSTOP/SIGCONT): a hung server.
    public func pause(_ paused: Bool) {
        process.withLock { child in
            child?.signal(paused ? SIGSTOP : SIGCONT)
        }
    }
}
