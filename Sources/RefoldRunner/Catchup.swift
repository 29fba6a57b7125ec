import Foundation
import RefoldCoordination
import RefoldCore
import RefoldSQLite

/// `refold catchup`: folds the events after a projection's checkpoint onto its live table
/// (`live.md`), inline or — for a large delta — forked over the aggregates it touches, through
/// the same fork-join path as a rebuild. Idempotent: a second run with nothing new does nothing.
public enum Catchup {
    public enum Mode: Sendable, Equatable {
        /// Inline below `forkThreshold` events, else forked over the machine's cores.
        case automatic
        case inline
        /// Forked over this many local workers (0: only workers running elsewhere).
        case parallel(workers: Int)
    }

    public struct Options: Sendable {
        public var projection: AnyProjection
        public var locations: RebuildLocations
        /// How long a missing position or version may be waited for, in seconds.
        public var grace: Double = 3
        public var mode: Mode = .automatic
        /// A delta of at least this many events is forked in automatic mode.
        public var forkThreshold = 100_000
        public var tasks: Int?
        public var leaseMilliseconds = 30_000
        public var policy = RebuildSupervisor.Policy()

        public init(projection: AnyProjection, locations: RebuildLocations) {
            self.projection = projection
            self.locations = locations
        }
    }

    /// The report of `live.md` ("Reports").
    public struct Report: Sendable {
        public var projection: String
        public var job: String
        public var fromPosition: Int64
        public var headPosition: Int64
        public var outcome = LiveApplier.Outcome()
        /// Rows the live table took (rows already at that version are not counted).
        public var rowsWritten = 0
        public var seconds: Double = 0
        public var mode: String
        public var tasks: Int
        public var workers: Int = 0
    }

    /// Runs one catch-up. Throws for bad input (nothing written), infrastructure failures and
    /// interruptions (the checkpoint stays where it was; rows already written are correct, and
    /// the next run applies the rest).
    public static func run(_ options: Options, redis: DistributedRebuild.RedisTarget? = nil, hooks: DistributedRebuild.Hooks = .init()) throws -> Report {
        let start = Date()
        let name = options.projection.name
        let source = try Stores.events(options.locations.events, layout: options.locations.layout)
        let built = try Verifier.openBuiltModel(projection: name, path: options.locations.readModels)
        guard let checkpoint = try built.checkpoint(projection: name) else {
            throw RunnerError(.badInput, "\(name) has no checkpoint: rebuild it first.")
        }
        guard checkpoint.projectionVersion == options.projection.version else {
            throw RunnerError(.badInput, "\(name) in \(options.locations.readModels) was built with projection version \(checkpoint.projectionVersion) and this binary's is \(options.projection.version): rebuild it (refold rebuild \(name) …) instead of catching up.")
        }
        if let holder = try built.lockHolder(projection: name), holder.blocks(job: "") {
            throw StoreError(.locked, holder.busyMessage(projection: name))
        }
        let store = try Stores.readModels(options.locations.readModels, create: false)
        let job = "catchup-\(name.prefix(40))-\(UUID().uuidString.prefix(8).lowercased())"
        try store.acquireLock(projection: name, job: job, owner: "refold catchup on \(ProcessInfo.processInfo.hostName), pid \(getpid())", seconds: 60, redis: redis?.display ?? "")
        defer { try? store.releaseLock(projection: name, job: job) }

        let from = checkpoint.position
        let head = try safeHead(source, after: from, grace: options.grace, signal: hooks.signal)
        let deltaEvents = try source.countEvents(after: from, through: head)
        let forked: Bool
        switch options.mode {
        case .inline: forked = false
        case .parallel: forked = deltaEvents > 0
        case .automatic: forked = deltaEvents >= Int64(options.forkThreshold) && redis != nil
        }
        var report: Report
        if forked, let redis {
            report = try CatchupFork.run(options, job: job, store: store, source: source, from: from, head: head, redis: redis, hooks: hooks)
        } else {
            report = Report(projection: name, job: job, fromPosition: from, headPosition: head, mode: "inline", tasks: 1)
            let applier = LiveApplier(projection: options.projection, source: source, store: store, grace: options.grace)
            let records = try store.quarantined(projection: name)
            var outcome = try applier.apply(delta: try source.events(after: from, through: head), quarantined: Set(records.map(\.aggregate)))
            let healing = try applier.heal(records)
            outcome.rows += healing.rows
            outcome.quarantined += healing.quarantined
            outcome.healed = healing.healed
            if let signal = hooks.signal() {
                throw RunnerError(.interrupted(signal), "interrupted: the catch-up of \(name) stopped before writing; the checkpoint stays at \(from).")
            }
            report.rowsWritten = try write(outcome, store: store, projection: name, checkpoint: (from, head))
            report.outcome = outcome
        }
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// The highest position the checkpoint may move to: the head, once every missing position
    /// below it has appeared or been missing for `grace` seconds (a hole for good). A position
    /// a transaction took but has not committed yet is not passed while it may still appear.
    static func safeHead(_ source: any EventSource, after from: Int64, grace: Double, signal: () -> Int32?) throws -> Int64 {
        let head = try source.headPosition()
        guard head > from else { return from }
        let deadline = MonotonicClock.seconds() + grace
        while true {
            let present = try source.positions(after: from, through: head).count
            if Int64(present) == head - from || MonotonicClock.seconds() >= deadline || signal() != nil { return head }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Writes rows, quarantines and healed aggregates in short transactions (at most `chunk`
    /// rows each, so writers of the events table never wait long), and moves the checkpoint
    /// with the last one. Returns the rows that advanced.
    @discardableResult
    static func write(_ outcome: LiveApplier.Outcome, store: any ReadModelStore, projection: String, checkpoint: (from: Int64, to: Int64)?, fence: String? = nil, chunk: Int = 2000) throws -> Int {
        var written = 0
        var start = 0
        repeat {
            let end = min(start + chunk, outcome.rows.count)
            let last = end == outcome.rows.count
            written += try store.applyLive(
                projection: projection, rows: Array(outcome.rows[start..<end]),
                quarantined: last ? outcome.quarantined : [], healed: last ? outcome.healed : [],
                checkpoint: last ? checkpoint : nil, fence: fence).advanced.count
            start = end
        } while start < outcome.rows.count
        return written
    }
}
