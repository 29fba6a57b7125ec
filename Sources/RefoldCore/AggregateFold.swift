/// The fold engine for one projection.
///
/// **Per-aggregate order is kept here.** The event source delivers each aggregate's events
/// contiguously, ordered by `aggregate_version` then position; this class folds them one by
/// one and demands that versions run 1, 2, 3 … — the first event must be version 1, and any
/// NULL, repeated or skipped version is a `version_gap`. The first data error stops the
/// aggregate: its row keeps the state and version of the last good event, and none of its
/// later events are applied.
public final class AggregateFold<P: Projection>: EventFold {
    private let projection: P
    private var current: [UInt8] = []
    private var hasCurrent = false
    private var state: P.State?
    private var version: Int64 = 0
    private var quarantined = false
    private var rows: [FoldedRow] = []
    private var quarantines: [QuarantineRecord] = []
    public private(set) var eventsConsumed = 0
    public private(set) var aggregatesSeen = 0
    public private(set) var firstQuarantine: QuarantineRecord?

    public init(_ projection: P) {
        self.projection = projection
    }

    public func consume(_ event: EventView) throws {
        eventsConsumed += 1
        if !hasCurrent || !current.equals(event.aggregate) {
            finish()
            current = Array(event.aggregate)
            hasCurrent = true
            aggregatesSeen += 1
            state = nil
            version = 0
            quarantined = false
        }
        if quarantined { return }
        guard let eventVersion = event.version, eventVersion == version + 1 else {
            let got = event.version.map(String.init) ?? "NULL"
            quarantine(event, DataError(.versionGap, "expected version \(version + 1), found \(got)"))
            return
        }
        do {
            try projection.apply(&state, event)
            version = eventVersion
        } catch let error as DataError {
            quarantine(event, error)
        } catch {
            throw ProjectionFailure(
                projection: projection.name, aggregate: event.aggregateID, version: event.version,
                position: event.position, underlying: "\(error)")
        }
    }

    public func finish() {
        guard hasCurrent else { return }
        if let state {
            var data: [UInt8] = []
            data.reserveCapacity(128)
            projection.encode(state, into: &data)
            rows.append(FoldedRow(aggregate: current, data: data, version: version))
        }
        state = nil
        hasCurrent = false
    }

    public func drain() -> (rows: [FoldedRow], quarantined: [QuarantineRecord]) {
        defer {
            rows.removeAll(keepingCapacity: true)
            quarantines.removeAll(keepingCapacity: true)
        }
        return (rows, quarantines)
    }

    private func quarantine(_ event: EventView, _ error: DataError) {
        quarantined = true
        let record = QuarantineRecord(event: event, error: error)
        quarantines.append(record)
        if firstQuarantine == nil { firstQuarantine = record }
    }
}

#if canImport(Glibc)
import Glibc
#endif
