/// The one error type of the runner (rebuild orchestration, workers, private servers).
public struct RunnerError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Bad input from the user: exit 2.
        case badInput
        /// Done but not clean (dead tasks, strict-mode data errors): exit 1.
        case notClean
        /// Infrastructure failure: exit 3.
        case infrastructure
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
