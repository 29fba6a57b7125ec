/// A registered projection without its state type, so the CLI can pick one by name.
public struct AnyProjection: Sendable {
    public let name: String
    public let version: Int
    @usableFromInline let makeFold: @Sendable () -> any EventFold
    @usableFromInline let makeScanFold: @Sendable (Int) -> any ScanFold
    @usableFromInline let makeStepper: @Sendable ([UInt8], (data: [UInt8], version: Int64)?) -> (any AggregateStepper)?

    /// Inlinable, so the folds are specialized for `P` in the module that registers it.
    @inlinable
    public init<P: Projection>(_ projection: P) {
        name = projection.name
        version = projection.version
        makeFold = { AggregateFold(projection) }
        makeScanFold = { expected in
            let fold = ScanOrderFold(projection, expectedAggregates: expected)
            // Compiled here, where P is concrete: `consume` is specialized and inlined.
            fold.feeder = { [unowned fold] cursor in try fold.consumeBatch(from: cursor) }
            return fold
        }
        makeStepper = Self.stepperFactory(projection)
    }

    @usableFromInline
    static func stepperFactory<P: Projection>(_ projection: P) -> @Sendable ([UInt8], (data: [UInt8], version: Int64)?) -> (any AggregateStepper)? {
        { aggregate, row in
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

    /// A fresh fold that takes a range's events in table order (see `ScanOrderFold`).
    public func scanFold(expectedAggregates: Int = 1024) -> any ScanFold {
        makeScanFold(expectedAggregates)
    }
}
