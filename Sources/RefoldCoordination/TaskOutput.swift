/// A finished task's output.
public struct TaskOutput: Sendable {
    /// Events the task processed (its progress contribution).
    public var events: Int
    /// Opaque result stored with the task (the rebuild stores its task report as JSON).
    public var result: String

    public init(events: Int, result: String) {
        self.events = events
        self.result = result
    }
}
