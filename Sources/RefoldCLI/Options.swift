import ArgumentParser
import Foundation
import RefoldRedis

/// `--redis URL`, shared by every command that talks to Redis.
///
/// Precedence: the flag, then `REFOLD_REDIS_URL`, then — for `rebuild`, `bench` and `demo`
/// only — a private `redis-server` on a Unix socket in a folder of its own, for the run. The password comes
/// from the URL or `REFOLD_REDIS_PASSWORD` and is never printed.
struct RedisOptions: ParsableArguments {
    @Option(name: .customLong("redis"), help: ArgumentHelp("Redis URL: redis://[:password@]host:port[/db] or unix:///path (default: $REFOLD_REDIS_URL).", valueName: "url"))
    var url: String?

    /// The URL from the flag or the environment, or nil if neither gives one.
    func explicitURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let url, !url.isEmpty { return url }
        if let env = environment["REFOLD_REDIS_URL"], !env.isEmpty { return env }
        return nil
    }

    /// The configuration from the flag or environment; exit 2 with a clear message when there is none.
    func configuration(command: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RedisConfiguration {
        guard let text = explicitURL(environment: environment) else {
            throw CLIError(.badInput, "refold \(command) needs a Redis server: pass --redis redis://host:port or set REFOLD_REDIS_URL.")
        }
        return try Self.parse(text, environment: environment)
    }

    static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RedisConfiguration {
        do {
            return try RedisConfiguration(urlText: text, environment: environment)
        } catch {
            throw CLIError(.badInput, "\(error.message) (set --redis or REFOLD_REDIS_URL)")
        }
    }
}

/// `--json`: standard output holds exactly one JSON object; everything else goes to standard error.
struct OutputOptions: ParsableArguments {
    @Flag(name: .customLong("json"), help: "Print one JSON object on standard output and nothing else.")
    var json = false
}

/// A duration written `<integer>(ms|s|m)`: `500ms`, `2s`, `5m`.
struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    let milliseconds: Int

    init(milliseconds: Int) {
        self.milliseconds = milliseconds
    }

    init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self = parsed
    }

    static func parse(_ text: String) throws -> DurationArgument {
        try parse(text, allowingZero: false)
    }

    /// For durations where none is meaningful (`--grace 0s`: quarantine a gap at once).
    static func parseAllowingZero(_ text: String) throws -> DurationArgument {
        try parse(text, allowingZero: true)
    }

    static func parse(_ text: String, allowingZero: Bool) throws -> DurationArgument {
        let units: [(String, Int)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) && !(suffix == "s" && text.hasSuffix("ms")) {
            let number = text.dropLast(suffix.count)
            if let value = Int(number), value > 0 || (allowingZero && value == 0), !number.hasPrefix("+"), value <= Int.max / factor {
                return DurationArgument(milliseconds: value * factor)
            }
        }
        throw ValidationError("write \(allowingZero ? "an integer ≥ 0" : "a positive integer") followed by ms, s, m or h, e.g. 500ms, 2s, 5m")
    }

    var seconds: Double { Double(milliseconds) / 1000 }

    var description: String {
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// The shortest lease a worker can keep alive: it renews every third of the lease, so a
/// lease below a second would expire under ordinary scheduling delays and every task would die.
enum LeaseLimits {
    static let minimumMilliseconds = 1000

    static func check(_ lease: DurationArgument?, flag: String) throws {
        guard let lease, lease.milliseconds < minimumMilliseconds else { return }
        throw ValidationError("\(flag) must be at least 1s (got \(lease)): a worker renews its lease every third of it, and a shorter lease expires under ordinary scheduling delays, killing every task.")
    }
}

/// Writes to standard error (logs, progress, warnings): standard output is for results.
enum StandardError {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func line(_ text: String) {
        write(text + "\n")
    }

    static var isTerminal: Bool { isatty(2) == 1 }
}

/// Where generated datasets are cached: `--cache DIR`, else `$XDG_CACHE_HOME/refold`, else `~/.cache/refold`.
enum CacheDirectory {
    static func resolve(_ option: String?) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let base = option.map(LocationOptions.absolute)
            ?? environment["XDG_CACHE_HOME"].map { $0 + "/refold" }
            ?? (environment["HOME"].map { $0 + "/.cache/refold" } ?? FileManager.default.temporaryDirectory.appendingPathComponent("refold").path)
        do {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        } catch {
            throw CLIError(.badInput, "cannot create the cache folder \(base): \(error.localizedDescription) (pass --cache DIR).")
        }
        return base
    }
}
