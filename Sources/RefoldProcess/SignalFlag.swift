import Foundation
import Synchronization

/// The last SIGINT/SIGTERM received; written by the signal handler (an atomic store is
/// async-signal-safe), read by the blocking loops that poll it.
private let receivedSignal = Atomic<Int32>(0)

/// Turns SIGINT and SIGTERM into a flag the blocking loops poll, instead of dying mid-write.
/// A second signal of the same kind exits at once (the user insisted).
public enum SignalFlag {
    /// Starts catching SIGINT and SIGTERM (idempotent).
    public static func install() {
        for number in [SIGINT, SIGTERM] {
            _ = Foundation.signal(number) { number in
                let previous = receivedSignal.exchange(number, ordering: .sequentiallyConsistent)
                if previous == number { _exit(128 + number) }
            }
        }
    }

    /// The signal received, or nil.
    public static var signal: Int32? {
        let value = receivedSignal.load(ordering: .acquiring)
        return value == 0 ? nil : value
    }

    /// True once SIGINT or SIGTERM arrived.
    public static var isRaised: Bool { signal != nil }
}
