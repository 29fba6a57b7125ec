/// Thrown by a handler that noticed `TaskExecution.shouldAbandon`; the loop then drops or releases the task.
public struct TaskAbandoned: Error, Sendable {
    public init() {}
}
