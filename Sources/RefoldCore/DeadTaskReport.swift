/// A dead task as the report lists it.
public struct DeadTaskReport: Sendable, Equatable {
    public var task: String
    public var attempts: Int
    public var error: String

    public init(task: String, attempts: Int, error: String) {
        self.task = task
        self.attempts = attempts
        self.error = error
    }
}
