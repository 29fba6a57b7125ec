import RefoldCore
import RefoldSQLite

/// What a forked catch-up tells its workers (the job payload): the projection at its
/// version, where the events and the live table are, and the positions (`from`, `head`].
public struct CatchupJobSpec: Sendable, Equatable {
    public static let kind = "catchup"

    public var projection: String
    public var projectionVersion: Int
    public var locations: RebuildLocations
    public var from: Int64
    public var head: Int64
    /// Seconds to wait for a missing version before quarantining.
    public var grace: Double

    public init(projection: String, projectionVersion: Int, locations: RebuildLocations, from: Int64, head: Int64, grace: Double) {
        self.projection = projection
        self.projectionVersion = projectionVersion
        self.locations = locations
        self.from = from
        self.head = head
        self.grace = grace
    }

    public var payload: String {
        let layout = locations.layout
        return JSONValue.object([
            ("events", .string(locations.events)), ("from", .int(from)), ("grace_ms", .int(Int64(grace * 1000))),
            ("head", .int(head)), ("kind", .string(Self.kind)),
            ("layout", .object([
                ("aggregate", .string(layout.aggregate)), ("event_class", .string(layout.eventClass)), ("id", .string(layout.id)),
                ("payload", .string(layout.payload)), ("table", .string(layout.table)), ("version", .string(layout.version)),
            ])),
            ("projection", .string(projection)), ("projection_version", .int(Int64(projectionVersion))),
            ("read_models", .string(locations.readModels)),
        ]).rendered()
    }

    public init(payload: String) throws(RunnerError) {
        guard let object = JSONTree(parsing: payload), object["kind"]?.string == Self.kind,
              let projection = object["projection"]?.string, let version = object["projection_version"]?.integer,
              let events = object["events"]?.string, let readModels = object["read_models"]?.string,
              let from = object["from"]?.integer, let head = object["head"]?.integer, let layout = object["layout"]
        else { throw RunnerError(.badInput, "the job payload is not a catch-up spec this worker understands.") }
        func name(_ key: String, _ fallback: String) -> String { layout[key]?.string ?? fallback }
        self.init(
            projection: projection, projectionVersion: Int(version),
            locations: RebuildLocations(events: events, readModels: readModels, layout: EventTableLayout(
                table: name("table", "stored_events"), id: name("id", "id"), aggregate: name("aggregate", "aggregate_uuid"),
                version: name("version", "aggregate_version"), eventClass: name("event_class", "event_class"),
                payload: name("payload", "event_properties"))),
            from: from, head: head, grace: Double(object["grace_ms"]?.integer ?? 3000) / 1000)
    }
}

/// A catch-up task's result: what it applied to its range of the live table.
struct CatchupTaskResult: Sendable, Equatable {
    var events: Int64
    var aggregates: Int64
    var rows: Int64
    var duplicates: Int64
    var quarantined: [QuarantineRecord]
    var healed: [String]

    func json(job: String, task: String) -> String {
        JSONValue.object([
            ("kind", .string(CatchupJobSpec.kind)), ("job", .string(job)), ("task", .string(task)),
            ("events", .int(events)), ("aggregates", .int(aggregates)), ("rows", .int(rows)), ("duplicates", .int(duplicates)),
            ("quarantined", .array(quarantined.map(\.json))), ("healed", .array(healed.map { .string($0) })),
        ]).rendered()
    }

    /// Parses a catch-up worker's result for this job and task, or nil.
    static func parse(_ text: String, job: String, task: String) -> CatchupTaskResult? {
        guard let tree = JSONTree(parsing: text), tree["kind"]?.string == CatchupJobSpec.kind,
              tree["job"]?.string == job, tree["task"]?.string == task,
              let events = tree["events"]?.integer, let aggregates = tree["aggregates"]?.integer,
              let rows = tree["rows"]?.integer, let duplicates = tree["duplicates"]?.integer,
              case .array(let quarantined)? = tree["quarantined"], case .array(let healed)? = tree["healed"],
              [events, aggregates, rows, duplicates].allSatisfy({ $0 >= 0 })
        else { return nil }
        var records: [QuarantineRecord] = []
        for item in quarantined {
            guard let aggregate = item["aggregate"]?.string, let position = item["position"]?.integer,
                  let code = item["code"]?.string, let reason = item["reason"]?.string else { return nil }
            records.append(QuarantineRecord(aggregate: aggregate, version: item["version"]?.integer, position: position, code: QuarantineCode(rawValue: code), reason: reason))
        }
        return CatchupTaskResult(events: events, aggregates: aggregates, rows: rows, duplicates: duplicates,
                                 quarantined: records, healed: healed.compactMap(\.string))
    }
}
