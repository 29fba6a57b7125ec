import Foundation
import RefoldCoordination
import RefoldCore
import RefoldSQLite

/// A worker's side of a rebuild: fold one partition range into the job's shadow table.
///
/// Connections are opened per task (cheap next to a task's thousands of events), so the
/// handler holds no C handle and is plainly `Sendable`.
public struct RebuildTaskHandler: TaskHandler {
    /// This process's peak resident memory (`VmHWM`). Not `getrusage`: Linux carries
    /// `ru_maxrss` across exec, so a worker spawned by a big process would report its parent's.
    static func peakResidentKilobytes() -> Int64? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }
        }
        return nil
    }

    public var claimBatch: Int { spec.claimBatch }
    let spec: RebuildJobSpec
    let projection: AnyProjection
    let jobID: String

    /// Refuses (fatally) a job this binary would fold differently.
    public init(jobID: String, spec: RebuildJobSpec, registry: ProjectionRegistry, overrides: LocationOverrides) throws {
        guard spec.protocolVersion == 1 else {
            throw TaskFailure(retryable: false, "job \(jobID) speaks rebuild protocol \(spec.protocolVersion); this worker speaks 1 (upgrade the worker).")
        }
        guard let projection = registry.projection(named: spec.projection) else {
            throw TaskFailure(retryable: false, "this worker does not know the projection \"\(spec.projection)\" (known: \(registry.names.joined(separator: ", "))); run a refold binary that registers it.")
        }
        guard projection.version == spec.projectionVersion else {
            throw TaskFailure(retryable: false, "this worker's \(spec.projection) is version \(projection.version) but job \(jobID) was planned with version \(spec.projectionVersion); refusing to write a different model (run the same refold build everywhere).")
        }
        var spec = spec
        if let events = overrides.events { spec.locations.events = events }
        if let readModels = overrides.readModels { spec.locations.readModels = readModels }
        self.spec = spec
        self.projection = projection
        self.jobID = jobID
    }

    /// The tasks of one claim in one pass over the table, when their ranges are adjacent and
    /// the table can be read in its order; nil otherwise (then one by one).
    public func perform(batch tasks: [TaskExecution]) -> [Result<TaskOutput, any Error>]? {
        let ranges = tasks.compactMap { AggregateRange(spec: $0.lease.spec) }
        guard ranges.count == tasks.count else { return nil }
        let source: any EventSource
        let store: any ReadModelStore
        do {
            source = try Stores.events(spec.locations.events, layout: spec.locations.layout)
            store = try Stores.readModels(spec.locations.readModels, create: false)
            guard try store.hasShadow(projection: spec.projection) else { return nil }
        } catch {
            return nil  // one by one, where each task says what is wrong
        }
        do {
            let summaries = try RangeRebuild.runInTableOrder(
                projection: projection, source: source, store: store, ranges: ranges, head: spec.head,
                table: ReadModelNames.shadowTable(spec.projection), job: jobID, strict: spec.strict,
                keepGoing: { done in
                    for task in tasks { task.reportProgress(events: done / tasks.count) }
                    return !tasks.contains { $0.shouldAbandon }
                })
            guard let summaries else { return nil }
            let peak = Self.peakResidentKilobytes()
            return zip(tasks, summaries).map { task, summary in
                var measured = summary
                measured.peakRSSKilobytes = peak
                return .success(TaskOutput(events: summary.events, result: measured.resultJSON(job: jobID, task: task.lease.taskID)))
            }
        } catch let error as StoreError where error.code == .stopped {
            return tasks.map { _ in .failure(TaskAbandoned()) }
        } catch {
            // Nothing was written: one by one, so a failure stays with the task it belongs to
            // (a poison aggregate must not take its batch-mates' attempts).
            return nil
        }
    }

    public func perform(_ task: TaskExecution) throws -> TaskOutput {
        guard let range = AggregateRange(spec: task.lease.spec) else {
            throw TaskFailure(retryable: false, "task \(task.lease.taskID) has a spec that is not a partition range: \(task.lease.spec.prefix(200))")
        }
        do {
            let source = try Stores.events(spec.locations.events, layout: spec.locations.layout)
            let store = try Stores.readModels(spec.locations.readModels, create: false)
            guard try store.hasShadow(projection: spec.projection) else {
                // The coordinator made it before forking: if it is not here, this worker looks
                // at another file than the coordinator does (a wrong --read-models on this host).
                throw TaskFailure(.notHere, "the shadow table \(ReadModelNames.shadowTable(spec.projection)) is not in \(spec.locations.readModels) on this host (is --read-models the coordinator's database?).")
            }
            let summary = try RangeRebuild.run(
                projection: projection, source: source, store: store, range: range, head: spec.head,
                table: ReadModelNames.shadowTable(spec.projection), job: jobID, strict: spec.strict,
                keepGoing: { done in
                    task.reportProgress(events: done)
                    return !task.shouldAbandon
                })
            var measured = summary
            measured.peakRSSKilobytes = Self.peakResidentKilobytes()
            return TaskOutput(events: summary.events, result: measured.resultJSON(job: jobID, task: task.lease.taskID))
        } catch {
            throw Self.taskFailure(error)
        }
    }

    /// What an error during a task means to the loop: a failure (retried or not), or
    /// `TaskAbandoned` (stopped: the lease was lost or the worker is shutting down).
    static func taskFailure(_ error: any Error) -> any Error {
        switch error {
        case let failure as TaskFailure:
            return failure
        case let stop as StrictModeDataError:
            let record = stop.record
            return TaskFailure(retryable: false, "strict mode: aggregate \(record.aggregate) has a data error at version \(record.version.map(String.init) ?? "NULL") (position \(record.position)): \(record.code.rawValue): \(record.reason)")
        case let error as StoreError:
            switch error.code {
            case .stopped: return TaskAbandoned()
            // A file, table or column missing here was there for the coordinator: this host differs.
            case .badInput: return TaskFailure(.notHere, error.message)
            case .infrastructure, .busy, .locked: return TaskFailure(.retry, error.message)
            }
        case let failure as ProjectionFailure:
            // Maybe transient (a resource the projection needs); retried until max attempts.
            return TaskFailure(retryable: true, failure.description)
        default:
            // Anything else counts as a failure (retried), never as a silent hand-back.
            return TaskFailure(retryable: true, "\(error)")
        }
    }
}
