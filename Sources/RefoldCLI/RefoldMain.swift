import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import RefoldCore
import Synchronization

/// Entry point of the `refold` executable, as a library so a user's package can reuse the
/// whole command line with its own projections.
public enum RefoldMain {
    /// Parses the command line, runs the command, and exits with the codes of `cli.md`:
    /// usage errors exit 2 (not ArgumentParser's 64), infrastructure failures 3.
    ///
    /// - Parameter projections: the binary's own projections, added to the built-in ones.
    ///   Registering one is one line: `RefoldMain.run(projections: [AnyProjection(MyProjection())])`.
    public static func run(projections: [AnyProjection] = [], arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        Projections.register(projections)
        bootstrap(prometheus: arguments.first == "serve")
        do {
            var command = try RefoldCommand.parseAsRoot(joinNegativeValues(arguments))
            if let service = command as? any AsyncParsableCommand {
                try runAsync(service)
            } else {
                try command.run()
            }
            exit(0)
        } catch let code as ExitCode {
            // Thrown on purpose after a command printed its result (drift, dead tasks).
            exit(code.rawValue)
        } catch let error as CLIError {
            fail(error.message, code: error.exitCode.rawValue, arguments: arguments)
        } catch {
            let code = RefoldCommand.exitCode(for: error)
            let message = RefoldCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            if code.rawValue == 64 || error is ValidationError {
                let line = usageLine(error: error, fullMessage: message)
                failureJSON(line.hasPrefix("refold: ") ? String(line.dropFirst(8)) : line, code: CLIError.ExitCode.badInput.rawValue, arguments: arguments)
                StandardError.line(line)
                exit(CLIError.ExitCode.badInput.rawValue)
            }
            if code.rawValue != 1 {
                // ExitCode thrown on purpose by a command (e.g. 1 for drift): keep it.
                if !message.isEmpty { StandardError.line(message) }
                exit(code.rawValue)
            }
            let mapped = CLIError.from(error)
            fail(mapped.message, code: mapped.exitCode.rawValue, arguments: arguments)
        }
    }

    /// One line on standard error, the JSON object on standard output under `--json`, the exit code.
    static func fail(_ message: String, code: Int32, arguments: [String]) -> Never {
        failureJSON(message, code: code, arguments: arguments)
        StandardError.line("refold: \(message)")
        exit(code)
    }

    /// Under `--json` standard output holds exactly one JSON object, failures included:
    /// `{"ok":false,"exit_code":N,"error":"…"}`, with `"swapped":false` for the commands that swap.
    static func failureJSON(_ message: String, code: Int32, arguments: [String]) {
        guard arguments.contains("--json") else { return }
        var pairs: [(String, JSONValue)] = [("ok", .bool(false)), ("exit_code", .int(Int64(code))), ("error", .string(message))]
        if let command = arguments.first, ["rebuild", "demo"].contains(command) { pairs.insert(("swapped", .bool(false)), at: 1) }
        if let command = arguments.first, command == "catchup" { pairs.insert(("caught_up", .bool(false)), at: 1) }
        JSONOutput.print(.object(pairs))
    }

    /// The metrics backend this executable installed (counters and timers kept in memory).
    static let metrics = MetricsTally()

    /// Logging and metrics are set up here, in the executable, and nowhere else: libraries
    /// only take a `Logger` and use swift-metrics' facade. Logs go to standard error (standard
    /// output is for results); `REFOLD_LOG_LEVEL` (trace … critical) sets the level, info by default.
    /// The Prometheus registry `refold serve` exposes on /metrics (nil for other commands).
    nonisolated(unsafe) static var prometheus: PrometheusCollectorRegistry?

    static func prometheusText() -> String { prometheus?.emitToString() ?? "" }

    static func bootstrap(prometheus usePrometheus: Bool = false) {
        let level = ProcessInfo.processInfo.environment["REFOLD_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        if usePrometheus {
            let registry = PrometheusCollectorRegistry()
            prometheus = registry
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        } else {
            MetricsSystem.bootstrap(metrics)
        }
    }

    /// Runs an async command (a service) from this synchronous entry point: the main thread
    /// waits while the command runs on Swift's concurrency pool.
    static func runAsync(_ command: any AsyncParsableCommand) throws {
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let box = UncheckedCommand(command)
        Task.detached {
            var command = box.command
            do {
                try await command.run()
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        try outcome.withLock { $0 }?.get()
    }

    /// `--workers -1` reads to ArgumentParser as an option without its value ("Missing value");
    /// joined as `--workers=-1` it reaches validation, which says what is wrong with it.
    static func joinNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--"), argument.count > 2, !argument.contains("="), index + 1 < arguments.count {
                let next = arguments[index + 1]
                if next.count > 1, next.hasPrefix("-"), next.dropFirst().first?.isNumber == true {
                    out.append("\(argument)=\(next)")
                    index += 2
                    continue
                }
            }
            out.append(argument)
            index += 1
        }
        return out
    }

    /// A usage error as one line (cli.md: one clear line for exit 2): what was wrong, and where
    /// to read the usage.
    static func usageLine(error: any Error, fullMessage: String) -> String {
        var what = RefoldCommand.message(for: error)
        if what.hasPrefix("Error: ") { what.removeFirst("Error: ".count) }
        what = what.split(separator: "\n").first.map(String.init) ?? what
        let help = fullMessage.split(separator: "\n")
            .first { $0.contains("See '") }
            .flatMap { line -> String? in
                guard let start = line.range(of: "'"), let end = line[start.upperBound...].range(of: "'") else { return nil }
                return String(line[start.upperBound..<end.lowerBound])
            } ?? "refold --help"
        return "refold: \(what) (see '\(help)')"
    }
}

/// A parsed command handed to the task that runs it. It is only ever used by that task (the
/// main thread waits meanwhile), so no two threads touch it: the promise `@unchecked` makes.
private struct UncheckedCommand: @unchecked Sendable {
    let command: any AsyncParsableCommand
    init(_ command: any AsyncParsableCommand) { self.command = command }
}
