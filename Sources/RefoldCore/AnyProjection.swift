/// A registered projection without its state type, so the CLI can pick one by name.
public struct AnyProjection: Sendable {
    public let name: String
    public let version: Int
    private let makeFold: @Sendable () -> any EventFold

    public init<P: Projection>(_ projection: P) {
        name = projection.name
        version = projection.version
        makeFold = { AggregateFold(projection) }
    }

    /// A fresh fold for one run over one range of aggregates.
    public func fold() -> any EventFold {
        makeFold()
    }
}
