/// Folds one aggregate onward, one event at a time, from a known point: nothing (a new
/// aggregate, or a refold from its first event), or the state restored from the row written
/// at `version`. The catch-up and the live service drive it; they decide which event comes
/// next (`version + 1`), what to skip and how long to wait for a missing one (`live.md`).
public protocol AggregateStepper: AnyObject {
    /// The aggregate's id.
    var aggregate: [UInt8] { get }
    /// The version of the last event folded (0: none yet).
    var version: Int64 { get }
    /// Set once the aggregate is quarantined; then nothing more applies.
    var quarantine: QuarantineRecord? { get }

    /// Folds `event`, which must carry version `version + 1`. A `DataError` from the
    /// projection quarantines the aggregate (the state stays at the last good event); any
    /// other error is thrown as `ProjectionFailure`.
    func apply(_ event: EventView) throws
    /// Quarantines the aggregate with `version_gap` at `event` (its version is not the next one).
    func quarantineGap(at event: EventView)
    /// The row for the current state (nil while the aggregate has no state).
    func row() -> FoldedRow?
}

/// The stepper of one projection.
final class ProjectionStepper<P: Projection>: AggregateStepper {
    let projection: P
    let aggregate: [UInt8]
    private(set) var version: Int64
    private(set) var quarantine: QuarantineRecord?
    private var state: P.State?

    init(_ projection: P, aggregate: [UInt8], state: P.State?, version: Int64) {
        self.projection = projection
        self.aggregate = aggregate
        self.state = state
        self.version = version
    }

    func apply(_ event: EventView) throws {
        guard quarantine == nil else { return }
        guard let next = event.version, next == version + 1 else {
            quarantineGap(at: event)
            return
        }
        do {
            try projection.apply(&state, event)
            version = next
        } catch let error as DataError {
            quarantine = QuarantineRecord(event: event, error: error)
        } catch {
            throw ProjectionFailure(
                projection: projection.name, aggregate: event.aggregateID, version: event.version,
                position: event.position, underlying: "\(error)")
        }
    }

    func quarantineGap(at event: EventView) {
        guard quarantine == nil else { return }
        let got = event.version.map(String.init) ?? "NULL"
        quarantine = QuarantineRecord(event: event, error: DataError(.versionGap, "expected version \(version + 1), found \(got)"))
    }

    func row() -> FoldedRow? {
        guard let state else { return nil }
        var data: [UInt8] = []
        data.reserveCapacity(128)
        projection.encode(state, into: &data)
        return FoldedRow(aggregate: aggregate, data: data, version: version)
    }
}

extension QuarantineRecord {
    /// The record of `event` stopping its aggregate with `error` (the reason names the event).
    public init(event: EventView, error: DataError) {
        self.init(
            aggregate: event.aggregateID, version: event.version, position: event.position, code: error.code,
            reason: "\(event.typeName) at version \(event.version.map(String.init) ?? "NULL"): \(error.reason)")
    }
}
