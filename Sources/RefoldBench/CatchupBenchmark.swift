import Foundation
import Logging
import RefoldCore
import RefoldRunner
import RefoldSQLite
import Synchronization

/// The catch-up figures of `refold bench` (SQLite): a read model built from the first part of
/// the table, then the last `fraction` of the events appended, caught up three ways — `refold
/// catchup` inline, `refold catchup` forked over the workers, and the live service (`refold
/// run`) — each from the same starting read model.
public enum CatchupBenchmark {
    public struct Result: Sendable {
        /// Events in the delta.
        public let delta: Int
        public let inline: BenchFigure
        public let parallel: BenchFigure
        public let workers: Int
        /// The live service, from its start to its checkpoint at the head.
        public let live: BenchFigure
    }

    public static func run(
        projection: AnyProjection, events: String, folder: URL, fraction: Double, workers: Int, repeats: Int,
        redis: DistributedRebuild.RedisTarget, signal: @escaping @Sendable () -> Int32?, stop: () throws -> Void, say: (String) -> Void
    ) throws -> Result {
        let base = folder.appendingPathComponent("catchup-events.db").path
        let models = folder.appendingPathComponent("catchup-read-models.db").path
        let saved = folder.appendingPathComponent("catchup-read-models.base.db").path
        for path in [base, models, saved] { try? FileManager.default.removeItem(atPath: path) }
        defer { for path in [base, models, saved] { try? FileManager.default.removeItem(atPath: path) } }

        // The table without its last events, its read model, then the last events appended.
        say("catch-up: a copy without the last \(Int(fraction * 100)) % of the events, rebuilt")
        try FileManager.default.copyItem(atPath: events, toPath: base)
        let head = try SQLiteEventSource(path: base).headPosition()
        let cut = Int64(Double(head) * (1 - fraction))
        let writer = try SQLiteConnection(path: base, readOnly: false)
        try writer.execute("DELETE FROM stored_events WHERE id > \(cut)")
        _ = try InlineRebuild.run(projection: projection, locations: RebuildLocations(events: base, readModels: models), strict: false)
        try FileManager.default.copyItem(atPath: models, toPath: saved)
        try writer.execute("ATTACH DATABASE '\(events.replacingOccurrences(of: "'", with: "''"))' AS full; INSERT INTO stored_events SELECT * FROM full.stored_events WHERE id > \(cut); DETACH DATABASE full")
        let delta = Int(try SQLiteEventSource(path: base).countEvents(after: cut))
        let locations = RebuildLocations(events: base, readModels: models)

        func restore() throws {
            try FileManager.default.removeItem(atPath: models)
            try FileManager.default.copyItem(atPath: saved, toPath: models)
        }
        var inline: [Double] = []
        var parallel: [Double] = []
        var live: [Double] = []
        for round in 1...max(1, repeats) {
            try stop()
            say("catch-up round \(round)/\(repeats): \(delta) events inline")
            try restore()
            var options = Catchup.Options(projection: projection, locations: locations)
            options.mode = .inline
            options.grace = 0
            inline.append(try Catchup.run(options, redis: redis, hooks: .init(signal: signal)).seconds)
            try stop()
            say("catch-up round \(round)/\(repeats): \(delta) events forked over \(workers) workers")
            try restore()
            options.mode = .parallel(workers: workers)
            parallel.append(try Catchup.run(options, redis: redis, hooks: .init(signal: signal)).seconds)
            try stop()
            say("catch-up round \(round)/\(repeats): \(delta) events by the live service")
            try restore()
            live.append(try liveCatchUp(projection: projection, locations: locations, head: head, redis: redis, stop: stop))
        }
        return Result(
            delta: delta, inline: BenchFigure(name: "catchup_inline", samples: inline),
            parallel: BenchFigure(name: "catchup_parallel", samples: parallel), workers: workers,
            live: BenchFigure(name: "catchup_live", samples: live))
    }

    /// Starts a live runner on its own thread and times it until its checkpoint is the head.
    /// `stop` is asked between polls (Ctrl-C): it throws, and the runner is stopped on the way out.
    static func liveCatchUp(projection: AnyProjection, locations: RebuildLocations, head: Int64, redis: DistributedRebuild.RedisTarget, stop: () throws -> Void) throws -> Double {
        var options = LiveRunner.Options(projection: projection, locations: locations)
        options.grace = 0
        // Quiet: the benchmark prints its own lines.
        let runner = LiveRunner(options: options, redis: redis.configuration, logger: Logger(label: "refold.bench.live", factory: { _ in SwiftLogNoOpLogHandler() }))
        let state = RunnerState()
        let ended = DispatchSemaphore(value: 0)
        let start = Date()
        let thread = Thread {
            do { try runner.run(shouldStop: { state.read.stop }) } catch { state.update { $0.failure = "\(error)" } }
            state.update { $0.stop = true }
            ended.signal()
        }
        thread.start()
        defer {
            state.update { $0.stop = true }
            ended.wait()
        }
        let store = try SQLiteReadModelStore(path: locations.readModels, create: false)
        let deadline = Date().addingTimeInterval(600)
        while true {
            // Polled: the moment the checkpoint reaches the head is what is measured.
            if let position = try store.checkpoint(projection: projection.name)?.position, position >= head {
                return Date().timeIntervalSince(start)
            }
            try stop()
            let now = state.read
            if let message = now.failure { throw RunnerError(.infrastructure, "the live service stopped: \(message)") }
            if now.stop || Date() > deadline { throw RunnerError(.infrastructure, "the live service did not reach position \(head) within 600 s") }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    /// What the runner's thread and the timing loop share.
    private final class RunnerState: Sendable {
        private let state = Mutex<(stop: Bool, failure: String?)>((false, nil))
        var read: (stop: Bool, failure: String?) { state.withLock { $0 } }
        func update(_ change: (inout (stop: Bool, failure: String?)) -> Void) { state.withLock { change(&$0) } }
    }
}
