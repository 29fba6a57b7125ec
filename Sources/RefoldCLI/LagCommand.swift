import ArgumentParser
import Foundation
import RefoldCoordination
import RefoldCore
import RefoldRedis
import RefoldRunner
import RefoldSQLite

/// `refold lag PROJECTION --events LOC`: how far the live table is behind.
struct LagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag",
        abstract: "How far a read model is behind its events: positions, seconds, and aggregates whose written version is above their row's."
    )

    @Argument(help: "The projection.") var projection: String
    @OptionGroup var locations: LocationOptions
    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let projection = try Projections.named(self.projection)
        let locations = try self.locations.resolved()
        let source = try Stores.events(locations.events, layout: locations.layout)
        let store = try Verifier.openBuiltModel(projection: projection.name, path: locations.readModels)
        guard let checkpoint = try store.checkpoint(projection: projection.name) else { return }
        let head = try source.headPosition()
        let behind = try source.countEvents(after: checkpoint.position)
        let seconds = source.createdAt(firstAfter: checkpoint.position).flatMap(Self.secondsSince) ?? 0
        var aggregatesBehind: Int?
        var examples: [(String, Int64, Int64?)] = []
        var leader: LeaderScript.Holder?
        if redis.explicitURL() != nil {
            let client = try CoordinationClient.connect(configuration: try redis.configuration(command: "lag"), budget: OutageBudget(seconds: 10, retryUnreachable: false))
            let written = try Self.writtenVersions(client)
            let rows = try store.versions(projection: projection.name, aggregates: written.map { Array($0.0.utf8) })
            var count = 0
            for (aggregate, version) in written {
                let row = rows[Array(aggregate.utf8)]
                if (row ?? 0) < version {
                    count += 1
                    if examples.count < 10 { examples.append((aggregate, version, row)) }
                }
            }
            aggregatesBehind = count
            if case .taken(let holder) = try client.run(LeaderScript(projection: projection.name, operation: .renew, owner: "refold lag", token: "refold-lag-probe", leaseMilliseconds: 1)), !holder.owner.isEmpty {
                leader = holder
            }
        }
        if output.json {
            JSONOutput.print(.object([
                ("projection", .string(projection.name)), ("checkpoint", .int(checkpoint.position)), ("head_position", .int(head)),
                ("positions_behind", .int(max(0, head - checkpoint.position))), ("events_behind", .int(behind)),
                ("seconds_behind", .double(seconds)),
                ("aggregates_behind", aggregatesBehind.map { .int(Int64($0)) } ?? .null),
                ("examples", .array(examples.map { .object([("aggregate", .string($0.0)), ("written_version", .int($0.1)), ("row_version", $0.2.map { .int($0) } ?? .null)]) })),
                ("leader", leader.map { .object([("owner", .string($0.owner)), ("since_ms", .int($0.sinceMilliseconds))]) } ?? .null),
            ]))
            return
        }
        print("\(projection.name): checkpoint \(checkpoint.position), head \(head) — \(max(0, head - checkpoint.position)) positions (\(behind) events) behind" + (seconds > 0 ? String(format: ", %.1f s behind", seconds) : "") + ".")
        if let aggregatesBehind {
            print("  \(aggregatesBehind) aggregates have a written version above their row's" + (examples.isEmpty ? "." : ":"))
            for (aggregate, written, row) in examples { print("    \(aggregate) written v\(written), row v\(row.map(String.init) ?? "-")") }
        } else {
            print("  (pass --redis to compare rows with the written versions recorded there)")
        }
        if let leader { print("  live service: led by \(leader.owner)") }
    }

    /// Every written version recorded in Redis (SCAN over refold:written:*, on every master of
    /// a cluster).
    static func writtenVersions(_ client: CoordinationClient) throws -> [(String, Int64)] {
        var out: [(String, Int64)] = []
        let keys = try client.redis.keys(matching: "refold:written:{*}")
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = Array(keys[start..<min(keys.count, start + 1000)])
            let values = try client.redis.pipeline(batch.map { RedisCommand("GET", $0) })
            for (key, value) in zip(batch, values) {
                guard let version = value.int else { continue }
                out.append((String(key.dropFirst("refold:written:{".count).dropLast()), version))
            }
        }
        return out
    }

    /// Seconds from a stored `yyyy-MM-dd HH:mm:ss` (UTC) time to now.
    static func secondsSince(_ text: String) -> Double? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        guard let date = formatter.date(from: String(text.prefix(19))) else { return nil }
        return max(0, Date().timeIntervalSince(date))
    }
}
