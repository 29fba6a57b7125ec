/// The leases one worker holds, and when each must be considered lost. Pure state: no I/O,
/// no clock of its own (callers pass `now` in seconds of a monotonic clock), so every rule
/// is unit-tested without Redis.
///
/// Invariant kept here: a worker stops working on a task as soon as either the server says
/// its lease is lost, or the worker cannot prove the lease is alive — no heartbeat has been
/// confirmed for `safety` × lease length (Redis down, process paused). Past that point the
/// server may already have handed the task to someone else.
public struct LeaseBook: Sendable {
    /// One held lease.
    public struct Entry: Sendable, Equatable {
        public let lease: TaskLease
        /// Lease length in seconds, as granted by claim (deadline − server time).
        public let leaseSeconds: Double
        /// Local time of the last claim or confirmed renewal.
        public var confirmedAt: Double
        /// Events done so far, sent with the next heartbeat.
        public var events: Int
        /// Set once the lease is known or presumed lost; never cleared.
        public var lost: Bool
    }

    private struct Key: Hashable, Sendable {
        let job: String
        let task: String
    }

    private var entries: [Key: Entry] = [:]
    /// Fraction of the lease after which an unconfirmed lease is presumed lost.
    public let safety: Double

    public init(safety: Double = 0.8) {
        self.safety = safety
    }

    /// Number of leases held (lost ones included until dropped).
    public var count: Int { entries.count }

    /// Starts tracking a freshly claimed lease.
    public mutating func hold(_ lease: TaskLease, serverMilliseconds: Int64, now: Double) {
        let seconds = max(0.001, Double(lease.deadlineMilliseconds - serverMilliseconds) / 1000)
        entries[Key(job: lease.jobID, task: lease.taskID)] = Entry(
            lease: lease, leaseSeconds: seconds, confirmedAt: now, events: 0, lost: false)
    }

    /// Stops tracking a lease (completed, failed, released or abandoned).
    public mutating func drop(_ lease: TaskLease) {
        entries[Key(job: lease.jobID, task: lease.taskID)] = nil
    }

    /// Records progress to send with the next heartbeat.
    public mutating func setProgress(_ lease: TaskLease, events: Int) {
        entries[Key(job: lease.jobID, task: lease.taskID)]?.events = events
    }

    /// Whether the worker must stop working on this lease now.
    public func isLost(_ lease: TaskLease, now: Double) -> Bool {
        guard let entry = entries[Key(job: lease.jobID, task: lease.taskID)], entry.lease.token == lease.token else {
            return true
        }
        return entry.lost || now - entry.confirmedAt > entry.leaseSeconds * safety
    }

    /// Marks leases whose confirmation is overdue as lost; returns the newly lost ones.
    public mutating func expireUnconfirmed(now: Double) -> [TaskLease] {
        var lost: [TaskLease] = []
        for (key, entry) in entries where !entry.lost && now - entry.confirmedAt > entry.leaseSeconds * safety {
            entries[key]?.lost = true
            lost.append(entry.lease)
        }
        return lost
    }

    /// Seconds between heartbeats: a third of the shortest lease held (so two may fail in a
    /// row), and at most one second, so the coordinator's progress bar stays live.
    public var heartbeatInterval: Double? {
        entries.values.filter { !$0.lost }.map(\.leaseSeconds).min().map { min($0 / 3, 1) }
    }

    /// What to send: per job, every live lease with its progress.
    public func heartbeatPlan() -> [String: [(lease: TaskLease, events: Int)]] {
        var plan: [String: [(lease: TaskLease, events: Int)]] = [:]
        for entry in entries.values where !entry.lost {
            plan[entry.lease.jobID, default: []].append((entry.lease, entry.events))
        }
        return plan
    }

    /// Applies a heartbeat answer for the leases `sent` (sent at local time `sentAt`); returns the newly lost leases.
    public mutating func apply(_ outcome: HeartbeatOutcome, sent: [TaskLease], sentAt: Double) -> [TaskLease] {
        let lostIDs: Set<String>
        switch outcome {
        case .renewed(let lost): lostIDs = Set(lost)
        case .cancelled, .closed: lostIDs = Set(sent.map(\.taskID))
        }
        var newlyLost: [TaskLease] = []
        for lease in sent {
            let key = Key(job: lease.jobID, task: lease.taskID)
            guard var entry = entries[key], entry.lease.token == lease.token, !entry.lost else { continue }
            if lostIDs.contains(lease.taskID) {
                entry.lost = true
                newlyLost.append(lease)
            } else {
                // Renewed from the moment the heartbeat was sent, not received: the conservative end.
                entry.confirmedAt = max(entry.confirmedAt, sentAt)
            }
            entries[key] = entry
        }
        return newlyLost
    }
}
