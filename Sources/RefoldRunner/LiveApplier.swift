import Foundation
import RefoldCore
import RefoldSQLite

/// Applies new events to live rows by the rules of `live.md`, for a catch-up task, an inline
/// catch-up or the live service:
///
/// - a row at version `v` takes exactly `v + 1`; events at `≤ v` are duplicates (skipped,
///   counted); a new aggregate (no row, no quarantine) starts at version 1;
/// - a version above `v + 1` means events are missing now: the aggregate is re-read from the
///   store (any position) until the missing version appears or `grace` has passed since the
///   gap was seen, then it is quarantined with `version_gap` at the offending event;
/// - a quarantined aggregate takes no events here; `heal` refolds it from its first event,
///   and what no longer fails comes back (reported as healed).
///
/// Rows continue from their stored state when the projection can read its rows back
/// (`Projection.decode`), else the aggregate is refolded from its first event: the same rows
/// either way. Nothing is written here; the caller writes what `apply` and `heal` return.
public final class LiveApplier {
    public struct Outcome: Sendable {
        public var rows: [FoldedRow] = []
        public var quarantined: [QuarantineRecord] = []
        public var healed: [String] = []
        /// Events of the delta (all of them, duplicates and quarantined aggregates' included).
        public var events = 0
        /// Aggregates the delta touched.
        public var aggregates = 0
        /// Delta events at or below their row's version: already applied.
        public var duplicates = 0

        public init() {}

        public mutating func merge(_ other: Outcome) {
            rows += other.rows
            quarantined += other.quarantined
            healed += other.healed
            events += other.events
            aggregates += other.aggregates
            duplicates += other.duplicates
        }
    }

    let projection: AnyProjection
    let source: SQLiteEventSource
    let store: SQLiteReadModelStore
    let grace: Double
    let clock: () -> Double
    let pause: (Double) -> Void

    public init(
        projection: AnyProjection, source: SQLiteEventSource, store: SQLiteReadModelStore, grace: Double,
        clock: @escaping () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
        pause: @escaping (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
    ) {
        self.projection = projection
        self.source = source
        self.store = store
        self.grace = grace
        self.clock = clock
        self.pause = pause
    }

    /// An aggregate waiting for a missing version.
    private struct Waiting {
        let stepper: any AggregateStepper
        let startVersion: Int64
        /// The event that showed the gap (quarantined at, if the gap stays).
        let offending: StoredEvent
        let since: Double
    }

    private enum Drive {
        case done
        case gap(StoredEvent)
    }

    /// Applies `delta` (events after the checkpoint, any order). Aggregates in `quarantined`
    /// take nothing (see `heal`). Waits for missing versions at most `grace` seconds in all.
    public func apply(delta: [StoredEvent], quarantined: Set<String>) throws -> Outcome {
        var outcome = Outcome()
        outcome.events = delta.count
        let groups = Dictionary(grouping: delta, by: \.aggregate)
        outcome.aggregates = groups.count
        var waiting: [Waiting] = []
        for aggregate in groups.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard !quarantined.contains(String(decoding: aggregate, as: UTF8.self)) else { continue }
            let events = groups[aggregate]!.sorted(by: StoredEvent.versionOrder)
            let row = try store.row(projection: projection.name, aggregate: aggregate)
            let stored = row?.version ?? 0
            let pending = events.filter { $0.version.map { $0 > stored } ?? true }
            outcome.duplicates += events.count - pending.count
            guard !pending.isEmpty else { continue }
            let (stepper, queue) = try start(aggregate, row: row, pending: pending)
            switch try drive(stepper, queue) {
            case .done: finish(stepper, from: stored, into: &outcome)
            case .gap(let event): waiting.append(Waiting(stepper: stepper, startVersion: stored, offending: event, since: clock()))
            }
        }
        try resolve(waiting, into: &outcome)
        return outcome
    }

    /// Re-examines quarantined aggregates: each is refolded from its first event; those that
    /// now fold cleanly (the missing event appeared, a payload was fixed) come back as healed
    /// with their row; those that fail elsewhere get an updated record.
    public func heal(_ records: [QuarantineRecord]) throws -> Outcome {
        var outcome = Outcome()
        for record in records {
            let aggregate = Array(record.aggregate.utf8)
            let stepper = projection.stepper(aggregate: aggregate)
            for event in try source.events(ofAggregate: aggregate) {
                guard stepper.quarantine == nil else { break }
                guard let version = event.version, version <= stepper.version + 1 else {
                    event.withView { stepper.quarantineGap(at: $0) }
                    break
                }
                if version <= stepper.version { continue }  // a duplicate version: the first one counts
                try event.withView { try stepper.apply($0) }
            }
            if let still = stepper.quarantine {
                if still != record { outcome.quarantined.append(still) }
                continue
            }
            outcome.healed.append(record.aggregate)
            if let row = stepper.row() { outcome.rows.append(row) }
        }
        return outcome
    }

    // MARK: Steps

    /// The stepper for an aggregate and the events to feed it: from its row when the
    /// projection can read rows back, else a refold from the first event.
    private func start(_ aggregate: [UInt8], row: (data: [UInt8], version: Int64)?, pending: [StoredEvent]) throws -> (any AggregateStepper, [StoredEvent]) {
        guard let row else { return (projection.stepper(aggregate: aggregate), pending) }
        if let resumed = projection.stepper(aggregate: aggregate, resumingFrom: row.data, version: row.version) {
            return (resumed, pending)
        }
        return (projection.stepper(aggregate: aggregate), try source.events(ofAggregate: aggregate))
    }

    /// Feeds events in version order until the end, a quarantine, or a gap.
    private func drive(_ stepper: any AggregateStepper, _ events: [StoredEvent]) throws -> Drive {
        for event in events {
            guard stepper.quarantine == nil else { return .done }
            guard let version = event.version else {
                // A NULL version can never be filled: a gap at once.
                event.withView { stepper.quarantineGap(at: $0) }
                return .done
            }
            if version <= stepper.version { continue }
            if version > stepper.version + 1 { return .gap(event) }
            try event.withView { try stepper.apply($0) }
        }
        return .done
    }

    /// Waits for the missing versions of every waiting aggregate together, re-reading each
    /// from the store, until it appears or the aggregate's grace has passed.
    private func resolve(_ initial: [Waiting], into outcome: inout Outcome) throws {
        var waiting = initial
        while !waiting.isEmpty {
            var still: [Waiting] = []
            for entry in waiting {
                let stepper = entry.stepper
                let reread = try source.events(ofAggregate: stepper.aggregate, fromVersion: stepper.version + 1)
                if reread.first?.version == stepper.version + 1 {
                    switch try drive(stepper, reread) {
                    case .done: finish(stepper, from: entry.startVersion, into: &outcome)
                    case .gap(let event): still.append(Waiting(stepper: stepper, startVersion: entry.startVersion, offending: event, since: clock()))
                    }
                } else if clock() - entry.since >= grace {
                    entry.offending.withView { stepper.quarantineGap(at: $0) }
                    finish(stepper, from: entry.startVersion, into: &outcome)
                } else {
                    still.append(entry)
                }
            }
            waiting = still
            if let soonest = waiting.map({ $0.since + grace }).min() {
                pause(max(0.001, min(0.05, soonest - clock())))
            }
        }
    }

    private func finish(_ stepper: any AggregateStepper, from startVersion: Int64, into outcome: inout Outcome) {
        if stepper.version > startVersion, let row = stepper.row() { outcome.rows.append(row) }
        if let record = stepper.quarantine { outcome.quarantined.append(record) }
    }
}
