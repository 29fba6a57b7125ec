/// A completed task whose result the coordinator refused (see `RebuildResultCheck`).
public struct RejectedTaskReport: Sendable, Equatable {
    public var task: String
    public var worker: String
    public var reason: String

    public init(task: String, worker: String, reason: String) {
        self.task = task
        self.worker = worker
        self.reason = reason
    }
}
