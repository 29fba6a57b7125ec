/// The projections a binary knows, by name.
public struct ProjectionRegistry: Sendable {
    public private(set) var projections: [String: AnyProjection] = [:]

    public init(_ projections: [AnyProjection] = []) {
        for projection in projections { register(projection) }
    }

    public mutating func register(_ projection: AnyProjection) {
        projections[projection.name] = projection
    }

    public func projection(named name: String) -> AnyProjection? {
        projections[name]
    }

    public var names: [String] { projections.keys.sorted() }
}
