import Foundation
import RefoldProcess
import Synchronization

/// Worker processes this coordinator spawned on this machine: `refold worker` children of
/// the running executable (so a user's own binary spawns workers that know its projections).
/// Each child arms the parent-death signal, so it dies with the coordinator even on `kill -9`.
public final class LocalWorkerPool: Sendable {
    private let state: Mutex<[ChildProcess]>
    private let restartCount = Mutex(0)
    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let logDirectory: URL?

    /// The workers now running (replacements included).
    public var workers: [ChildProcess] { state.withLock { $0 } }
    /// How many crashed workers were replaced.
    public var restarts: Int { restartCount.withLock { $0 } }

    /// Spawns `count` workers with `arguments` after `worker`. The Redis URL travels in the
    /// environment (`REFOLD_REDIS_URL`), never on the command line where `ps` would show a password.
    public init(count: Int, redisURL: String, arguments: [String], logDirectory: URL? = nil) throws(RunnerError) {
        var environment = ProcessInfo.processInfo.environment
        environment["REFOLD_REDIS_URL"] = redisURL
        self.environment = environment
        self.executable = Self.currentExecutable()
        self.arguments = arguments
        self.logDirectory = logDirectory
        state = Mutex([])
        var started: [ChildProcess] = []
        for index in 0..<count {
            do {
                started.append(try spawn(index))
            } catch {
                for worker in started { worker.terminate(grace: 1) }
                throw RunnerError(.infrastructure, "could not start worker process \(index + 1) of \(count): \(error.description)")
            }
        }
        state.withLock { $0 = started }
    }

    private func spawn(_ index: Int) throws(ProcessError) -> ChildProcess {
        let log: ChildProcess.Output = logDirectory.map { .file($0.appendingPathComponent("worker-\(index).log").path) } ?? .null
        return try ChildProcess(
            executable: executable,
            arguments: ["worker"] + arguments + ["--parent-pid", "\(getpid())"],
            environment: environment, standardOutput: .null, standardError: log, newProcessGroup: true)
    }

    /// How many workers have died (crash, kill -9) and are not replaced yet. Workers that
    /// exited 0 (their job finished) do not count.
    public func crashedCount() -> Int {
        exitedCount { $0.code != 0 }
    }

    /// How many workers have exited with status 0 and are not replaced yet.
    public func cleanExitCount() -> Int {
        exitedCount { $0.code == 0 }
    }

    private func exitedCount(where matches: (ExitStatus) -> Bool) -> Int {
        state.withLock { workers in workers.filter { $0.poll().map(matches) ?? false }.count }
    }

    /// Replaces workers that died (crash, kill -9) with fresh ones; returns how many.
    /// Workers that exited 0 (their job finished) are left alone unless `includingCleanExits`.
    @discardableResult
    public func replaceCrashed(includingCleanExits: Bool = false) -> Int {
        state.withLock { workers in
            var replaced = 0
            for index in workers.indices {
                guard let status = workers[index].poll(), includingCleanExits || status.code != 0 else { continue }
                if let fresh = try? spawn(index) {
                    workers[index] = fresh
                    replaced += 1
                }
            }
            restartCount.withLock { $0 += replaced }
            return replaced
        }
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
