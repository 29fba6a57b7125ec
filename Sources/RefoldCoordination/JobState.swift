/// Where a job is in its life (the `state` field of its hash).
///
/// `building` (forked, tasks being registered) → `open` (sealed: workers claim) → one of the
/// final states: `joined` (every task resolved), `failed` (a dead task under the "fail"
/// policy) or `cancelled`.
public enum JobState: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case building, open, joined, failed, cancelled

    /// True for `joined`, `failed` and `cancelled`: nothing about the job changes any more.
    public var isFinished: Bool { self == .joined || self == .failed || self == .cancelled }

    public var description: String { rawValue }
}

/// Where one task is (the job's `states` hash).
public enum TaskState: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// In the ready queue.
    case ready
    /// Claimed under a lease (a token in `tokens`, a deadline in `leases`).
    case leased
    /// Failed, waiting for its retry's backoff.
    case delayed
    /// Completed and counted.
    case done
    /// Dead-lettered.
    case dead

    public var description: String { rawValue }
}
