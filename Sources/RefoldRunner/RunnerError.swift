/// The one error type of the runner (rebuild orchestration, workers, private servers).
public struct RunnerError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        /// Bad input from the user: exit 2.
        case badInput
        /// Done but not clean (dead tasks, strict-mode data errors, an operator's cancel): exit 1.
        case notClean
        /// Infrastructure failure: exit 3.
        case infrastructure
        /// Stopped by SIGINT/SIGTERM after cancelling cleanly: exit 128 + signal (130, 143).
        case interrupted(Int32)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
