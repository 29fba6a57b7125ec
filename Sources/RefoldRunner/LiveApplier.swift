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
    let source: any EventSource
    let store: any ReadModelStore
    let grace: Double
    let clock: () -> Double
    let pause: (Double) -> Void

    public init(
        projection: AnyProjection, source: any EventSource, store: any ReadModelStore, grace: Double,
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
        var waiting: [Waiting] = []
        try apply(delta: delta, quarantined: quarantined, retry: [], into: &outcome) { stepper, stored, event in
            waiting.append(Waiting(stepper: stepper, startVersion: stored, offending: event, since: clock()))
        }
        try resolve(waiting, into: &outcome)
        return outcome
    }

    /// An aggregate the live service is waiting on: since when, and the event that showed the gap.
    public struct Gap: Sendable {
        public let since: Double
        public let offending: StoredEvent
    }

    /// The live service's step: applies what can be applied now and never waits. An aggregate
    /// with a missing version keeps what came before the gap (its row advances that far) and
    /// is remembered in `gaps`; later calls re-read it from the store, and once its gap is
    /// older than `grace` it is quarantined at the offending event.
    public func applyNow(delta: [StoredEvent], quarantined: Set<String>, gaps: inout [[UInt8]: Gap]) throws -> Outcome {
        var outcome = Outcome()
        var stillWaiting: [[UInt8]: Gap] = [:]
        let now = clock()
        var found: [([UInt8], any AggregateStepper, Int64, StoredEvent)] = []
        try apply(delta: delta, quarantined: quarantined, retry: Array(gaps.keys), into: &outcome) { stepper, stored, event in
            found.append((stepper.aggregate, stepper, stored, event))
        }
        for (aggregate, stepper, stored, event) in found {
            let gap = gaps[aggregate].map { old in old.offending.version == event.version ? old : Gap(since: now, offending: event) } ?? Gap(since: now, offending: event)
            if now - gap.since >= grace {
                gap.offending.withView { stepper.quarantineGap(at: $0) }
            } else {
                stillWaiting[aggregate] = gap
            }
            finish(stepper, from: stored, into: &outcome)
        }
        gaps = stillWaiting
        return outcome
    }

    /// Applies each touched aggregate's events (and re-reads each of `retry` from the store);
    /// an aggregate that meets a gap is handed to `onGap` instead of finished.
    private func apply(
        delta: [StoredEvent], quarantined: Set<String>, retry: [[UInt8]], into outcome: inout Outcome,
        onGap: (any AggregateStepper, Int64, StoredEvent) -> Void
    ) throws {
        outcome.events += delta.count
        var groups = Dictionary(grouping: delta, by: \.aggregate)
        outcome.aggregates += groups.count
        for aggregate in retry where groups[aggregate] == nil { groups[aggregate] = [] }
        for aggregate in groups.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard !quarantined.contains(String(decoding: aggregate, as: UTF8.self)) else { continue }
            let row = try store.row(projection: projection.name, aggregate: aggregate)
            let stored = row?.version ?? 0
            var events = groups[aggregate]!
            if events.isEmpty {
                events = try source.events(ofAggregate: aggregate, fromVersion: stored + 1)
            }
            events.sort(by: StoredEvent.versionOrder)
            let pending = events.filter { $0.version.map { $0 > stored } ?? true }
            outcome.duplicates += (groups[aggregate]!.isEmpty ? 0 : events.count - pending.count)
            guard !pending.isEmpty else { continue }
            let (stepper, queue) = try start(aggregate, row: row, pending: pending)
            switch try drive(stepper, queue) {
            case .done: finish(stepper, from: stored, into: &outcome)
            case .gap(let event):
                // The missing version may already be in the store below the checkpoint (a late
                // commit): look once before waiting.
                let reread = try source.events(ofAggregate: aggregate, fromVersion: stepper.version + 1)
                guard reread.first?.version == stepper.version + 1 else {
                    onGap(stepper, stored, event)
                    continue
                }
                switch try drive(stepper, reread) {
                case .done: finish(stepper, from: stored, into: &outcome)
                case .gap(let later): onGap(stepper, stored, later)
                }
            }
        }
    }

    /// Re-examines quarantined aggregates: each is refolded from its first event; those that
    /// now fold cleanly (the missing event appeared, a payload was fixed) come back as healed
    /// with their row; those that fail elsewhere get an updated record.
    public func heal(_ records: [QuarantineRecord]) throws -> Outcome {
        var outcome = Outcome()
        for record in records {
            let refolded = try refold(Array(record.aggregate.utf8))
            if let still = refolded.quarantine {
                if still != record { outcome.quarantined.append(still) }
                continue
            }
            outcome.healed.append(record.aggregate)
            if let row = refolded.row { outcome.rows.append(row) }
        }
        return outcome
    }

    /// An aggregate refolded from its first event, with no waiting: its row, and its
    /// quarantine if a data error or a gap stops it.
    public func refold(_ aggregate: [UInt8]) throws -> (row: FoldedRow?, quarantine: QuarantineRecord?) {
        let stepper = projection.stepper(aggregate: aggregate)
        for event in try source.events(ofAggregate: aggregate) {
            if stepper.quarantine != nil { break }
            guard let version = event.version, version <= stepper.version + 1 else {
                event.withView { stepper.quarantineGap(at: $0) }
                break
            }
            if version <= stepper.version { continue }  // a duplicate version: the first one counts
            try event.withView { try stepper.apply($0) }
        }
        return (stepper.row(), stepper.quarantine)
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
