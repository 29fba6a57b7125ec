import Foundation
import RefoldCoordination
import RefoldCore
import RefoldSQLite

/// A worker's side of a forked catch-up: apply the delta of one range of aggregates to the
/// live table (and re-examine the range's quarantined aggregates). The checkpoint is the
/// coordinator's to move, after every range is done.
public struct CatchupTaskHandler: TaskHandler {
    public let claimBatch = 1
    let spec: CatchupJobSpec
    let projection: AnyProjection
    let jobID: String

    public init(jobID: String, spec: CatchupJobSpec, registry: ProjectionRegistry, overrides: LocationOverrides) throws {
        guard let projection = registry.projection(named: spec.projection) else {
            throw TaskFailure(.fatal, "this worker does not know the projection \"\(spec.projection)\" (known: \(registry.names.joined(separator: ", "))).")
        }
        guard projection.version == spec.projectionVersion else {
            throw TaskFailure(.fatal, "this worker's \(spec.projection) is version \(projection.version) but job \(jobID) is for version \(spec.projectionVersion).")
        }
        var spec = spec
        if let events = overrides.events { spec.locations.events = events }
        if let readModels = overrides.readModels { spec.locations.readModels = readModels }
        self.spec = spec
        self.projection = projection
        self.jobID = jobID
    }

    public func perform(_ task: TaskExecution) throws -> TaskOutput {
        guard let range = AggregateRange(spec: task.lease.spec) else {
            throw TaskFailure(.fatal, "task \(task.lease.taskID) has a spec that is not a partition range: \(task.lease.spec.prefix(200))")
        }
        do {
            let source = try Stores.events(spec.locations.events, layout: spec.locations.layout)
            let store = try Stores.readModels(spec.locations.readModels, create: false)
            let applier = LiveApplier(projection: projection, source: source, store: store, grace: spec.grace)
            let delta = try source.events(after: spec.from, through: spec.head, range: range)
            if task.shouldAbandon { throw TaskAbandoned() }
            let records = try store.quarantined(projection: spec.projection).filter { range.contains(Array($0.aggregate.utf8)) }
            var outcome = try applier.apply(delta: delta, quarantined: Set(records.map(\.aggregate)))
            let healing = try applier.heal(records)
            outcome.rows += healing.rows
            outcome.quarantined += healing.quarantined
            outcome.healed = healing.healed
            task.reportProgress(events: outcome.events)
            if task.shouldAbandon { throw TaskAbandoned() }
            let written = try Catchup.write(outcome, store: store, projection: spec.projection, checkpoint: nil)
            let result = CatchupTaskResult(
                events: Int64(outcome.events), aggregates: Int64(outcome.aggregates), rows: Int64(written),
                duplicates: Int64(outcome.duplicates), quarantined: outcome.quarantined, healed: outcome.healed)
            return TaskOutput(events: outcome.events, result: result.json(job: jobID, task: task.lease.taskID))
        } catch let error as StoreError {
            switch error.code {
            case .stopped: throw TaskAbandoned()
            case .badInput: throw TaskFailure(.notHere, error.message)
            case .infrastructure, .busy, .locked: throw TaskFailure(.retry, error.message)
            }
        } catch let failure as ProjectionFailure {
            throw TaskFailure(.retry, failure.description)
        }
    }
}
