import Synchronization

/// One claimed task as a handler sees it: the lease, and a line back to the
/// loop for progress and for "stop now".
public final class TaskExecution: Sendable {
    public let lease: TaskLease
    private let book: LeaseLedger
    private let stopping: @Sendable () -> Bool

    init(lease: TaskLease, book: LeaseLedger, stopping: @escaping @Sendable () -> Bool) {
        self.lease = lease
        self.book = book
        self.stopping = stopping
    }

    /// Records how many events are done; the heartbeat carries it to the coordinator's progress bar.
    public func reportProgress(events: Int) {
        book.state.withLock { $0.setProgress(lease, events: events) }
    }

    /// True when the lease is lost or the worker is shutting down: stop and throw `TaskAbandoned`.
    /// Cheap enough to call every few thousand events.
    public var shouldAbandon: Bool {
        leaseLost || stopping()
    }

    /// True when the lease is known or presumed lost (someone else may hold the task now).
    public var leaseLost: Bool {
        let now = MonotonicClock.seconds()
        return book.state.withLock { $0.isLost(lease, now: now) }
    }
}
