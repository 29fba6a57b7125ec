/// Consumes events in (aggregate, version, position) order and produces rows and quarantines.
public protocol EventFold: AnyObject {
    /// Folds one event. Events must arrive grouped by aggregate, in version order.
    /// Throws only what is not a data error (data errors quarantine the aggregate).
    func consume(_ event: EventView) throws
    /// Ends the current aggregate (call once after the last event).
    func finish()
    /// Takes the rows and quarantine records produced so far.
    func drain() -> (rows: [FoldedRow], quarantined: [QuarantineRecord])
    /// Events consumed.
    var eventsConsumed: Int { get }
    /// Distinct aggregates seen.
    var aggregatesSeen: Int { get }
    /// Set by strict mode: the first quarantine, if any.
    var firstQuarantine: QuarantineRecord? { get }
}
