import Foundation
import RefoldCoordination
import RefoldCore

/// Locations a worker on another host uses instead of the ones the job recorded.
public struct LocationOverrides: Sendable {
    public var events: String?
    public var readModels: String?

    public init(events: String? = nil, readModels: String? = nil) {
        self.events = events
        self.readModels = readModels
    }
}

/// Picks the task handler for a job from its payload's `kind`.
public struct WorkerHandlers: Sendable {
    public let overrides: LocationOverrides
    public let registry: ProjectionRegistry

    public init(overrides: LocationOverrides = LocationOverrides(), registry: ProjectionRegistry) {
        self.overrides = overrides
        self.registry = registry
    }

    /// The handler for a job, or a fatal `TaskFailure` saying why this worker must not run it.
    public func handler(jobID: String, payload: String) throws -> any TaskHandler {
        switch JobPayload.kind(of: payload) {
        case "noop":
            let batch = JSONTree(parsing: payload)?["batch"]?.integer.map(Int.init)
            return NoopTaskHandler(claimBatch: min(max(batch ?? 100, 1), 1000))
        case RebuildJobSpec.kind?:
            do {
                return try RebuildTaskHandler(jobID: jobID, spec: RebuildJobSpec(payload: payload), registry: registry, overrides: overrides)
            } catch let error as RunnerError {
                throw TaskFailure(retryable: false, error.message)
            }
        case CatchupJobSpec.kind?:
            do {
                return try CatchupTaskHandler(jobID: jobID, spec: CatchupJobSpec(payload: payload), registry: registry, overrides: overrides)
            } catch let error as RunnerError {
                throw TaskFailure(.fatal, error.message)
            }
        case let kind?:
            throw TaskFailure(retryable: false, "job \(jobID) is of kind \"\(kind)\", which this refold build does not know (upgrade the worker).")
        case nil:
            throw TaskFailure(retryable: false, "job \(jobID) has no readable payload (expected a JSON object with \"kind\").")
        }
    }
}
