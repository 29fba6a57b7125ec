import Foundation
import RefoldCoordination
import RefoldRedis
import RefoldRunner
import RefoldSQLite

/// The one error type of the command line: a message (what, where, what to do) and an exit code.
public struct CLIError: Error, CustomStringConvertible, Sendable {
    /// Exit codes of the CLI contract (README, "Commands").
    public enum ExitCode: Int32, Sendable {
        case ok = 0
        /// Done, but not clean: drift, strict-mode data errors, dead tasks, a regression.
        case notClean = 1
        /// Bad input: usage, missing files, tables or columns, unknown projection, invalid values.
        case badInput = 2
        /// Infrastructure: Redis unreachable, database locked, unrecoverable worker crash.
        case infrastructure = 3
        /// Interrupted by SIGINT (Ctrl-C) after a clean cancel: 128 + 2, the shell's convention.
        case interrupted = 130
        /// Stopped by SIGTERM after a clean cancel: 128 + 15.
        case terminated = 143
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
            return CLIError(isBadInput(error) ? .badInput : .infrastructure, withHint(error))
        case let error as CoordinationError:
            switch error.code {
            case .redis: return CLIError(error.redis.map(isBadInput) == true ? .badInput : .infrastructure, error.redis.map(withHint) ?? error.message)
            case .invalidArgument, .jobExists, .jobMissing: return CLIError(.badInput, error.message)
            case .jobClosed, .protocolViolation: return CLIError(.infrastructure, error.message)
            }
        case let error as StoreError:
            switch error.code {
            case .badInput, .locked: return CLIError(.badInput, error.message)
            case .infrastructure, .busy, .stopped: return CLIError(.infrastructure, error.message)
            }
        case let error as RunnerError:
            switch error.code {
            case .badInput: return CLIError(.badInput, error.message)
            case .notClean: return CLIError(.notClean, error.message)
            case .infrastructure: return CLIError(.infrastructure, error.message)
            case .interrupted(let signal): return CLIError(signal == SIGTERM ? .terminated : .interrupted, error.message)
            }
        default:
            return CLIError(.infrastructure, "\(error)")
        }
    }

    /// A malformed URL, a refused password/database or an address where no Redis answers is
    /// the user's input, not the infrastructure.
    static func isBadInput(_ error: RedisError) -> Bool {
        error.code == .invalidURL || error.code == .authentication || error.code == .notRedis
    }

    /// The client's message, with the command-line flag that fixes it (the client never names flags).
    static func withHint(_ error: RedisError) -> String {
        switch error.code {
        case .unreachable, .notRedis: return "\(error.message) (check --redis or REFOLD_REDIS_URL)"
        case .authentication where !error.message.contains("database"): return "\(error.message) (check the password in --redis or REFOLD_REDIS_PASSWORD)"
        default: return error.message
        }
    }
}
