import ArgumentParser
import Foundation
import RefoldBench
import RefoldCore
import RefoldOrderSummary
import RefoldProcess
import RefoldRedis

/// `refold bench redis`: the client's pipelined throughput against `redis-benchmark` on the
/// same server in the same run (a ratio), and its unpipelined round-trip latency.
struct BenchRedisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "Pipelined HINCRBY throughput vs redis-benchmark -P 32 (one connection each), and round-trip latency."
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Commands per throughput measurement.") var requests = 200_000
    @Option(help: "Pipeline depth, for both sides.") var pipeline = 32
    @Option(help: "Unpipelined round trips for the latency figures.") var roundTrips = 10_000
    @Option(name: .customLong("repeat"), help: "Repeats; medians are reported.") var repeats = 3

    func validate() throws {
        guard requests >= pipeline, pipeline >= 1, roundTrips >= 1, repeats >= 1 else {
            throw ValidationError("--requests must be at least --pipeline, and every count at least 1.")
        }
    }

    func run() throws {
        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        let connection = try RedisConnection(resolved.configuration)
        let key = "refold:bench:\(UUID().uuidString.prefix(8))"
        defer { _ = try? connection.send(RedisCommand("DEL", key)) }

        var ours: [Double] = []
        var theirs: [Double] = []
        for _ in 0..<repeats {
            let start = Date()
            var sent = 0
            while sent < requests {
                let batch = min(pipeline, requests - sent)
                _ = try connection.pipeline((0..<batch).map { _ in RedisCommand("HINCRBY", key, "field", 1) })
                sent += batch
            }
            ours.append(Double(requests) / Date().timeIntervalSince(start))
            if let rate = try redisBenchmark(resolved, key: key) { theirs.append(rate) }
        }
        var latencies: [Double] = []
        latencies.reserveCapacity(roundTrips)
        for _ in 0..<roundTrips {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try connection.send(RedisCommand("PING"))
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        let oursMedian = Statistics.median(ours)
        let theirsMedian = theirs.isEmpty ? nil : Statistics.median(theirs)
        let ratio = theirsMedian.map { oursMedian / $0 }
        if output.json {
            JSONOutput.print([
                "requests": .int(Int64(requests)), "pipeline": .int(Int64(pipeline)), "repeat": .int(Int64(repeats)),
                "client_per_second": .double(oursMedian),
                "redis_benchmark_per_second": theirsMedian.map { .double($0) } ?? .null,
                "ratio": ratio.map { .double($0) } ?? .null,
                "round_trip_us_p50": .double(Statistics.percentile(latencies, 50)),
                "round_trip_us_p99": .double(Statistics.percentile(latencies, 99)),
            ])
        } else {
            print("Redis client vs redis-benchmark (\(resolved.label)), one connection each, pipeline \(pipeline), medians of \(repeats):")
            print(String(format: "  refold client   %10.0f HINCRBY/s", oursMedian))
            if let theirsMedian, let ratio {
                print(String(format: "  redis-benchmark %10.0f HINCRBY/s   ratio %.2f", theirsMedian, ratio))
            } else {
                print("  redis-benchmark not found: no ratio (install redis-tools)")
            }
            print(String(format: "  unpipelined PING round trip: p50 %.1f µs, p99 %.1f µs (%d trips)",
                         Statistics.percentile(latencies, 50), Statistics.percentile(latencies, 99), roundTrips))
        }
    }

    /// Runs redis-benchmark for the same workload and parses its requests per second.
    private func redisBenchmark(_ resolved: ResolvedRedis, key: String) throws -> Double? {
        guard let tool = ["/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"].first(where: FileManager.default.isExecutableFile) else { return nil }
        guard case .tcp(let host, let port) = resolved.configuration.url.endpoint else { return nil }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("refold-redis-benchmark-\(getpid()).txt")
        defer { try? FileManager.default.removeItem(at: output) }
        var environment = ProcessInfo.processInfo.environment
        var arguments = ["-h", host, "-p", "\(port)", "-c", "1", "-P", "\(pipeline)", "-n", "\(requests)", "-q"]
        if let password = resolved.configuration.url.password {
            environment["REDISCLI_AUTH"] = password  // never on the command line
        }
        arguments += ["HINCRBY", key, "field", "1"]
        let child = try ChildProcess(executable: tool, arguments: arguments, environment: environment, standardOutput: .file(output.path), standardError: .null)
        _ = child.wait(timeout: 300)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        // "HINCRBY refold:bench:… field 1: 1234567.00 requests per second, p50=…"
        guard let range = text.range(of: " requests per second") else { return nil }
        let number = text[..<range.lowerBound].split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "\r" }).last
        return number.flatMap { Double($0) }
    }
}
