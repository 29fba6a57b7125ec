import ArgumentParser
import Foundation
import RefoldCoordination
import RefoldCore
import RefoldRunner
import RefoldSQLite

/// `refold append AGGREGATE --events LOC --type CLASS --data JSON [--expected-version N]`
struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append one event to the event table, with optimistic concurrency; record the written version in Redis.",
        discussion: """
            The event takes the aggregate's next version; with --expected-version N only if the \
            aggregate is at N now. A conflict writes nothing, names the current version, and exits 1. \
            With a Redis (--redis or REFOLD_REDIS_URL) the written version is recorded there after the \
            commit (write-through), so readers can ask whether the read model has caught up.
            """
    )

    @Argument(help: "The aggregate id (aggregate_uuid).") var aggregate: String
    @OptionGroup var locations: LocationOptions
    @Option(name: .customLong("type"), help: ArgumentHelp("The event class, e.g. App\\\\Events\\\\ItemAdded.", valueName: "class")) var eventClass: String
    @Option(help: ArgumentHelp("The payload, a JSON object.", valueName: "json")) var data: String
    @Option(name: .customLong("expected-version"), help: ArgumentHelp("Append only if the aggregate is at this version now (0: a new aggregate).", valueName: "n"))
    var expectedVersion: Int64?
    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !aggregate.isEmpty, aggregate.utf8.count <= 200 else { throw ValidationError("the aggregate id must be 1-200 bytes.") }
        guard !aggregate.contains("{"), !aggregate.contains("}") else { throw ValidationError("the aggregate id must not contain braces.") }
        guard !eventClass.isEmpty, eventClass.utf8.count <= 255 else { throw ValidationError("--type must be 1-255 bytes, e.g. App\\Events\\ItemAdded.") }
        if let expectedVersion, expectedVersion < 0 { throw ValidationError("--expected-version must be 0 or more (got \(expectedVersion)).") }
        guard let tree = JSONTree(parsing: data), case .object = tree else {
            throw ValidationError("--data must be a JSON object, e.g. '{\"sku\":\"A\",\"qty\":1,\"price_cents\":500}'.")
        }
    }

    func run() throws {
        let locations = try self.locations.resolved()
        // Redis first, so a wrong --redis fails before anything is written.
        let client = try redis.explicitURL().map { _ in
            try CoordinationClient.connect(configuration: try redis.configuration(command: "append"), budget: OutageBudget(seconds: 10, retryUnreachable: false))
        }
        let appender = try Stores.appender(locations.events, layout: locations.layout)
        switch try appender.append(NewEvent(aggregate: aggregate, version: nil, eventClass: eventClass, payload: data), expected: expectedVersion) {
        case .conflict(let current):
            let message = "conflict: aggregate \(aggregate) is at version \(current), not \(expectedVersion.map(String.init) ?? "?"); nothing was written (read it again and retry with --expected-version \(current))."
            if output.json {
                // Exactly one object on standard output: the conflict, with the line on stderr.
                JSONOutput.print(.object([("ok", .bool(false)), ("exit_code", .int(1)), ("error", .string(message)), ("aggregate", .string(aggregate)),
                                          ("conflict", .bool(true)), ("current_version", .int(current)), ("expected_version", expectedVersion.map { .int($0) } ?? .null)]))
                StandardError.line("refold: " + message)
                throw ExitCode(CLIError.ExitCode.notClean.rawValue)
            }
            throw CLIError(.notClean, "conflict: aggregate \(aggregate) is at version \(current), not \(expectedVersion.map(String.init) ?? "?"); nothing was written (read it again and retry with --expected-version \(current)).")
        case .appended(let version, let position):
            var recorded = false
            if let client {
                do {
                    _ = try OutageBudget(seconds: 10).run { () throws(CoordinationError) in try client.run(WrittenScript(aggregate: aggregate, version: version)) }
                    recorded = true
                } catch {
                    StandardError.line("refold: warning: the event was appended (version \(version), position \(position)) but its version could not be recorded in Redis: \(error.message)")
                }
            }
            if output.json {
                JSONOutput.print(.object([("aggregate", .string(aggregate)), ("version", .int(version)), ("position", .int(position)), ("written_recorded", .bool(recorded))]))
            } else {
                print("Appended \(eventClass) to \(aggregate) at version \(version) (position \(position))\(recorded ? "; written version recorded in Redis" : "").")
            }
        }
    }
}
