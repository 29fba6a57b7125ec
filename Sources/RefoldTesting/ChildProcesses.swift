import Foundation
import Synchronization

/// Child processes started by tests, killed if the test process exits first.
public enum ChildProcesses {
    private static let pids = Mutex<Set<Int32>>([])
    private static let installed = Mutex(false)

    public static func register(_ pid: Int32) {
        pids.withLock { _ = $0.insert(pid) }
        installed.withLock { done in
            guard !done else { return }
            done = true
            atexit {
                for pid in ChildProcesses.snapshot() { kill(pid, SIGKILL) }
            }
        }
    }

    public static func unregister(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    static func snapshot() -> Set<Int32> {
        pids.withLock { $0 }
    }
}
