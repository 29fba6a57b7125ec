/// One event row to append to a Laravel event table (`stored_events`): what a writer gives,
/// before the database assigns its position.
public struct NewEvent: Sendable, Equatable {
    /// The aggregate (stream) id; nil rows belong to no aggregate and are never projected.
    public var aggregate: String?
    public var version: Int64?
    /// The full class name, e.g. `App\Events\ItemAdded`.
    public var eventClass: String
    /// The payload (`event_properties`), JSON text.
    public var payload: String
    public var metaData: String

    public init(aggregate: String?, version: Int64?, eventClass: String, payload: String, metaData: String = "{}") {
        self.aggregate = aggregate
        self.version = version
        self.eventClass = eventClass
        self.payload = payload
        self.metaData = metaData
    }
}
