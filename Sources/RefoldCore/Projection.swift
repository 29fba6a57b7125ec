/// A read model built by folding each aggregate's events in version order.
///
/// The engine (`AggregateFold`) keeps versions and quarantine; a projection only says how one
/// event changes the state, and throws a `DataError` for bad data. A step must be a pure
/// function of its inputs, so two folds of the same events agree row for row.
///
/// ```swift
/// struct ItemCount: Projection {
///     let name = "item_count"
///     let version = 1
///     func apply(_ state: Int?, _ event: EventView) throws -> Int? {
///         event.type.equals("ItemAdded") ? (state ?? 0) + 1 : state
///     }
///     func encode(_ state: Int, into data: inout [UInt8]) {
///         JSONWriter.appendRaw("{\"count\":", to: &data)
///         JSONWriter.appendInteger(Int64(state), to: &data)
///         JSONWriter.appendRaw("}", to: &data)
///     }
/// }
/// ```
public protocol Projection: Sendable {
    associatedtype State: Sendable

    /// The read-model table's name, e.g. `order_summary`.
    var name: String { get }
    /// Changes whenever the fold's output would change; workers refuse jobs of another version.
    var version: Int { get }

    /// One fold step. `state` is nil until the aggregate has state; return nil to stay without
    /// state (no row), or the new state. Unknown event types should return `state` unchanged.
    ///
    /// Throw a `DataError` for bad data: the aggregate is quarantined and the run goes on.
    /// Any other error means the projection itself cannot go on (a bug, a missing resource):
    /// the task fails, is retried, and after its last attempt is dead-lettered and reported.
    func apply(_ state: State?, _ event: EventView) throws -> State?

    /// The same step, in place: the engine calls this one, so a state holding collections is
    /// not copied on every event. If it throws, `state` must be left exactly as it was. The
    /// default calls the value form above; override it only for speed.
    func apply(_ state: inout State?, _ event: EventView) throws

    /// The row's JSON for a state.
    func encode(_ state: State, into data: inout [UInt8])

    /// The state a row was written from — the inverse of `encode` — so a catch-up or the live
    /// service continues an aggregate from its row instead of refolding it from its first
    /// event. Return nil when the row cannot be read back; the default always does, and the
    /// engine then refolds the aggregate (slower, same result).
    func decode(_ data: [UInt8]) -> State?
}

extension Projection {
    public func apply(_ state: inout State?, _ event: EventView) throws {
        state = try apply(state, event)
    }

    public func decode(_ data: [UInt8]) -> State? { nil }
}
