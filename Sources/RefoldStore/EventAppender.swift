import RefoldCore

/// What an append did.
public enum AppendOutcome: Sendable, Equatable {
    case appended(version: Int64, position: Int64)
    /// `expected` was stale (or a racing writer took the version): nothing written.
    case conflict(current: Int64)
}

/// Appends events to a Laravel event table with optimistic concurrency (the unique
/// `(aggregate_uuid, aggregate_version)` index decides between racing writers). Only
/// `refold append` (and the HTTP API's append) writes the user's event table, when asked to.
public protocol EventAppender: AnyObject {
    /// The aggregate's highest version now (0: no events).
    func currentVersion(of aggregate: String) throws(StoreError) -> Int64
    /// Appends `event` at the aggregate's next version, or at `expected + 1` only if the
    /// aggregate is at `expected` now.
    func append(_ event: NewEvent, expected: Int64?) throws(StoreError) -> AppendOutcome
}
