import Foundation
import RefoldCore
import RefoldSQLite

/// Where a rebuild reads and writes.
public struct RebuildLocations: Sendable, Equatable {
    public var events: String
    public var readModels: String
    public var layout: EventTableLayout

    public init(events: String, readModels: String? = nil, layout: EventTableLayout = EventTableLayout()) {
        self.events = events
        self.readModels = readModels ?? events
        self.layout = layout
    }
}

/// The whole rebuild in this one process, no Redis: `refold rebuild … --inline`.
public enum InlineRebuild {
    /// Rebuilds `projection` into its shadow table and swaps it in.
    ///
    /// - Parameters:
    ///   - replaceForeignTable: keep a table of the projection's name that Refold did not build
    ///     as `<name>__refold_backup_<time>` instead of refusing (exit 2).
    ///   - lockJob: the model's lock is already held under this job (the live service rebuilding
    ///     on request): use it instead of taking one.
    ///   - progress: called now and then with (events done, events total).
    ///   - signal: polled; a SIGINT/SIGTERM drops the shadow, leaves the live table as it was,
    ///     and throws `RunnerError(.interrupted(signal))`.
    public static func run(
        projection: AnyProjection, locations: RebuildLocations, strict: Bool, replaceForeignTable: Bool = false,
        lockJob: String? = nil,
        progress: @escaping (Int, Int64) -> Void = { _, _ in },
        signal: @escaping () -> Int32? = { nil }
    ) throws -> RebuildReport {
        let start = Date()
        // Every input is checked, read-only, before anything is created on the read-model side.
        let source = try Stores.events(locations.events, layout: locations.layout)
        let backup = try Stores.preflight(locations.readModels, projection: projection.name, replaceForeign: replaceForeignTable, ownLock: lockJob)
        let head = try source.headPosition()
        let plan = try source.plan(tasks: 1)
        let store = try Stores.readModels(locations.readModels)
        let job = "inline-\(UUID().uuidString.prefix(8).lowercased())"
        let lock = lockJob ?? job
        if lockJob == nil {
            _ = try store.acquireLock(projection: projection.name, job: job, owner: "refold rebuild --inline, pid \(getpid())", seconds: 60)
        }
        var lastRenewal = Date()
        defer { if lockJob == nil { try? store.releaseLock(projection: projection.name, job: job) } }
        try store.createShadow(projection: projection.name)
        let summary: TaskSummary
        do {
            summary = try RangeRebuild.run(
                projection: projection, source: source, store: store, range: plan.ranges[0], head: head,
                table: ReadModelNames.shadowTable(projection.name), job: job, strict: strict,
                keepGoing: { done in
                    progress(done, plan.totalEvents)
                    return signal() == nil
                },
                betweenChunks: { () throws(StoreError) in
                    guard Date().timeIntervalSince(lastRenewal) > 5 else { return }
                    lastRenewal = Date()
                    try store.renewLock(projection: projection.name, job: lock, seconds: 60)
                })
        } catch {
            // Whatever stopped the run, the live table stays as it was.
            try? store.dropShadow(projection: projection.name)
            try? store.discardQuarantine(projection: projection.name, job: job)
            if let stop = error as? StrictModeDataError {
                throw RunnerError(.notClean, strictMessage(projection.name, stop.record))
            }
            if (error as? StoreError)?.code == .stopped, let number = signal() {
                throw RunnerError(.interrupted(number), "interrupted by \(number == SIGTERM ? "SIGTERM" : "SIGINT"): the rebuild of \(projection.name) was stopped; not swapped: \(store.untouched(projection: projection.name)).")
            }
            throw error
        }
        let keptAs: String?
        do {
            keptAs = try store.swapIn(projection: projection.name, job: job, head: head, projectionVersion: projection.version, keepForeignAs: backup)
        } catch {
            try? store.dropShadow(projection: projection.name)
            try? store.discardQuarantine(projection: projection.name, job: job)
            throw error
        }
        progress(summary.events, plan.totalEvents)
        var report = RebuildReport(
            projection: projection.name, job: job, events: summary.events, aggregates: summary.aggregates, rows: summary.rows,
            seconds: Date().timeIntervalSince(start), tasks: 1, retries: 0, deadTasks: [],
            taskSeconds: ["all": summary.seconds], headPosition: head, quarantined: summary.quarantined,
            workers: 0, mode: "inline")
        report.previousTableKeptAs = keptAs
        RebuildMetrics.finished(projection: projection.name, swapped: true)
        return report
    }

    static func strictMessage(_ projection: String, _ record: QuarantineRecord) -> String {
        return "strict mode: aggregate \(record.aggregate) has a data error at version \(record.version.map(String.init) ?? "NULL") (position \(record.position)): \(record.code.rawValue): \(record.reason); the live table of \(projection) is untouched (drop --strict to quarantine and go on)."
    }
}
