import Foundation
import RefoldProcess

/// A `redis-server` started for one run, with no persistence, and stopped after it — the
/// embedded default of `rebuild`, `bench` and `demo` when no `--redis` or `REFOLD_REDIS_URL`
/// is given. It listens on a Unix socket in a folder of its own (`unix://…/redis.sock`, mode
/// 700): its address is known before it starts, so a rebuild's local workers are started at
/// the same time as the server (they wait for it), and no port can be taken in between. Where
/// the temporary folder's path is too long for a socket, or holds characters a URL would read
/// otherwise (`@`, `?`, `%`, spaces …), it listens on a free loopback port instead. It is started under `setpriv --pdeathsig KILL` when available, so it dies with its
/// coordinator even after `kill -9`.
public final class PrivateRedisServer: Sendable {
    /// Where the server listens.
    enum Listener: Sendable {
        case socket(String)
        case port(Int)

        var url: String {
            switch self {
            case .socket(let path): return "unix://\(path)"
            case .port(let port): return "redis://127.0.0.1:\(port)"
            }
        }

        var arguments: [String] {
            switch self {
            case .socket(let path): return ["--port", "0", "--unixsocket", path, "--unixsocketperm", "700"]
            case .port(let port): return ["--port", "\(port)", "--bind", "127.0.0.1"]
            }
        }

        var isListening: Bool {
            switch self {
            case .socket(let path): return FreePort.isListening(socketPath: path)
            case .port(let port): return FreePort.isListening(port: port)
            }
        }
    }

    private let listener: Listener
    private let child: ChildProcess

    /// `unix:///…/redis.sock`, or `redis://127.0.0.1:PORT`.
    public var url: String { listener.url }
    private let directory: URL

    /// Starts the server and waits until it accepts connections (10 s at most).
    public convenience init() throws(RunnerError) {
        try self.init(waitUntilReady: true)
    }

    /// Starts the server; with `waitUntilReady` false, returns at once when it listens on a
    /// Unix socket (call `waitUntilReady()` before using it).
    public init(waitUntilReady: Bool) throws(RunnerError) {
        guard let server = Self.which("redis-server") else {
            throw RunnerError(.infrastructure, "redis-server is not installed, and no --redis or REFOLD_REDIS_URL was given (install redis-server, e.g. apt-get install redis-server, or point --redis at a server).")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-redis-\(getpid())-\(UUID().uuidString.prefix(6))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw RunnerError(.infrastructure, "could not create a folder for a private redis-server in \(FileManager.default.temporaryDirectory.path): \(error.localizedDescription) (set TMPDIR to a writable folder, or pass --redis).")
        }
        self.directory = directory
        var lastError = ""
        // The socket's path goes into a `unix://` URL as it is: only plain path characters
        // (a TMPDIR such as `/ci/job@tmp` would read as a password; `?` as a query). A socket:
        // one start. A port: up to ten, since another process may take a free port between the
        // check and Redis's bind.
        let socket = directory.appendingPathComponent("redis.sock").path
        let onSocket = socket.utf8.count <= FreePort.maxSocketPath && socket.utf8.allSatisfy(Self.isPlainPathByte)
        for _ in 0..<(onSocket ? 1 : 10) {
            let listener: Listener
            if onSocket {
                listener = .socket(socket)
            } else {
                guard let free = try? FreePort.find() else { continue }
                listener = .port(free)
            }
            var executable = server
            var arguments = listener.arguments + [
                "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
                // Redis acts on SIGTERM in its timer, `hz` times a second: at the default 10, a
                // stop waited up to 100 ms (50 ms on average) at the end of every run.
                "--hz", "100",
            ]
            if let setpriv = Self.which("setpriv") {
                arguments = ["--pdeathsig", "KILL", "--", server] + arguments
                executable = setpriv
            }
            let child: ChildProcess
            do {
                child = try ChildProcess(executable: executable, arguments: arguments, standardOutput: .null, standardError: .null, newProcessGroup: true)
            } catch {
                lastError = error.description
                continue
            }
            if waitUntilReady || !onSocket {
                do {
                    try Self.waitForListener(child, listener, directory: directory)
                } catch {
                    lastError = error.message
                    child.terminate(grace: 1)
                    continue
                }
            }
            self.child = child
            self.listener = listener
            return
        }
        try? FileManager.default.removeItem(at: directory)
        throw RunnerError(.infrastructure, "could not start a private redis-server: \(lastError) (pass --redis to use a running server).")
    }

    /// Waits until the server accepts connections (10 s at most); throws with the last line of
    /// its log when it exits or does not listen in time.
    public func waitUntilReady() throws(RunnerError) {
        try Self.waitForListener(child, listener, directory: directory)
    }

    private static func waitForListener(_ child: ChildProcess, _ listener: Listener, directory: URL) throws(RunnerError) {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if listener.isListening { return }
            if child.poll() != nil { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let last = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8))?
            .split(separator: "\n").last.map(String.init)
        throw RunnerError(.infrastructure, "the private redis-server did not start: \(last ?? (child.poll() != nil ? "it exited" : "it did not listen within 10 s"))")
    }

    /// Letters, digits and `/ . _ -`: what a path may hold to be written into a URL unescaped.
    static func isPlainPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

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
