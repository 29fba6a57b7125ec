import Synchronization

/// The lease book shared by a worker's task thread and its heartbeat thread.
final class LeaseLedger: Sendable {
    let state = Mutex(LeaseBook())
}
