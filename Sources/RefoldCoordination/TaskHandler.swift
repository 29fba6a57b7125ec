/// What a worker does with the tasks of one kind of job.
public protocol TaskHandler: Sendable {
    /// How many tasks to claim per call (1 for heavy tasks, many for tiny ones).
    var claimBatch: Int { get }
    /// Does one task. Throw `TaskFailure` to fail it, `TaskAbandoned` after `shouldAbandon`.
    func perform(_ task: TaskExecution) throws -> TaskOutput
    /// Does the tasks of one claim together (a rebuild reads the table once for all of them),
    /// one result per task in order; nil to have them done one by one with `perform`.
    func perform(batch tasks: [TaskExecution]) -> [Result<TaskOutput, any Error>]?
}

extension TaskHandler {
    public func perform(batch tasks: [TaskExecution]) -> [Result<TaskOutput, any Error>]? { nil }
}

/// Chooses the handler for a job from its payload; throws `TaskFailure` (fatal) when this
/// worker must not run the job (unknown kind, different projection version, …).
public typealias TaskHandlerFactory = @Sendable (_ jobID: String, _ payload: String) throws -> any TaskHandler
