import Foundation
import RefoldCore
import RefoldSQLite

/// What a rebuild job tells its workers (the job payload, JSON): which projection at which
/// version, where the events and the shadow table are (absolute paths), and the head.
public struct RebuildJobSpec: Sendable, Equatable {
    public static let kind = "rebuild"

    public var projection: String
    public var projectionVersion: Int
    public var protocolVersion: Int
    public var locations: RebuildLocations
    public var head: Int64
    public var strict: Bool
    /// Tasks a worker claims at once and folds in one pass over the table (SQLite's table
    /// order): the coordinator sets it to its tasks per local worker; 1 otherwise.
    public var claimBatch = 1

    public init(projection: String, projectionVersion: Int, protocolVersion: Int = 1, locations: RebuildLocations, head: Int64, strict: Bool) {
        self.projection = projection
        self.projectionVersion = projectionVersion
        self.protocolVersion = protocolVersion
        self.locations = locations
        self.head = head
        self.strict = strict
    }

    public var payload: String {
        let layout = locations.layout
        return JSONValue.object([
            ("events", .string(locations.events)), ("head", .int(head)), ("kind", .string(Self.kind)),
            ("layout", .object([
                ("aggregate", .string(layout.aggregate)), ("event_class", .string(layout.eventClass)), ("id", .string(layout.id)),
                ("payload", .string(layout.payload)), ("table", .string(layout.table)), ("version", .string(layout.version)),
            ])),
            ("projection", .string(projection)), ("projection_version", .int(Int64(projectionVersion))),
            ("protocol", .int(Int64(protocolVersion))), ("read_models", .string(locations.readModels)), ("strict", .bool(strict)),
            ("claim_batch", .int(Int64(claimBatch))),
        ]).rendered()
    }

    public init(payload: String) throws(RunnerError) {
        guard let object = JSONTree(parsing: payload), object["kind"]?.string == Self.kind,
              let projection = object["projection"]?.string, let version = object["projection_version"]?.integer,
              let events = object["events"]?.string, let readModels = object["read_models"]?.string,
              let head = object["head"]?.integer, let layout = object["layout"], case .object = layout
        else { throw RunnerError(.badInput, "the job payload is not a rebuild spec this worker understands.") }
        func name(_ key: String, _ fallback: String) -> String { layout[key]?.string ?? fallback }
        self.init(
            projection: projection, projectionVersion: Int(version), protocolVersion: Int(object["protocol"]?.integer ?? 1),
            locations: RebuildLocations(events: events, readModels: readModels, layout: EventTableLayout(
                table: name("table", "stored_events"), id: name("id", "id"), aggregate: name("aggregate", "aggregate_uuid"),
                version: name("version", "aggregate_version"), eventClass: name("event_class", "event_class"),
                payload: name("payload", "event_properties"))),
            head: head, strict: object["strict"]?.bool ?? false)
        claimBatch = min(16, max(1, Int(object["claim_batch"]?.integer ?? 1)))
    }
}

extension TaskSummary {
    /// The task result stored in Redis (quarantines live in the read-model database). It names
    /// its kind, job and task, so the coordinator can tell a rebuild worker's answer from a
    /// stray client's (see `RebuildResultCheck`).
    public func resultJSON(job: String, task: String) -> String {
        JSONValue.object([
            ("kind", .string(RebuildJobSpec.kind)), ("job", .string(job)), ("task", .string(task)),
            ("events", .int(Int64(events))), ("aggregates", .int(Int64(aggregates))), ("rows", .int(Int64(rows))),
            ("quarantined", .int(Int64(quarantined.count))), ("seconds", .double(seconds)), ("rss_kb", .int(peakRSSKilobytes ?? 0)),
        ]).rendered()
    }
}
