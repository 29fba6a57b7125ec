import RefoldCoordination
import RefoldRedis
import RefoldRunner
import RefoldSQLite

/// The one error type of the command line: a message (what, where, what to do) and an exit code.
public struct CLIError: Error, CustomStringConvertible, Sendable {
    /// Exit codes of `../shared/spec/cli.md`.
    public enum ExitCode: Int32, Sendable {
        case ok = 0
        /// Done, but not clean: drift, strict-mode data errors, dead tasks, a regression.
        case notClean = 1
        /// Bad input: usage, missing files, tables or columns, unknown projection, invalid values.
        case badInput = 2
        /// Infrastructure: Redis unreachable, database locked, unrecoverable worker crash.
        case infrastructure = 3
    }

    public let exitCode: ExitCode
    public let message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }

    /// Maps any error of the lower modules to an exit code and one clear line.
    public static func from(_ error: any Error) -> CLIError {
        switch error {
        case let error as CLIError:
            return error
        case let error as RedisError:
            return CLIError(isBadInput(error) ? .badInput : .infrastructure, error.message)
        case let error as CoordinationError:
            switch error.code {
            case .redis: return CLIError(error.redis.map(isBadInput) == true ? .badInput : .infrastructure, error.message)
            case .invalidArgument, .jobExists, .jobMissing: return CLIError(.badInput, error.message)
            case .jobClosed, .protocolViolation: return CLIError(.infrastructure, error.message)
            }
        case let error as StoreError:
            switch error.code {
            case .badInput, .locked: return CLIError(.badInput, error.message)
            case .infrastructure, .stopped: return CLIError(.infrastructure, error.message)
            }
        case let error as RunnerError:
            switch error.code {
            case .badInput: return CLIError(.badInput, error.message)
            case .notClean: return CLIError(.notClean, error.message)
            case .infrastructure: return CLIError(.infrastructure, error.message)
            }
        default:
            return CLIError(.infrastructure, "\(error)")
        }
    }

    /// A malformed URL or a refused password/database is the user's input, not the infrastructure.
    static func isBadInput(_ error: RedisError) -> Bool {
        error.code == .invalidURL || error.code == .authentication
    }
}
