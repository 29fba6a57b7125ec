import Foundation

/// How long Redis may misbehave before a caller gives up: transient failures (a broken
/// connection, `LOADING` after a restart, `BUSY`, a failover's `READONLY`, …) are retried
/// with a growing pause until `seconds` have passed since the first one.
///
/// Every call retried through a budget must be safe to repeat: protocol scripts are (a
/// repeated completion answers `duplicate`, claims and heartbeats expire), and a server that
/// answered `LOADING` or `BUSY` did not run the command at all.
///
/// ```swift
/// let status = try OutageBudget(seconds: 30).run { () throws(CoordinationError) in try client.status(jobID: job) }
/// ```
public struct OutageBudget: Sendable {
    /// Seconds from the first failure after which the last error is thrown.
    public var seconds: Double
    /// Whether "nothing listens there" is retried too. Long-running services retry it (they
    /// may start before Redis does); one-shot commands fail at once, since at the first
    /// contact it usually means a wrong address.
    public var retryUnreachable: Bool

    public init(seconds: Double, retryUnreachable: Bool = true) {
        self.seconds = seconds
        self.retryUnreachable = retryUnreachable
    }

    /// No retries at all.
    public static let none = OutageBudget(seconds: 0, retryUnreachable: false)

    /// Whether `error` is worth another try under this budget.
    public func retries(_ error: CoordinationError) -> Bool {
        error.isTransient && (retryUnreachable || !error.isUnreachable)
    }

    /// Runs `body`, retrying transient failures within the budget.
    ///
    /// - Parameters:
    ///   - shouldStop: checked before each pause; true rethrows the last error at once.
    ///   - onRetry: told about each failure that will be retried, with the seconds since the first.
    public func run<T>(
        shouldStop: () -> Bool = { false },
        onRetry: (CoordinationError, Double) -> Void = { _, _ in },
        _ body: () throws(CoordinationError) -> T
    ) throws(CoordinationError) -> T {
        var firstFailure: Double?
        var attempt = 0
        while true {
            do {
                return try body()
            } catch {
                let now = MonotonicClock.seconds()
                let since = firstFailure ?? now
                firstFailure = since
                guard retries(error), now - since < seconds, !shouldStop() else { throw error }
                onRetry(error, now - since)
                Thread.sleep(forTimeInterval: Self.pause(attempt: attempt))
                attempt += 1
            }
        }
    }

    /// 50 ms, doubling, at most one second: quick when the blip is short, gentle when not.
    public static func pause(attempt: Int) -> Double {
        min(1, 0.05 * pow(2, Double(min(attempt, 10))))
    }
}
