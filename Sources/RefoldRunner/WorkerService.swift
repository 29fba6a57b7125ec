import Foundation
import Logging
import RefoldCoordination
import RefoldThreads
import ServiceLifecycle
import Synchronization

/// `refold worker` as a swift-service-lifecycle `Service`: the worker loop runs on a thread
/// of its own (it blocks on hiredis and SQLite); graceful shutdown (SIGTERM, SIGINT) asks it
/// to stop, and it finishes or hands back the task in hand and returns.
///
/// ```swift
/// let group = ServiceGroup(services: [WorkerService(loop: loop)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct WorkerService: Service {
    public let loop: WorkerLoop

    public init(loop: WorkerLoop) {
        self.loop = loop
    }

    public func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            try await BlockingPool.dedicatedThread(name: "refold-worker") { [loop] in
                try loop.run(shouldStop: { stop.isRaised })
            }
        } onGracefulShutdown: {
            stop.raise()
        }
    }
}

/// A flag one side raises and the other polls.
public final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    public func raise() { raised.store(true, ordering: .releasing) }

    public var isRaised: Bool { raised.load(ordering: .acquiring) }
}

/// `refold run`: one projection's live service as a swift-service-lifecycle `Service`. Its
/// loop runs on a dedicated thread; graceful shutdown lets the pass in hand finish, then the
/// leadership and the model's lock are given back.
public struct LiveService: Service {
    public let runner: LiveRunner

    public init(runner: LiveRunner) {
        self.runner = runner
    }

    public func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            try await BlockingPool.dedicatedThread(name: "refold-live") { [runner] in
                try runner.run(shouldStop: { stop.isRaised })
            }
        } onGracefulShutdown: {
            stop.raise()
        }
    }
}
