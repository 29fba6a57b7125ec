/// One finished task to report with complete.lua.
public struct TaskCompletion: Sendable, Equatable {
    public let lease: TaskLease
    /// Events the task folded (its contribution to progress).
    public let events: Int
    /// Opaque result text stored with the task (the rebuild puts its task report here).
    public let result: String

    public init(lease: TaskLease, events: Int, result: String) {
        self.lease = lease
        self.events = events
        self.result = result
    }
}
