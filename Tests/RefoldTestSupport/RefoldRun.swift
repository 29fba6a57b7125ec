import Foundation
import RefoldProcess

/// The result of running the `refold` binary.
public struct RefoldResult: Sendable {
    public let status: ExitStatus
    public let stdout: String
    public let stderr: String

    public var code: Int32? { status.code }
}

/// Runs the real `refold` binary as a child process (real signals, real exit codes).
public enum RefoldRun {
    /// Runs `refold arguments…` to completion (or kills it after `timeout` seconds).
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 300, binary: URL? = nil) throws -> RefoldResult {
        let process = try start(arguments, environment: environment, binary: binary)
        guard let status = process.child.wait(timeout: timeout) else {
            process.child.signal(SIGKILL)
            _ = process.child.wait()
            throw TestSupportError("refold \(arguments.joined(separator: " ")) did not finish within \(timeout)s; stderr: \(process.stderrText())")
        }
        return RefoldResult(status: status, stdout: process.stdoutText(), stderr: process.stderrText())
    }

    /// A running `refold` process with captured output.
    public final class Running: Sendable {
        public let child: ChildProcess
        let out: URL
        let err: URL

        init(child: ChildProcess, out: URL, err: URL) {
            self.child = child
            self.out = out
            self.err = err
        }

        public func stdoutText() -> String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        public func stderrText() -> String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

        /// Waits for the exit and returns the result.
        public func finish(timeout: Double = 300) throws -> RefoldResult {
            guard let status = child.wait(timeout: timeout) else {
                child.signal(SIGKILL)
                throw TestSupportError("refold did not finish within \(timeout)s; stderr: \(stderrText())")
            }
            return RefoldResult(status: status, stdout: stdoutText(), stderr: stderrText())
        }
    }

    /// Starts `refold arguments…` in the background. The test harness's Redis is not passed on
    /// unless the caller puts it in `environment` (REFOLD_REDIS_URL).
    public static func start(_ arguments: [String], environment: [String: String] = [:], binary: URL? = nil) throws -> Running {
        let directory = try TemporaryDirectory.make(prefix: "refold-run")
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        var env = ProcessInfo.processInfo.environment
        env["REFOLD_REDIS_URL"] = nil
        env["REFOLD_REDIS_PASSWORD"] = nil
        for (key, value) in environment { env[key] = value }
        let child = try ChildProcess(
            executable: try (binary ?? Executables.refold()).path, arguments: arguments, environment: env,
            standardOutput: .file(out.path), standardError: .file(err.path))
        ChildProcesses.register(child.pid)
        return Running(child: child, out: out, err: err)
    }

    /// Parses one JSON object from a command's standard output (exactly one, nothing else).
    public static func json(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TestSupportError("standard output is not one JSON object: \(text.prefix(300))")
        }
        return object
    }
}
