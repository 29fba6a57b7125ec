import Foundation
import RefoldProcess

/// A `redis-server` started for one run on a free loopback port, with no persistence, and
/// stopped after it — the embedded default of `rebuild`, `bench` and `demo` when no `--redis`
/// or `REFOLD_REDIS_URL` is given. It is started under `setpriv --pdeathsig KILL` when
/// available, so it dies with its coordinator even after `kill -9`.
public final class PrivateRedisServer: Sendable {
    public let port: Int
    private let child: ChildProcess
    private let directory: URL

    /// Starts the server and waits until it accepts connections (10 s at most).
    public init() throws(RunnerError) {
        guard let server = Self.which("redis-server") else {
            throw RunnerError(.infrastructure, "redis-server is not installed, and no --redis or REFOLD_REDIS_URL was given (install redis-server, e.g. apt-get install redis-server, or point --redis at a server).")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-redis-\(getpid())-\(UUID().uuidString.prefix(6))")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        var lastError = ""
        for _ in 0..<10 {
            guard let port = try? FreePort.find() else { continue }
            var executable = server
            var arguments = [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
                // Redis acts on SIGTERM in its timer, `hz` times a second: at the default 10, a
                // stop waited up to 100 ms (50 ms on average) at the end of every run.
                "--hz", "100",
            ]
            if let setpriv = Self.which("setpriv") {
                arguments = ["--pdeathsig", "KILL", "--", server] + arguments
                executable = setpriv
            }
            do {
                let child = try ChildProcess(executable: executable, arguments: arguments, standardOutput: .null, standardError: .null, newProcessGroup: true)
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline {
                    if FreePort.isListening(port: port) {
                        self.port = port
                        self.child = child
                        return
                    }
                    if child.poll() != nil { break }
                    Thread.sleep(forTimeInterval: 0.002)
                }
                child.terminate(grace: 1)
                lastError = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8))?
                    .split(separator: "\n").last.map(String.init) ?? "it exited"
            } catch {
                lastError = error.description
            }
        }
        throw RunnerError(.infrastructure, "could not start a private redis-server on a free loopback port: \(lastError) (pass --redis to use a running server).")
    }

    /// `redis://127.0.0.1:PORT`
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Stops the server and removes its folder.
    public func stop() {
        child.terminate(grace: 3)
        try? FileManager.default.removeItem(at: directory)
    }

    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
