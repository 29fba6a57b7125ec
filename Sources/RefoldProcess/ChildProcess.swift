import CLinux
import Foundation
import Synchronization

/// A child process started with `posix_spawn`, with an empty signal mask and default signal
/// dispositions, so SIGTERM, SIGINT and friends reach it. (Foundation's `Process` on Linux
/// starts children with most signals blocked, which makes them deaf to SIGTERM.)
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The program's path, for messages.
    public let executable: String
    /// Set once the child has been reaped, so later polls keep answering the same.
    private let reaped = Mutex<ExitStatus?>(nil)

    /// Where a standard stream of the child goes.
    public enum Output: Sendable {
        case inherit
        case null
        case file(String)
    }

    /// Starts `executable` with `arguments` (not including argv[0]).
    public init(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        standardOutput: Output = .inherit,
        standardError: Output = .inherit,
        newProcessGroup: Bool = false,
        workingDirectory: String? = nil
    ) throws(ProcessError) {
        self.executable = executable
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            // Its own process group: a Ctrl-C at the terminal reaches only the coordinator,
            // which then stops its children in order (cancel, hand back, shut down).
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        func redirect(_ output: Output, _ descriptor: Int32) {
            switch output {
            case .inherit: break
            case .null: posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, descriptor, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            }
        }
        // The child starts in `workingDirectory` (for tools that write caches where they run).
        if let workingDirectory { refold_spawn_add_chdir(&actions, workingDirectory) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        redirect(standardOutput, 1)
        redirect(standardError, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let env = environment ?? ProcessInfo.processInfo.environment
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw ProcessError("could not start \(executable): \(String(cString: strerror(status))) (is it installed and executable?)")
        }
        pid = child
    }

    /// Sends `signal`, unless the child was already reaped (its pid may be another process's).
    public func signal(_ signal: Int32) {
        if reaped.withLock({ $0 }) != nil { return }
        kill(pid, signal)
    }

    /// The exit status if the child has exited (reaping it), nil while it runs.
    public func poll() -> ExitStatus? {
        reaped.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                known = ExitStatus(raw: status)
            } else if result == -1 && errno == ECHILD {
                known = ExitStatus(code: nil, signal: nil)
            }
            return known
        }
    }

    /// Waits for the child to exit, up to `timeout` seconds (forever when nil).
    public func wait(timeout: Double? = nil) -> ExitStatus? {
        let end = timeout.map { Date().addingTimeInterval($0) }
        var pause = 0.001
        while true {
            if let status = poll() { return status }
            if let end, Date() >= end { return nil }
            Thread.sleep(forTimeInterval: pause)
            pause = min(pause * 2, 0.05)
        }
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the exit.
    @discardableResult
    public func terminate(grace: Double = 5) -> ExitStatus {
        signal(SIGTERM)
        if let status = wait(timeout: grace) { return status }
        signal(SIGKILL)
        return wait() ?? ExitStatus(code: nil, signal: SIGKILL)
    }
}

/// How a child ended.
public struct ExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// The exit code, if it exited normally.
    public let code: Int32?
    /// The signal that killed it, if one did.
    public let signal: Int32?

    public init(code: Int32?, signal: Int32?) {
        self.code = code
        self.signal = signal
    }

    init(raw: Int32) {
        if raw & 0x7F == 0 {
            self.init(code: (raw >> 8) & 0xFF, signal: nil)
        } else {
            self.init(code: nil, signal: raw & 0x7F)
        }
    }

    public var description: String {
        if let code { return "exit code \(code)" }
        if let signal { return "killed by signal \(signal)" }
        return "already reaped"
    }
}

/// The one error type of this module.
public struct ProcessError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Linux's parent-death signal: a child asks the kernel to SIGKILL it when its parent dies,
/// even when the parent is killed with -9.
public enum ParentDeath {
    /// Arms the signal; exits at once if `expectedParent` has already gone (the race before arming).
    public static func arm(expectedParent: pid_t) {
        _ = refold_set_parent_death_signal(SIGKILL)
        if getppid() != expectedParent { exit(3) }
    }
}
