import Foundation
import Logging
import RefoldRedis
import Synchronization

/// Version-checked reads wait here: one Redis subscription per process (on
/// `refold:rows:<projection>`, where the live runner publishes `<id> <version>` for every row
/// that advances) fans out to every waiter of that row. No poll per request, no connection per
/// request.
///
/// The order that cannot miss a wake-up: `register` first, then read the row; only if the row
/// is still below the minimum, `wait`. A notification that arrives between the read and the
/// wait is kept in the waiter (`fired`) and ends the wait at once.
public final class RowWaiters: Sendable {
    public final class Waiter: Sendable {
        let key: String
        let minimum: Int64
        let number: UInt64
        private let state = Mutex<(result: Bool?, continuation: CheckedContinuation<Bool, Never>?)>((nil, nil))

        init(key: String, minimum: Int64, number: UInt64) {
            self.key = key
            self.minimum = minimum
            self.number = number
        }

        /// Ends the wait (true: the row reached the minimum; false: timed out or the server is
        /// stopping). Only the first call counts.
        func fire(_ reached: Bool) {
            let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard state.result == nil else { return nil }
                state.result = reached
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume(returning: reached)
        }

        /// Suspends until fired or `timeout` seconds pass; true when woken by the row.
        public func wait(timeout: Double) async -> Bool {
            let timer = Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
                self.fire(false)
            }
            defer { timer.cancel() }
            return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let already = state.withLock { state -> Bool? in
                    if let result = state.result { return result }
                    state.continuation = continuation
                    return nil
                }
                if let already { continuation.resume(returning: already) }
            }
        }
    }

    private let waiting = Mutex<(next: UInt64, byKey: [String: [Waiter]])>((0, [:]))
    private let stopped = Atomic<Bool>(false)
    private let draining = Atomic<Bool>(false)
    /// Notifications delivered to at least one waiter (for metrics and tests).
    public let delivered = Atomic<Int>(0)

    public init() {}

    static func key(_ projection: String, _ id: String) -> String { projection + "\u{0}" + id }

    /// Registers a waiter for `id` of `projection` reaching `minimum`. Once draining, the
    /// waiter comes back already ended (false): nobody waits on a stopping server.
    public func register(projection: String, id: String, minimum: Int64) -> Waiter {
        let key = Self.key(projection, id)
        let waiter = waiting.withLock { state in
            state.next += 1
            let waiter = Waiter(key: key, minimum: minimum, number: state.next)
            state.byKey[key, default: []].append(waiter)
            return waiter
        }
        if draining.load(ordering: .acquiring) { waiter.fire(false) }
        return waiter
    }

    /// The server is stopping: ends every wait now (and every later one at once), so waiting
    /// reads answer with the version they have instead of holding the shutdown for up to 30 s.
    public func drain() {
        draining.store(true, ordering: .releasing)
        let all = waiting.withLock { state in state.byKey.values.flatMap { $0 } }
        for waiter in all { waiter.fire(false) }
    }

    /// True once `drain` was called.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Forgets a waiter (answered or timed out).
    public func remove(_ waiter: Waiter) {
        waiting.withLock { state in
            state.byKey[waiter.key]?.removeAll { $0.number == waiter.number }
            if state.byKey[waiter.key]?.isEmpty == true { state.byKey[waiter.key] = nil }
        }
    }

    /// A row advanced: wakes its waiters whose minimum it reached.
    public func rowAdvanced(projection: String, id: String, version: Int64) {
        let woken = waiting.withLock { state -> [Waiter] in
            state.byKey[Self.key(projection, id)]?.filter { $0.minimum <= version } ?? []
        }
        if !woken.isEmpty { delivered.add(1, ordering: .relaxed) }
        for waiter in woken { waiter.fire(true) }
    }

    /// How many requests wait now.
    public var count: Int { waiting.withLock { $0.byKey.values.reduce(0) { $0 + $1.count } } }

    /// Parses a `refold:rows:<projection>` message (`<id> <version>`).
    static func parse(channel: String, payload: [UInt8]) -> (projection: String, id: String, version: Int64)? {
        let prefix = "refold:rows:"
        guard channel.hasPrefix(prefix), let space = payload.lastIndex(of: UInt8(ascii: " ")),
              let version = Int64(String(decoding: payload[(space + 1)...], as: UTF8.self)) else { return nil }
        return (String(channel.dropFirst(prefix.count)), String(decoding: payload[..<space], as: UTF8.self), version)
    }

    /// Listens on a thread of its own until `stop`: subscribes to the projections' row
    /// channels, reconnecting (and re-subscribing) after a lost connection.
    public func listen(redis: RedisConfiguration, projections: [String], logger: Logger) {
        let channels = projections.map { "refold:rows:\($0)" }
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                do {
                    let connection = try RedisConnection(redis)
                    try connection.subscribe(channels)
                    while !stopped.load(ordering: .relaxed) {
                        guard let message = try connection.nextMessage(timeout: 0.25) else { continue }
                        if let row = Self.parse(channel: message.channel, payload: message.payload) {
                            rowAdvanced(projection: row.projection, id: row.id, version: row.version)
                        }
                    }
                } catch {
                    logger.warning("row notifications unavailable; retrying", metadata: ["refold.error": "\(error)"])
                    Thread.sleep(forTimeInterval: 0.5)
                }
            }
        }
        thread.name = "refold-row-waiters"
        thread.start()
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }
}
