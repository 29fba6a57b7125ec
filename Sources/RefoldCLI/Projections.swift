import RefoldCore
import RefoldOrderSummary
import Synchronization

/// The projections this binary knows: `order_summary`, registered here exactly as a user's
/// projection is, and whatever `RefoldMain.run(projections:)` adds.
enum Projections {
    /// The ones every refold binary carries.
    static let builtIn: [AnyProjection] = [AnyProjection(OrderSummaryProjection())]

    private static let registry = Mutex(ProjectionRegistry(builtIn))

    static func register(_ projections: [AnyProjection]) {
        registry.withLock { current in
            for projection in projections { current.register(projection) }
        }
    }

    static var current: ProjectionRegistry { registry.withLock { $0 } }

    /// The projection called `name`, or exit 2 naming the known ones.
    static func named(_ name: String) throws -> AnyProjection {
        let known = current
        guard let projection = known.projection(named: name) else {
            throw CLIError(.badInput, "unknown projection \"\(name)\" (known: \(known.names.joined(separator: ", "))).")
        }
        return projection
    }
}
