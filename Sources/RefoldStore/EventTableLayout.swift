/// Names of the event table and its columns; defaults are Laravel's `stored_events`
/// (spatie/laravel-event-sourcing). Only these five columns are read.
public struct EventTableLayout: Sendable, Equatable {
    public var table: String
    public var id: String
    public var aggregate: String
    public var version: String
    public var eventClass: String
    public var payload: String

    public init(
        table: String = "stored_events", id: String = "id", aggregate: String = "aggregate_uuid",
        version: String = "aggregate_version", eventClass: String = "event_class", payload: String = "event_properties"
    ) {
        self.table = table
        self.id = id
        self.aggregate = aggregate
        self.version = version
        self.eventClass = eventClass
        self.payload = payload
    }

    /// (column, the flag that renames it), for messages.
    public var columns: [(name: String, flag: String)] {
        [(id, "--id-column"), (aggregate, "--aggregate-column"), (version, "--version-column"),
         (eventClass, "--class-column"), (payload, "--payload-column")]
    }
}
