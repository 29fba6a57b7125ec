import Foundation
import RefoldProcess

/// Worker processes this coordinator spawned on this machine: `refold worker` children of
/// the running executable (so a user's own binary spawns workers that know its projections).
/// Each child arms the parent-death signal, so it dies with the coordinator even on `kill -9`.
public final class LocalWorkerPool: Sendable {
    public let workers: [ChildProcess]

    /// Spawns `count` workers with `arguments` after `worker`. The Redis URL travels in the
    /// environment (`REFOLD_REDIS_URL`), never on the command line where `ps` would show a password.
    public init(count: Int, redisURL: String, arguments: [String], logDirectory: URL? = nil) throws(RunnerError) {
        var environment = ProcessInfo.processInfo.environment
        environment["REFOLD_REDIS_URL"] = redisURL
        let executable = Self.currentExecutable()
        var started: [ChildProcess] = []
        for index in 0..<count {
            let log: ChildProcess.Output = logDirectory.map { .file($0.appendingPathComponent("worker-\(index).log").path) } ?? .inherit
            do {
                started.append(try ChildProcess(
                    executable: executable,
                    arguments: ["worker"] + arguments + ["--parent-pid", "\(getpid())"],
                    environment: environment, standardOutput: .null, standardError: log))
            } catch {
                for worker in started { worker.terminate(grace: 1) }
                throw RunnerError(.infrastructure, "could not start worker process \(index + 1) of \(count): \(error.description)")
            }
        }
        workers = started
    }

    /// The path of the running binary (what `/proc/self/exe` points at).
    public static func currentExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return CommandLine.arguments[0]
    }

    /// Workers that have exited, with how they ended.
    public func exited() -> [(pid: pid_t, status: ExitStatus)] {
        workers.compactMap { worker in worker.poll().map { (worker.pid, $0) } }
    }

    /// SIGTERM to every worker, SIGKILL after `grace` seconds.
    public func stopAll(grace: Double = 5) {
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { worker.terminate(grace: grace) }
    }
}
