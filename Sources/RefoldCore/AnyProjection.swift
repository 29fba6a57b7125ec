/// A registered projection without its state type, so the CLI can pick one by name.
public struct AnyProjection: Sendable {
    public let name: String
    public let version: Int
    private let makeFold: @Sendable () -> any EventFold
    private let makeStepper: @Sendable ([UInt8], (data: [UInt8], version: Int64)?) -> (any AggregateStepper)?

    public init<P: Projection>(_ projection: P) {
        name = projection.name
        version = projection.version
        makeFold = { AggregateFold(projection) }
        makeStepper = { aggregate, row in
            guard let row else { return ProjectionStepper(projection, aggregate: aggregate, state: nil, version: 0) }
            guard let state = projection.decode(row.data) else { return nil }
            return ProjectionStepper(projection, aggregate: aggregate, state: state, version: row.version)
        }
    }

    /// A stepper for an aggregate with no events folded yet (a new one, or a refold).
    public func stepper(aggregate: [UInt8]) -> any AggregateStepper {
        makeStepper(aggregate, nil)!
    }

    /// A stepper that continues from the row written at `version`, or nil when the projection
    /// cannot read its rows back (`Projection.decode`): refold from the first event then.
    public func stepper(aggregate: [UInt8], resumingFrom data: [UInt8], version: Int64) -> (any AggregateStepper)? {
        makeStepper(aggregate, (data, version))
    }

    /// A fresh fold for one run over one range of aggregates.
    public func fold() -> any EventFold {
        makeFold()
    }
}
