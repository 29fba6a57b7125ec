import Foundation
import Logging
import Metrics
import RefoldCoordination
import RefoldCore
import RefoldRedis
import RefoldSQLite

/// The live service of one projection (`refold run`): it keeps the live table current within
/// milliseconds of each commit, by the rules of `live.md`.
///
/// - **One leader.** Runners race for a lease in Redis (leader.lua); the holder renews it every
///   third of the lease and also holds the model's lock in the read-model database, which
///   fences every write: a leader that lost its lease (paused, cut off) cannot write any
///   more. A standby takes over once the lease lapses — at once when the holder's process is
///   known dead on this host.
/// - **Tailing.** The leader polls `PRAGMA data_version` (a cheap read that changes on every
///   commit by anyone) every `poll` seconds, reads the new positions, and applies them with
///   `LiveApplier.applyNow`: many aggregates per pass, each in version order. Gaps wait (without
///   holding up other aggregates) up to `grace`; holes in positions keep the checkpoint below
///   them up to `grace` (`PositionTracker`).
/// - **Writes** go in one short transaction per pass (rows, quarantines, healed aggregates, the
///   checkpoint), then each row that advanced is published on `refold:rows:<projection>` as
///   `<id> <version>`, so waiting readers wake.
/// - **Requests** other services queue (request.lua) are executed between passes: a catch-up
///   (a pass at once), a replay of aggregates (refolded from their first event), a rebuild.
/// - Quarantined aggregates are re-examined every `grace` seconds and healed when they can be.
public final class LiveRunner: Sendable {
    public struct Options: Sendable {
        public var projection: AnyProjection
        public var locations: RebuildLocations
        public var grace: Double = 3
        public var leaseMilliseconds = 10_000
        /// Wait for Redis at the first contact however long it takes (`refold serve`), instead
        /// of failing at once when nothing listens.
        public var waitForRedis = false
        /// Seconds between polls for new commits.
        public var poll: Double = 0.001
        /// Positions read per pass at most (a large backlog is taken in bites of ten windows).
        public var window: Int64 = 20_000
        public var owner = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        /// How long Redis may be unavailable, or the database locked by others' transactions,
        /// before the runner gives up, in seconds.
        public var outageTolerance: Double = 60

        public init(projection: AnyProjection, locations: RebuildLocations) {
            self.projection = projection
            self.locations = locations
        }
    }

    let options: Options
    let redis: RedisConfiguration
    let logger: Logger
    let token = UUID().uuidString.prefix(12).lowercased()

    public init(options: Options, redis: RedisConfiguration, logger: Logger) {
        self.options = options
        self.redis = redis
        self.logger = logger
    }

    var name: String { options.projection.name }
    var lockJob: String { "live-\(name.prefix(40))-\(token)" }
    var lease: Double { Double(options.leaseMilliseconds) / 1000 }
    /// The model lock lasts as long as the lease (whole seconds, at least one).
    var lockSeconds: Int64 {
        let seconds: Double = lease.rounded(.up)
        return seconds < 1 ? 1 : Int64(seconds)
    }

    /// Runs until `shouldStop` (then the pass in hand finishes, leadership and lock are given
    /// back). Blocks the calling thread.
    public func run(shouldStop: @escaping @Sendable () -> Bool) throws {
        // Nothing listening at the first contact is most likely a wrong address: fail at once.
        // A server that is there but not ready is waited for; later outages are ridden through.
        // Inside `refold serve` (waitForRedis) the HTTP side must stay up and report unhealthy,
        // so the live service keeps waiting for Redis instead.
        var connected: CoordinationClient?
        var lastProblem = ""
        while connected == nil {
            do {
                connected = try CoordinationClient.connect(
                    configuration: redis, budget: OutageBudget(seconds: options.outageTolerance, retryUnreachable: options.waitForRedis), refuseEviction: true, shouldStop: shouldStop,
                    onRetry: { [logger] error, _ in logger.warning("Redis is not ready yet; waiting", metadata: ["refold.error": "\(error.message)"]) })
            } catch {
                if shouldStop() { return }
                guard options.waitForRedis else { throw error }
                if "\(error)" != lastProblem {
                    lastProblem = "\(error)"
                    logger.warning("the live service cannot use Redis yet; retrying every second", metadata: ["refold.error": "\(error)"])
                }
                pause(1, shouldStop: shouldStop)
            }
        }
        guard let client = connected else { return }
        let source = try Stores.events(options.locations.events, layout: options.locations.layout)
        _ = try Verifier.openBuiltModel(projection: name, path: options.locations.readModels)
        let store = try Stores.readModels(options.locations.readModels, create: false)
        logger.info("live service ready; waiting for leadership", metadata: ["refold.projection": "\(name)", "refold.owner": "\(options.owner)"])
        var outageSince: Double?
        var busySince: Double?
        defer { resign(client: client, store: store) }
        while !shouldStop() {
            do {
                guard try lead(client: client, store: store, shouldStop: shouldStop) else {
                    pause(min(lease / 4, 0.5), shouldStop: shouldStop)
                    continue
                }
                // Each pass that completes ends an outage or a locked spell.
                try follow(client: client, source: source, store: store, shouldStop: shouldStop) {
                    outageSince = nil
                    busySince = nil
                }
            } catch let error as CoordinationError where error.isTransient {
                let now = MonotonicClock.seconds()
                let since = outageSince ?? now
                outageSince = since
                if now - since > options.outageTolerance { throw error }
                logger.warning("Redis is not available; retrying", metadata: ["refold.error": "\(error.message)"])
                pause(0.2, shouldStop: shouldStop)
            } catch let error as StoreError where error.code == .busy {
                // Someone's long transaction on the database (a report, a backup, a reader
                // left open). The pass was rolled back; the next one starts again from the
                // stored checkpoint, and rows never go backwards, so nothing is lost or doubled.
                let now = MonotonicClock.seconds()
                let since = busySince ?? now
                busySince = since
                if now - since > options.outageTolerance { throw error }
                logger.warning("the database is locked by another connection; retrying", metadata: ["refold.error": "\(error.message)"])
                pause(0.2, shouldStop: shouldStop)
            } catch let error as StoreError where error.code == .locked {
                logger.warning("lost the live lock; standing by", metadata: ["refold.projection": "\(name)", "refold.reason": "\(error.message)"])
                _ = try? client.run(LeaderScript(projection: name, operation: .release, owner: options.owner, token: token, leaseMilliseconds: options.leaseMilliseconds))
            }
        }
    }

    /// Takes the lease and the model's lock; true when this runner leads now.
    private func lead(client: CoordinationClient, store: any ReadModelStore, shouldStop: () -> Bool) throws -> Bool {
        let reply = try client.run(LeaderScript(projection: name, operation: .acquire, owner: options.owner, token: token, leaseMilliseconds: options.leaseMilliseconds))
        guard case .held = reply else { return false }
        if let busy = try lockModel(store) {
            // A rebuild or catch-up holds the model: give the lease back and wait.
            logger.info("the model is locked; waiting", metadata: ["refold.projection": "\(name)", "refold.reason": "\(busy)"])
            _ = try client.run(LeaderScript(projection: name, operation: .release, owner: options.owner, token: token, leaseMilliseconds: options.leaseMilliseconds))
            return false
        }
        logger.info("leading", metadata: ["refold.projection": "\(name)", "refold.token": "\(token)"])
        Counter(label: "refold_live_leaderships_total", dimensions: [("projection", name)]).increment()
        return true
    }

    /// Takes the model's lock for this runner; returns why not when another holds it.
    private func lockModel(_ store: any ReadModelStore) throws(StoreError) -> String? {
        let owner = "refold run on \(ProcessInfo.processInfo.hostName), pid \(getpid())"
        do {
            try store.acquireLock(projection: name, job: lockJob, owner: owner, seconds: lockSeconds, redis: redis.url.description)
            return nil
        } catch {
            if error.code == .locked { return error.message }
            throw error
        }
    }

    /// Tails the events while this runner leads; returns when it stops leading or must stop.
    private func follow(
        client: CoordinationClient, source: any EventSource, store: any ReadModelStore, shouldStop: () -> Bool, passed: () -> Void
    ) throws {
        guard let checkpoint = try store.checkpoint(projection: name) else { return }
        var tracker = PositionTracker(checkpoint: checkpoint.position, grace: options.grace)
        let applier = LiveApplier(projection: options.projection, source: source, store: store, grace: options.grace)
        logger.info("following new events", metadata: ["refold.projection": "\(name)", "refold.wake": "\(source.wakeUp)"])
        var gaps: [[UInt8]: LiveApplier.Gap] = [:]
        var lastRenewal = MonotonicClock.seconds()
        var lastHeal = -Double.infinity
        var lastDataVersion: Int64 = -1
        let events = Counter(label: "refold_live_events_total", dimensions: [("projection", name)])
        let rows = Counter(label: "refold_live_rows_total", dimensions: [("projection", name)])
        var passes = 0
        while !shouldStop() {
            if passes > 0 { passed() }  // the previous pass completed
            passes += 1
            let now = MonotonicClock.seconds()
            if now - lastRenewal >= lease / 3 {
                let reply = try client.run(LeaderScript(projection: name, operation: .renew, owner: options.owner, token: token, leaseMilliseconds: options.leaseMilliseconds))
                guard case .held = reply else {
                    logger.warning("lost the leadership; standing by", metadata: ["refold.projection": "\(name)"])
                    return
                }
                try store.renewLock(projection: name, job: lockJob, seconds: lockSeconds)
                lastRenewal = now
            }
            if let request = try client.run(RequestTakeScript(projection: name)) {
                try execute(request, client: client, source: source, store: store, tracker: &tracker)
                lastDataVersion = -1
                continue
            }
            let dataVersion = try source.dataVersion()
            let healDue = now - lastHeal >= options.grace
            if dataVersion == lastDataVersion && gaps.isEmpty && tracker.watched.isEmpty && !healDue {
                // Woken by the database on commit where it can (Refold's PostgreSQL trigger): then
                // a long wait, cut short by the next commit; else a short poll.
                source.waitForNewEvents(upTo: source.wakesOnCommit ? min(0.2, lease / 6) : options.poll)
                continue
            }
            lastDataVersion = dataVersion

            // Read what is new, and what appeared in the holes.
            // Behind by more than a window (a backlog after a restart, a burst of appends): take
            // bites ten times larger. Each pass reads, decodes and writes every aggregate it
            // touches once, so fewer, larger passes redo less of that work.
            let newest = try source.headPosition()
            let bite = newest - tracker.lastRead > options.window ? options.window * 10 : options.window
            let head = min(newest, tracker.lastRead + bite)
            var delta = try source.events(after: tracker.lastRead, through: head)
            let present = try source.positions(after: tracker.lastRead, through: head)
            let late = try source.present(tracker.watched)
            if !late.isEmpty {
                delta += try source.events(at: Array(late))
                tracker.appeared(late)
            }
            tracker.read(through: head, present: present, now: now)
            let records = try store.quarantined(projection: name)
            var outcome = try applier.applyNow(delta: delta, quarantined: Set(records.map(\.aggregate)), gaps: &gaps)
            if healDue {
                let healing = try applier.heal(records)
                outcome.rows += healing.rows
                outcome.quarantined += healing.quarantined
                outcome.healed += healing.healed
                lastHeal = now
            }
            let from = tracker.checkpoint
            let to = tracker.advance(now: now)
            if outcome.rows.isEmpty && outcome.quarantined.isEmpty && outcome.healed.isEmpty && to == from { continue }
            let write = try store.applyLive(
                projection: name, rows: outcome.rows, quarantined: outcome.quarantined, healed: outcome.healed,
                checkpoint: to > from ? (from, to) : nil, fence: lockJob)
            publish(write.advanced, client: client)
            events.increment(by: outcome.events)
            rows.increment(by: write.advanced.count)
            for record in outcome.quarantined {
                logger.warning("quarantined", metadata: ["refold.aggregate": "\(record.aggregate)", "refold.code": "\(record.code)", "refold.reason": "\(record.reason)"])
            }
            for aggregate in outcome.healed {
                logger.info("healed", metadata: ["refold.aggregate": "\(aggregate)"])
            }
        }
    }

    /// Publishes each row advance as `<id> <version>` on `refold:rows:<projection>`.
    private func publish(_ advanced: [(aggregate: [UInt8], version: Int64)], client: CoordinationClient) {
        guard !advanced.isEmpty else { return }
        let channel = Self.rowsChannel(name)
        var commands: [RedisCommand] = []
        commands.reserveCapacity(advanced.count)
        for row in advanced {
            var message: [UInt8] = row.aggregate
            message.append(UInt8(ascii: " "))
            message.append(contentsOf: String(row.version).utf8)
            commands.append(RedisCommand("PUBLISH", arguments: [channel, message]))
        }
        _ = try? client.redis.pipeline(commands)
    }

    /// The channel row advances of `projection` are published on.
    public static func rowsChannel(_ projection: String) -> String { "refold:rows:\(projection)" }

    /// Executes one request between passes and records how it ended.
    private func execute(_ request: ReplayRequest, client: CoordinationClient, source: any EventSource, store: any ReadModelStore, tracker: inout PositionTracker) throws {
        logger.info("executing a request", metadata: ["refold.request": "\(request.id)", "refold.kind": "\(request.kind.rawValue)"])
        let started = Date()
        do {
            let report: JSONValue
            if request.kind == .catchup {
                // The live service is the catch-up: the next pass applies everything new.
                report = .object([("mode", .string("live")), ("checkpoint", .int(tracker.checkpoint))])
            } else if request.aggregates.isEmpty {
                let rebuilt = try InlineRebuild.run(projection: options.projection, locations: options.locations, strict: false, lockJob: lockJob)
                tracker = PositionTracker(checkpoint: rebuilt.headPosition, grace: options.grace)
                report = rebuilt.json
            } else {
                report = try replay(request.aggregates, client: client, source: source, store: store)
            }
            _ = try client.run(RequestFinishScript(projection: name, id: request.id, succeeded: true, text: report.rendered()))
            logger.info("request done", metadata: ["refold.request": "\(request.id)", "refold.seconds": "\(Date().timeIntervalSince(started))"])
        } catch let error as CoordinationError {
            throw error
        } catch {
            logger.error("request failed", metadata: ["refold.request": "\(request.id)", "refold.error": "\(error)"])
            _ = try client.run(RequestFinishScript(projection: name, id: request.id, succeeded: false, text: "\(error)"))
        }
    }

    /// Refolds these aggregates from their first event and writes what they give (a
    /// quarantined one goes through healing).
    private func replay(_ aggregates: [String], client: CoordinationClient, source: any EventSource, store: any ReadModelStore) throws -> JSONValue {
        let applier = LiveApplier(projection: options.projection, source: source, store: store, grace: options.grace)
        let records = try store.quarantined(projection: name)
        let wanted = Set(aggregates)
        var outcome = try applier.heal(records.filter { wanted.contains($0.aggregate) })
        let quarantined = Set(records.map(\.aggregate))
        for aggregate in aggregates where !quarantined.contains(aggregate) {
            let refolded = try applier.refold(Array(aggregate.utf8))
            if let row = refolded.row { outcome.rows.append(row) }
            if let record = refolded.quarantine { outcome.quarantined.append(record) }
        }
        let write = try store.applyLive(projection: name, rows: outcome.rows, quarantined: outcome.quarantined, healed: outcome.healed, checkpoint: nil, fence: lockJob)
        publish(write.advanced, client: client)
        let healed: [JSONValue] = outcome.healed.map { JSONValue.string($0) }
        let newlyQuarantined: [JSONValue] = outcome.quarantined.map(\.json)
        return .object([
            ("aggregates", .int(Int64(aggregates.count))), ("rows_written", .int(Int64(write.advanced.count))),
            ("healed", .array(healed)), ("quarantined", .array(newlyQuarantined)),
        ])
    }

    /// Gives back the lease and the lock (SIGTERM, or the end of the run).
    private func resign(client: CoordinationClient, store: any ReadModelStore) {
        _ = try? client.run(LeaderScript(projection: name, operation: .release, owner: options.owner, token: token, leaseMilliseconds: options.leaseMilliseconds))
        try? store.releaseLock(projection: name, job: lockJob)
    }

    private func pause(_ seconds: Double, shouldStop: () -> Bool) {
        let end = MonotonicClock.seconds() + seconds
        while MonotonicClock.seconds() < end && !shouldStop() { Thread.sleep(forTimeInterval: min(0.01, seconds)) }
    }
}
