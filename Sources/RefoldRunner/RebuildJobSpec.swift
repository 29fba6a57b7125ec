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

    public init(projection: String, projectionVersion: Int, protocolVersion: Int = 1, locations: RebuildLocations, head: Int64, strict: Bool) {
        self.projection = projection
        self.projectionVersion = projectionVersion
        self.protocolVersion = protocolVersion
        self.locations = locations
        self.head = head
        self.strict = strict
    }

    public var payload: String {
        let object: [String: Any] = [
            "kind": Self.kind, "projection": projection, "projection_version": projectionVersion,
            "protocol": protocolVersion, "events": locations.events, "read_models": locations.readModels,
            "head": head, "strict": strict,
            "layout": [
                "table": locations.layout.table, "id": locations.layout.id, "aggregate": locations.layout.aggregate,
                "version": locations.layout.version, "event_class": locations.layout.eventClass, "payload": locations.layout.payload,
            ],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public init(payload: String) throws(RunnerError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
              object["kind"] as? String == Self.kind,
              let projection = object["projection"] as? String, let version = object["projection_version"] as? Int,
              let events = object["events"] as? String, let readModels = object["read_models"] as? String,
              let head = (object["head"] as? NSNumber)?.int64Value, let layout = object["layout"] as? [String: String]
        else { throw RunnerError(.badInput, "the job payload is not a rebuild spec this worker understands.") }
        self.init(
            projection: projection, projectionVersion: version, protocolVersion: object["protocol"] as? Int ?? 1,
            locations: RebuildLocations(events: events, readModels: readModels, layout: EventTableLayout(
                table: layout["table"] ?? "stored_events", id: layout["id"] ?? "id", aggregate: layout["aggregate"] ?? "aggregate_uuid",
                version: layout["version"] ?? "aggregate_version", eventClass: layout["event_class"] ?? "event_class",
                payload: layout["payload"] ?? "event_properties")),
            head: head, strict: object["strict"] as? Bool ?? false)
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
