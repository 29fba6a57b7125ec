import CLinux
import Foundation
import Synchronization

/// Where blocking calls (hiredis, SQLite, the databases' client libraries) meet async code.
///
/// A fixed set of dedicated threads, named `refold-blocking-N`, takes closures from one FIFO
/// queue. `run` suspends the calling task — it never blocks a thread of Swift's cooperative
/// pool or an event loop — and resumes it with the closure's result. Each blocking resource
/// (a connection) must still be used by one thread at a time: give each caller its own, or
/// guard it (RedisConnection takes its own lock).
///
/// A task cancelled while its closure runs still waits for the closure (a blocking C call
/// cannot be interrupted); give such calls their own timeouts.
///
/// ```swift
/// let pool = BlockingPool(threads: 4)
/// let status = try await pool.run { try client.status(jobID: job) }
/// ```
public final class BlockingPool: Sendable {
    private struct Queue {
        var work: [@Sendable () -> Void] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let available = DispatchSemaphore(value: 0)
    public let threadCount: Int
    public let name: String

    /// Starts `threads` threads named `<name>-1`, `<name>-2`, ….
    public init(threads: Int, name: String = "refold-blocking") {
        threadCount = max(1, threads)
        self.name = name
        for index in 1...threadCount {
            let thread = Thread { [self] in
                Self.mark("\(name)-\(index)")
                serve()
            }
            thread.start()
        }
    }

    /// Runs `body` on a pool thread and returns (or throws) what it did.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = queue.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.work.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            if accepted {
                available.signal()
            } else {
                continuation.resume(throwing: BlockingPoolStopped(name: name))
            }
        }
    }

    /// Lets the threads finish the queued work and exit; later `run` calls throw.
    public func shutdown() {
        queue.withLock { $0.stopped = true }
        for _ in 0..<threadCount { available.signal() }
    }

    private func serve() {
        while true {
            available.wait()
            let next = queue.withLock { state -> (@Sendable () -> Void)? in
                state.work.isEmpty ? nil : state.work.removeFirst()
            }
            if let next {
                next()
            } else if queue.withLock({ $0.stopped }) {
                return
            }
        }
    }

    /// Runs one long blocking job (a worker loop, a blocking pop, a subscription) on a thread
    /// of its own, named `name`, and suspends the caller until it returns.
    public static func dedicatedThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                mark(name)
                continuation.resume(with: Result { try body() })
            }
            thread.start()
        }
    }

    /// The name of the pool thread or dedicated thread running the caller, or nil on any
    /// other thread (the cooperative pool's, the main thread).
    public static var currentThreadName: String? {
        Thread.current.threadDictionary[markKey] as? String
    }

    private static let markKey = "refold.blocking-thread"

    /// Names the running thread for `ps`/`top` (the kernel keeps 15 bytes) and for `currentThreadName`.
    private static func mark(_ name: String) {
        Thread.current.threadDictionary[markKey] = name
        _ = refold_name_this_thread(name)
    }
}

/// `run` was called after `shutdown()`.
public struct BlockingPoolStopped: Error, CustomStringConvertible, Sendable {
    public let name: String
    public var description: String { "the blocking pool \(name) was shut down" }
}
