/// A projection failed on an event with an error that is not a data error: the task fails
/// (and is retried); the aggregate is not quarantined, because the data may be fine.
public struct ProjectionFailure: Error, Sendable, CustomStringConvertible {
    public let projection: String
    public let aggregate: String
    public let version: Int64?
    public let position: Int64
    public let underlying: String

    public init(projection: String, aggregate: String, version: Int64?, position: Int64, underlying: String) {
        self.projection = projection
        self.aggregate = aggregate
        self.version = version
        self.position = position
        self.underlying = underlying
    }

    public var description: String {
        "projection \(projection) failed on aggregate \(aggregate) at version \(version.map(String.init) ?? "NULL") (position \(position)): \(underlying)"
    }
}
