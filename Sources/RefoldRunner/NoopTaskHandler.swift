import RefoldCoordination

/// Completes tasks without doing anything: what `refold bench coordination` measures is the
/// protocol alone. Claims many at once, since a worker may hold several leases.
public struct NoopTaskHandler: TaskHandler {
    public let claimBatch: Int

    public init(claimBatch: Int = 100) {
        self.claimBatch = claimBatch
    }

    public func perform(_ task: TaskExecution) throws -> TaskOutput {
        TaskOutput(events: 0, result: "")
    }
}
