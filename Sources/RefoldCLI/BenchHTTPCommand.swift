import ArgumentParser
import Foundation
import RefoldCore
import RefoldOrderSummary
import RefoldProcess
import RefoldRunner
import RefoldSQLite
import Synchronization

/// `refold bench http`: `refold serve` under `wrk`, against the floor of a direct SQLite point
/// read in this process. Scenarios: plain row reads; version-checked reads already satisfied;
/// reads that must wait for the live runner while appends arrive; plain reads while the live
/// runner catches up a large backlog. Every figure comes from the same run.
struct BenchHTTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "refold serve under wrk: plain, satisfied, waiting reads, reads during a catch-up, vs a direct SQLite point read.",
        discussion: """
            Needs wrk (apt install wrk). Generates (and caches) a dataset, rebuilds it inline, starts a \
            private redis-server (or uses --redis) and `refold serve` on a free loopback port, then runs \
            each scenario for --duration with --threads and --connections. The floor is the same point \
            read the server does (the read-model store's liveRow), from --threads threads of this process.
            """
    )

    @OptionGroup var redis: RedisOptions
    @Option(help: "Events in the generated dataset.") var size = 200_000
    @Option(help: "Aggregates in the generated dataset.") var aggregates = 4_000
    @Option(help: ArgumentHelp("How long each scenario runs, e.g. 10s.", valueName: "duration"), transform: DurationArgument.parse)
    var duration = DurationArgument(milliseconds: 10_000)
    @Option(help: "wrk threads (and floor threads).") var threads = 2
    @Option(help: "wrk connections for the read scenarios.") var connections = 32
    @Option(help: "Copies of the table appended as the catch-up's backlog (each under new aggregate ids).") var backlog = 3
    @Flag(help: "Switch the benchmark's copy of the database to WAL first (the default keeps the generated rollback journal).") var wal = false
    @Option(help: ArgumentHelp("Where generated datasets are cached.", valueName: "dir")) var cache: String?

    func validate() throws {
        guard size >= 1000, aggregates >= 10, aggregates <= size else { throw ValidationError("--size must be at least 1000 and --aggregates from 10 to --size.") }
        guard (1...64).contains(threads), (1...1000).contains(connections), connections >= threads else {
            throw ValidationError("--threads is 1 to 64 and --connections from --threads to 1000.")
        }
        guard (1...20).contains(backlog) else { throw ValidationError("--backlog is 1 to 20 copies of the table.") }
        guard duration.milliseconds >= 1000 else { throw ValidationError("--duration must be at least 1s.") }
    }

    struct WrkResult {
        var requests = 0
        var seconds = 0.0
        var p50 = 0.0
        var p99 = 0.0
        var non2xx = 0
        var rate: Double { seconds > 0 ? Double(requests) / seconds : 0 }
    }

    func run() throws {
        SignalFlag.install()
        let say: (String) -> Void = { StandardError.line("bench http: \($0)") }
        guard let wrk = PrivateRedisServer.which("wrk") else {
            throw CLIError(.badInput, "wrk is not installed: apt-get install wrk (refold bench http drives the server with it).")
        }
        let source = "\(try CacheDirectory.resolve(cache))/bench-\(size)-\(aggregates)-0.0.db"
        if !FileManager.default.fileExists(atPath: source) {
            say("generating \(size) events for \(aggregates) aggregates (cached at \(source))")
            try SQLiteDatasetWriter.write(DatasetGenerator(DatasetSpec(size: size, aggregates: aggregates, seed: 1, skew: 0)), to: source)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("refold-bench-http-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let app = directory.appendingPathComponent("app.db").path
        try FileManager.default.copyItem(atPath: source, toPath: app)
        if wal { _ = try SQLiteConnection(path: app, readOnly: false).execute("PRAGMA journal_mode=WAL") }
        let me = LocalWorkerPool.currentExecutable()
        say("rebuilding the copy inline")
        let rebuild = try ChildProcess(executable: me, arguments: ["rebuild", "order_summary", "--events", app, "--inline"],
                                       standardOutput: .file(directory.appendingPathComponent("rebuild.out").path), standardError: .file(directory.appendingPathComponent("rebuild.err").path))
        guard rebuild.wait(timeout: 600)?.code == 0 else { throw CLIError(.infrastructure, "the inline rebuild of the benchmark's copy failed (see \(directory.path)/rebuild.err).") }

        let resolved = try ResolvedRedis(redis)
        defer { resolved.stop() }
        let port = try FreePort.find()
        let base = "http://127.0.0.1:\(port)"
        let serveLog = directory.appendingPathComponent("serve.log").path
        var environment = ProcessInfo.processInfo.environment
        environment["REFOLD_REDIS_URL"] = resolved.urlText
        let server = try ChildProcess(executable: me, arguments: ["serve", "--events", app, "--port", String(port)], environment: environment,
                                      standardOutput: .file(serveLog), standardError: .file(serveLog + ".err"))
        defer {
            server.signal(SIGTERM)
            _ = server.wait(timeout: 30)
        }
        try Self.waitFor(seconds: 60, "refold serve to answer /health") { Self.status("\(base)/health") == 200 }

        // Row ids (not quarantined) and a few hot ones for the append load.
        let store = try SQLiteConnection(path: app, readOnly: true)
        let statement = try store.prepare("SELECT id FROM order_summary WHERE id NOT IN (SELECT aggregate FROM refold_quarantine) ORDER BY id")
        var ids: [String] = []
        while try statement.step() { ids.append(statement.text(0)) }
        let hot = Array(ids.prefix(16))
        let seconds = Double(duration.milliseconds) / 1000

        say("floor: direct point reads from \(threads) threads")
        let floor = try Self.floor(app: app, ids: ids, threads: threads, seconds: seconds)
        func wrkRun(_ name: String, script: String, connections: Int) throws -> WrkResult {
            let path = directory.appendingPathComponent("\(name).lua").path
            try Data(script.utf8).write(to: URL(fileURLWithPath: path))
            let out = directory.appendingPathComponent("\(name).out").path
            let child = try ChildProcess(executable: wrk, arguments: ["-t\(threads)", "-c\(connections)", "-d\(Int(seconds.rounded()))s", "--timeout", "40s", "-s", path, base],
                                         standardOutput: .file(out), standardError: .file(out + ".err"))
            guard child.wait(timeout: seconds + 120)?.code == 0 else { throw CLIError(.infrastructure, "wrk failed in \(name) (see \(out).err).") }
            return Self.parse((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }
        say("plain reads")
        let plain = try wrkRun("plain", script: Self.readScript(ids: ids, header: nil), connections: connections)
        say("version-checked reads already satisfied")
        let satisfied = try wrkRun("satisfied", script: Self.readScript(ids: ids, header: "Refold-Min-Version: 1"), connections: connections)

        say("reads that wait for the live runner, with appends to \(hot.count) rows")
        let appender = try ChildProcess(executable: wrk, arguments: ["-t1", "-c4", "-d\(Int(seconds.rounded()) + 2)s", "-s", Self.write(directory, "append.lua", Self.appendScript(ids: hot)), base],
                                        standardOutput: .file(directory.appendingPathComponent("append.out").path), standardError: .file(directory.appendingPathComponent("append.err").path))
        let waiting = try wrkRun("waiting", script: Self.waitingScript(ids: hot), connections: min(connections, 16))
        _ = appender.wait(timeout: seconds + 60)
        let appends = Self.parse((try? String(contentsOfFile: directory.appendingPathComponent("append.out").path, encoding: .utf8)) ?? "")

        // A backlog of `backlog` copies of the table (every aggregate again, under new ids),
        // written straight into the events table; the live runner catches up while wrk reads.
        say("plain reads while the live runner catches up \(size * backlog) new events")
        let writer = try SQLiteConnection(path: app, readOnly: false)
        try writer.execute("BEGIN IMMEDIATE")
        for copy in 1...backlog {
            try writer.execute("""
                INSERT INTO stored_events (aggregate_uuid, aggregate_version, event_version, event_class, event_properties, meta_data, created_at)
                SELECT aggregate_uuid || '-backlog-\(copy)', aggregate_version, event_version, event_class, event_properties, meta_data, created_at
                FROM stored_events WHERE id <= \(size) ORDER BY id
                """)
        }
        try writer.execute("COMMIT")
        let during = try wrkRun("catchup", script: Self.readScript(ids: ids, header: nil), connections: connections)
        let behindAfter = Self.behind(base)
        let started = Date()
        try Self.waitFor(seconds: 600, "the live runner to catch up") { Self.behind(base) == 0 }
        let caughtUpAfter = Date().timeIntervalSince(started)

        func line(_ name: String, _ result: WrkResult) -> String {
            name.padding(toLength: 50, withPad: " ", startingAt: 0) + String(format: " %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %6.2f× floor  non-2xx %d", result.rate, result.p50 / 1000, result.p99 / 1000, floor.rate > 0 ? floor.rate / max(result.rate, 1) : 0, result.non2xx)
        }
        print("refold serve under wrk: \(size) events, \(ids.count) rows, \(threads) threads, \(connections) connections, \(Int(seconds)) s each, journal \(wal ? "WAL" : "rollback (as generated)")")
        print("floor: direct SQLite point read, \(threads) threads".padding(toLength: 50, withPad: " ", startingAt: 0) + String(format: " %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms", floor.rate, floor.p50 * 1000, floor.p99 * 1000))
        print(line("plain row reads", plain))
        print(line("Refold-Min-Version already satisfied", satisfied))
        print(line("reads that wait for the next append", waiting))
        print("  the append load meanwhile".padding(toLength: 50, withPad: " ", startingAt: 0) + String(format: " %9.0f req/s  (4 connections, %d rows), non-2xx %d", appends.rate, hot.count, appends.non2xx))
        print(line("plain reads during a \(size * backlog)-event catch-up", during))
        print("  the catch-up was \(behindAfter.map { "\($0) positions behind" } ?? "unknown") when that wrk ended; caught up \(String(format: "%.1f", caughtUpAfter)) s later")
        print("wrk waits: non-2xx on waiting reads are 409s (the wait of 5 s timed out)")
    }

    // MARK: Pieces

    static func write(_ directory: URL, _ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func luaList(_ ids: [String]) -> String { "{" + ids.map { "\"\($0)\"" }.joined(separator: ",") + "}" }

    static let report = """
        done = function(summary, latency, requests)
          io.write(string.format("RESULT %d %d %f %f %d\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status))
        end
        """

    static func readScript(ids: [String], header: String?) -> String {
        """
        local ids = \(luaList(ids))
        local n = 0
        request = function()
          n = n + 1
          local id = ids[math.random(#ids)]
          return wrk.format("GET", "/v1/projections/order_summary/rows/" .. id\(header.map { ", {[\"\($0.split(separator: ":")[0])\"] = \"\($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))\"}" } ?? ""))
        end
        \(report)
        """
    }

    static func appendScript(ids: [String]) -> String {
        """
        local ids = \(luaList(ids))
        local n = 0
        request = function()
          n = n + 1
          return wrk.format("POST", "/v1/aggregates/" .. ids[(n % #ids) + 1] .. "/events", {["Content-Type"] = "application/json"},
            [[{"type":"App\\\\Events\\\\ItemAdded","data":{"sku":"BENCH","qty":1,"price_cents":1}}]])
        end
        \(report)
        """
    }

    /// Each read asks for one more than the highest version this thread has seen of the row,
    /// so it waits for the next append to be applied.
    static func waitingScript(ids: [String]) -> String {
        """
        local ids = \(luaList(ids))
        local seen = {}
        request = function()
          local id = ids[math.random(#ids)]
          local want = (seen[id] or 0) + 1
          return wrk.format("GET", "/v1/projections/order_summary/rows/" .. id, {["Refold-Min-Version"] = tostring(want), ["Refold-Wait"] = "5000"})
        end
        response = function(status, headers, body)
          local id = string.match(body or "", '"id":"([^"]+)"')
          local version = tonumber(headers["Refold-Version"] or headers["refold-version"] or string.match(body, '"current_version":(%d+)') or "")
          if id and version and (seen[id] or 0) < version then seen[id] = version end
        end
        \(report)
        """
    }

    static func parse(_ text: String) -> WrkResult {
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }) else { return WrkResult() }
        let parts = line.split(separator: " ")
        guard parts.count == 6 else { return WrkResult() }
        return WrkResult(requests: Int(parts[1]) ?? 0, seconds: (Double(parts[2]) ?? 0) / 1e6, p50: Double(parts[3]) ?? 0, p99: Double(parts[4]) ?? 0, non2xx: Int(parts[5]) ?? 0)
    }

    struct Floor { var rate: Double; var p50: Double; var p99: Double }

    /// Point reads through the read-model store (what the server does per request), from
    /// `threads` threads, each with its own connection.
    static func floor(app: String, ids: [String], threads: Int, seconds: Double) throws -> Floor {
        let results = Mutex<[(count: Int, latencies: [Double])]>([])
        let failure = Mutex<String?>(nil)
        let group = DispatchGroup()
        for index in 0..<threads {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    guard let store = try Stores.readOnlyModels(app) else { return }
                    var generator = SystemRandomNumberGenerator()
                    var latencies: [Double] = []
                    let end = Date().addingTimeInterval(seconds)
                    var count = 0
                    while Date() < end {
                        let id = ids[Int.random(in: 0..<ids.count, using: &generator)]
                        let start = DispatchTime.now().uptimeNanoseconds
                        _ = try store.liveRow(projection: "order_summary", aggregate: Array(id.utf8))
                        if count % 16 == index % 16 { latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                        count += 1
                    }
                    results.withLock { $0.append((count, latencies)) }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }.start()
        }
        group.wait()
        if let message = failure.withLock({ $0 }) { throw CLIError(.infrastructure, "the floor's point reads failed: \(message)") }
        let all = results.withLock { $0 }
        let latencies = all.flatMap(\.latencies)
        return Floor(rate: Double(all.reduce(0) { $0 + $1.count }) / seconds, p50: Statistics.percentile(latencies, 50), p99: Statistics.percentile(latencies, 99))
    }

    static func status(_ url: String) -> Int? {
        guard let text = try? curl(url) else { return nil }
        return Int(text.split(separator: " ").first ?? "")
    }

    static func behind(_ base: String) -> Int64? {
        guard let text = try? curl("\(base)/v1/projections/order_summary"), let range = text.range(of: "\"positions_behind\":") else { return nil }
        return Int64(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// One GET through a plain socket: "<status> <body>".
    static func curl(_ url: String) throws -> String {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else { throw CLIError(.badInput, "bad URL \(url)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError(.infrastructure, "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw CLIError(.infrastructure, "connect: \(errno)") }
        let request = "GET \(parsed.path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.map(String.init) ?? "0"
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return "\(status) \(body)"
    }

    static func waitFor(seconds: Double, _ what: String, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while !condition() {
            if SignalFlag.signal != nil { throw CLIError(.interrupted, "interrupted while waiting for \(what).") }
            guard Date() < end else { throw CLIError(.infrastructure, "gave up after \(Int(seconds)) s waiting for \(what).") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
