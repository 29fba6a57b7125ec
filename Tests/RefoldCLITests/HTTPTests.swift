import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RefoldProcess
import RefoldSQLite
import RefoldTestSupport
import Synchronization
import Testing

/// `refold serve` end to end: a real server process, a private Redis, real HTTP.
@Suite(.serialized) struct HTTPTests {
    struct Reply: @unchecked Sendable {
        let status: Int
        let headers: [String: String]
        let body: [String: Any]
        let text: String
    }

    /// One HTTP request, synchronously (URLSession on its own queue).
    static func request(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil, timeout: Double = 40) throws -> Reply {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<(Data, HTTPURLResponse), any Error>?>(nil)
        URLSession.shared.dataTask(with: request) { data, response, error in
            outcome.withLock {
                if let data, let response = response as? HTTPURLResponse { $0 = .success((data, response)) } else {
                    $0 = .failure(error ?? TestSupportError("no response"))
                }
            }
            done.signal()
        }.resume()
        done.wait()
        let (data, response) = try outcome.withLock { $0! }.get()
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        let text = String(decoding: data, as: UTF8.self)
        let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return Reply(status: response.statusCode, headers: headers, body: body, text: text)
    }

    struct Served {
        let base: String
        let app: String
        let redis: RedisTestServer?
        let process: RefoldRun.Running
    }

    /// A built model in a fresh file, and `refold serve` on it (with the live service).
    func serve(redisPort: Int? = nil, startRedis: Bool = true, live: Bool = true) throws -> Served {
        let app = try GeneratedEvents.copy(["--size", "20000", "--aggregates", "400", "--seed", "5", "--malformed", "5"], name: "app.db")
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", app, "--inline"])
        guard rebuild.code == 0 else { throw TestSupportError("rebuild failed: \(rebuild.stderr)") }
        let redis = startRedis ? try RedisTestServer(port: redisPort) : nil
        let port = try FreePort.find()
        let url = redis?.url ?? "redis://127.0.0.1:\(redisPort ?? 1)"
        let process = try RefoldRun.start(["serve", "--events", app, "--redis", url, "--port", String(port)] + (live ? [] : ["--no-live"]))
        let base = "http://127.0.0.1:\(port)"
        try Deadline.wait(seconds: 30, "the server to listen") { FreePort.isListening(port: port) }
        return Served(base: base, app: app, redis: redis, process: process)
    }

    func someRow(_ served: Served) throws -> (id: String, version: Int) {
        let list = try Self.request("GET", served.base + "/v1/projections/order_summary/quarantine")
        let quarantined = Set((list.body["quarantined"] as? [[String: Any]] ?? []).compactMap { $0["aggregate"] as? String })
        // The first row that is not quarantined, read straight from the file.
        let rows = try Self.sqlite(served.app, "SELECT id || '|' || version FROM order_summary ORDER BY id LIMIT 50")
        for line in rows {
            let parts = line.split(separator: "|")
            if parts.count == 2, !quarantined.contains(String(parts[0])) { return (String(parts[0]), Int(parts[1]) ?? 0) }
        }
        throw TestSupportError("no clean row")
    }

    /// One text column of a query, read-only.
    static func sqlite(_ path: String, _ sql: String) throws -> [String] {
        let statement = try SQLiteConnection(path: path, readOnly: true).prepare(sql)
        var out: [String] = []
        while try statement.step() { out.append(statement.text(0)) }
        return out
    }

    @Test func everyEndpointAnswersItsHappyPathAndItsBadInput() throws {
        let served = try serve()
        defer { served.process.child.signal(SIGTERM); _ = try? served.process.finish(timeout: 30) }
        let base = served.base
        #expect(try Self.request("GET", base + "/health").status == 200)

        let (id, version) = try someRow(served)
        let row = try Self.request("GET", base + "/v1/projections/order_summary/rows/\(id)")
        #expect(row.status == 200 && row.headers["refold-version"] == String(version) && row.body["version"] as? Int == version)
        #expect(row.body["data"] is [String: Any] && row.body["updated_at"] is String)
        #expect(try Self.request("GET", base + "/v1/projections/order_summary/rows/no-such-row").status == 404)

        let status = try Self.request("GET", base + "/v1/projections/order_summary")
        #expect(status.status == 200)
        for key in ["checkpoint_position", "head_position", "positions_behind", "seconds_behind", "quarantined", "leader"] {
            #expect(status.body.keys.contains(key), "missing \(key)")
        }
        let quarantine = try Self.request("GET", base + "/v1/projections/order_summary/quarantine")
        #expect(quarantine.status == 200 && !((quarantine.body["quarantined"] as? [Any]) ?? []).isEmpty)

        // Appends: 201, then 409 with the current version for a stale expected_version.
        let event = #"{"type":"App\\Events\\ItemAdded","data":{"sku":"HTTP","qty":1,"price_cents":5},"expected_version":\#(version)}"#
        let appended = try Self.request("POST", base + "/v1/aggregates/\(id)/events", body: event)
        #expect(appended.status == 201 && appended.body["version"] as? Int == version + 1, "\(appended.text)")
        let stale = try Self.request("POST", base + "/v1/aggregates/\(id)/events", body: event)
        #expect(stale.status == 409 && stale.body["current_version"] as? Int == version + 1, "\(stale.text)")

        // Replays: 202 with the job and its Location; the job can be read.
        let replay = try Self.request("POST", base + "/v1/replays", body: #"{"projection":"order_summary","kind":"catchup"}"#)
        #expect(replay.status == 202 && replay.headers["location"] == "/v1/jobs/\(replay.body["job"] as? String ?? "")", "\(replay.text)")
        let job = try Self.request("GET", base + (replay.headers["location"] ?? "/"))
        #expect(job.status == 200 && job.body["projection"] as? String == "order_summary", "\(job.text)")

        let listed = try Self.request("GET", base + "/v1/projections")
        #expect(listed.status == 200 && listed.body["projections"] as? [String] == ["order_summary"], "\(listed.text)")
        let jobs = try Self.request("GET", base + "/v1/jobs?recent=5")
        #expect(jobs.status == 200 && jobs.body["running"] is [Any] && jobs.body["recent"] is [Any], "\(jobs.text)")

        let metrics = try Self.request("GET", base + "/metrics")
        #expect(metrics.status == 200 && metrics.text.contains("refold_live_rows_total"))
        let page = try Self.request("GET", base + "/")
        #expect(page.status == 200 && page.text.contains("<h1>Refold</h1>") && !page.text.contains("http://") && !page.text.contains("https://"))

        // Bad input: 4xx problem+json, never a 500, nothing changed.
        let bad: [(String, String, [String: String], String?, Int)] = [
            ("GET", "/v1/projections/nope", [:], nil, 404),
            ("GET", "/v1/projections/nope/rows/x", [:], nil, 404),
            ("GET", "/v1/projections/order_summary/rows/\(id)", ["Refold-Min-Version": "abc"], nil, 400),
            ("GET", "/v1/projections/order_summary/rows/\(id)?min_version=-1", [:], nil, 400),
            ("GET", "/v1/projections/order_summary/rows/\(id)", ["Refold-Min-Version": "1", "Refold-Wait": "30001"], nil, 400),
            ("POST", "/v1/aggregates/\(id)/events", [:], "not json", 400),
            ("POST", "/v1/aggregates/\(id)/events", [:], #"{"data":{}}"#, 400),
            ("POST", "/v1/aggregates/\(id)/events", [:], #"{"type":"X","data":[1]}"#, 400),
            ("POST", "/v1/aggregates/\(id)/events", [:], #"{"type":"X","data":{},"expected_version":"3"}"#, 400),
            ("POST", "/v1/aggregates/\(id)/events", [:], "{\"type\":\"X\",\"data\":{\"pad\":\"" + String(repeating: "x", count: 70_000) + "\"}}", 413),
            ("POST", "/v1/replays", [:], #"{"projection":"nope","kind":"catchup"}"#, 422),
            ("POST", "/v1/replays", [:], #"{"projection":"order_summary","kind":"everything"}"#, 422),
            ("POST", "/v1/replays", [:], #"{"projection":"order_summary","kind":"rebuild","aggregates":"a"}"#, 422),
            ("POST", "/v1/replays", [:], #"{"projection":"order_summary","kind":"catchup","aggregates":["a"]}"#, 422),
            ("POST", "/v1/replays", [:], #"{"projection":"order_summary","kind":"rebuild","aggregates":[]}"#, 422),
            ("GET", "/v1/jobs/no-such-job", [:], nil, 404),
            ("GET", "/v1/jobs?recent=101", [:], nil, 400),
            ("GET", "/v1/jobs?recent=x", [:], nil, 400),
            ("DELETE", "/v1/jobs/no-such-job", [:], nil, 404),
            ("GET", "/v1/nothing-here", [:], nil, 404),
        ]
        for (method, path, headers, body, expected) in bad {
            let reply = try Self.request(method, base + path, headers: headers, body: body)
            #expect(reply.status == expected, "\(method) \(path): \(reply.status) \(reply.text.prefix(200))")
            #expect(reply.headers["content-type"] == "application/problem+json" && !(reply.body["detail"] as? String ?? "").isEmpty, "\(method) \(path): \(reply.text.prefix(200))")
        }
        #expect(try Self.sqlite(served.app, "SELECT max(aggregate_version) FROM stored_events WHERE aggregate_uuid = '\(id)'") == [String(version + 1)], "bad input changed nothing")
        // The request metrics count those answers by the status they got, not as 500s.
        let counted = try Self.request("GET", base + "/metrics").text
        #expect(!counted.contains("http_response_status_code=\"500\""), "\(counted.split(separator: "\n").filter { $0.contains("500") }.prefix(5))")
        #expect(counted.contains("http_response_status_code=\"422\""))
    }

    @Test func aWaitingReadIsAnsweredWhenTheRowAdvancesAndATimeOutIsNeverA200Below() throws {
        let served = try serve()
        defer { served.process.child.signal(SIGTERM); _ = try? served.process.finish(timeout: 30) }
        let (id, version) = try someRow(served)
        let url = served.base + "/v1/projections/order_summary/rows/\(id)"

        // Asked for a version nobody writes: 409 after the wait, with the current version.
        let timedOut = try Self.request("GET", url, headers: ["Refold-Min-Version": String(version + 5), "Refold-Wait": "200"])
        #expect(timedOut.status == 409 && timedOut.body["current_version"] as? Int == version && timedOut.body["min_version"] as? Int == version + 5)
        #expect(timedOut.headers["retry-after"] != nil)

        // A read waiting for the next version is answered once the append is applied.
        let answered = Mutex<Reply?>(nil)
        let reader = Thread {
            let reply = try? Self.request("GET", url, headers: ["Refold-Min-Version": String(version + 1), "Refold-Wait": "20000"])
            answered.withLock { $0 = reply }
        }
        reader.start()
        // The read is waiting once the server counts it (then the append below must wake it).
        try Deadline.wait(seconds: 20, "the read to wait on the server") {
            try Self.request("GET", served.base + "/metrics").text.contains("refold_http_waiting_reads 1")
        }
        let appended = try Self.request("POST", served.base + "/v1/aggregates/\(id)/events",
                                        body: #"{"type":"App\\Events\\ItemAdded","data":{"sku":"W","qty":1,"price_cents":5}}"#)
        #expect(appended.status == 201)
        try Deadline.wait(seconds: 25, "the waiting read to be answered") { answered.withLock { $0 != nil } }
        let reply = try #require(answered.withLock { $0 })
        #expect(reply.status == 200 && reply.body["version"] as? Int == version + 1, "\(reply.text)")
    }

    @Test func theServerStartsWithoutRedisReportsUnhealthyRecoversAndDrainsOnSIGTERM() throws {
        let port = try FreePort.find()
        let served = try serve(redisPort: port, startRedis: false)
        let health = try Self.request("GET", served.base + "/health")
        #expect(health.status == 503 && health.text.contains("redis"), "\(health.text)")
        let redis = try RedisTestServer(port: port)
        _ = redis
        try Deadline.wait(seconds: 30, "health to recover") { try Self.request("GET", served.base + "/health").status == 200 }

        // SIGTERM while a read waits for a version nobody writes: the read is answered (its
        // current version, 409 "the server is stopping") instead of holding the stop for 30 s.
        let (id, version) = try someRow(served)
        let answered = Mutex<Reply?>(nil)
        let reader = Thread {
            let reply = try? Self.request("GET", served.base + "/v1/projections/order_summary/rows/\(id)",
                                          headers: ["Refold-Min-Version": String(version + 10), "Refold-Wait": "30000"], timeout: 120)
            answered.withLock { $0 = reply }
        }
        reader.start()
        try Deadline.wait(seconds: 20, "the read to wait on the server") {
            try Self.request("GET", served.base + "/metrics").text.contains("refold_http_waiting_reads 1")
        }
        served.process.child.signal(SIGTERM)
        let result = try served.process.finish(timeout: 60)
        #expect(result.code == 0, "\(result.stderr)")
        try Deadline.wait(seconds: 30, "the waiting read to be answered") { answered.withLock { $0 != nil } }
        let reply = try #require(answered.withLock { $0 })
        #expect(reply.status == 409 && reply.body["current_version"] as? Int == version && (reply.body["detail"] as? String ?? "").contains("stopping"), "\(reply.text)")
        #expect(reply.headers["retry-after"] != nil)
    }

    @Test func theServerMatchesItsOpenAPIDocumentAndNoGeneratedInputGetsA5xx() throws {
        let schemathesis: URL
        do { schemathesis = try Executables.find("schemathesis") } catch {
            Issue.record("schemathesis is not installed (./refold.sh test installs it with pip)")
            return
        }
        let served = try serve()
        defer { served.process.child.signal(SIGTERM); _ = try? served.process.finish(timeout: 30) }
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml").standardized.path
        let scratch = try TemporaryDirectory.make()
        let output = scratch.appendingPathComponent("schemathesis.txt").path
        // schemathesis keeps a cache (.schemathesis/) where it runs: a temporary folder, not the checkout.
        let run = try ChildProcess(
            executable: schemathesis.path,
            arguments: ["run", document, "--url", served.base, "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
                        "--max-examples", "15", "--seed", "1"],
            environment: ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""]) { _, new in new },
            standardOutput: .file(output), standardError: .file(output + ".err"), workingDirectory: scratch.path)
        let status = run.wait(timeout: 600)
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(status?.code == 0, "schemathesis found problems:\n\(text.suffix(3000))")
        #expect(text.contains("passed"))
    }

    @Test func readYourWritesUnderLoadNeverReturnsAVersionBelowTheOneAskedFor() throws {
        let served = try serve()
        defer { served.process.child.signal(SIGTERM); _ = try? served.process.finish(timeout: 30) }
        let ids = try Self.sqlite(served.app, "SELECT id FROM order_summary WHERE id NOT IN (SELECT aggregate FROM refold_quarantine) ORDER BY id LIMIT 8")
        struct Tally { var reads = 0; var below = 0; var timedOut = 0; var failed: [String] = [] }
        let tally = Mutex(Tally())
        let seconds = Double(ProcessInfo.processInfo.environment["REFOLD_RYW_SECONDS"] ?? "") ?? 30
        let end = Date().addingTimeInterval(seconds)
        let clients = ids.map { id in
            Thread {
                while Date() < end {
                    guard let appended = try? Self.request("POST", served.base + "/v1/aggregates/\(id)/events",
                                                            body: #"{"type":"App\\Events\\ItemAdded","data":{"sku":"L","qty":1,"price_cents":1}}"#),
                          appended.status == 201, let version = appended.body["version"] as? Int else {
                        tally.withLock { $0.failed.append("append \(id)") }
                        continue
                    }
                    let read = try? Self.request("GET", served.base + "/v1/projections/order_summary/rows/\(id)",
                                                 headers: ["Refold-Min-Version": String(version), "Refold-Wait": "5000"])
                    tally.withLock { t in
                        t.reads += 1
                        guard let read else { t.failed.append("read \(id)"); return }
                        if read.status == 200, (read.body["version"] as? Int ?? -1) < version { t.below += 1 }
                        if read.status == 409 { t.timedOut += 1 }
                        if read.status != 200 && read.status != 409 { t.failed.append("read \(id): \(read.status)") }
                    }
                }
            }
        }
        clients.forEach { $0.start() }
        try Deadline.wait(seconds: seconds + 60, "the clients to finish") { Date() > end.addingTimeInterval(6) }
        let result = tally.withLock { $0 }
        #expect(result.reads > 100, "too few reads to mean anything: \(result.reads)")
        #expect(result.below == 0, "a 200 carried a version below the one asked for (\(result.below) times)")
        #expect(result.failed.isEmpty, "\(result.failed.prefix(5))")
        // The figure for the note: how many waits timed out.
        print("read-your-writes: \(result.reads) reads, \(result.timedOut) timed out, 0 below the version asked for")
    }

    /// Where tests keep what a person may want to look at afterwards (the operators' page
    /// screenshot): `REFOLD_TEST_ARTIFACTS`, or `.build/test-artifacts` in the package.
    static func artifactsDirectory() throws -> URL {
        let path = ProcessInfo.processInfo.environment["REFOLD_TEST_ARTIFACTS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/test-artifacts").standardized.path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return URL(fileURLWithPath: path)
    }

    /// The page as headless Chromium rendered it after its scripts ran for a few (virtual) seconds.
    static func renderedPage(_ chromium: URL, _ url: String, profile: String, screenshot: String? = nil) throws -> String {
        let out = try TemporaryDirectory.make(prefix: "refold-chromium").appendingPathComponent("dom.html").path
        var arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--user-data-dir=\(profile)",
                         "--virtual-time-budget=3000", "--window-size=1280,1100"]
        arguments += screenshot.map { ["--screenshot=\($0)"] } ?? ["--dump-dom"]
        let run = try ChildProcess(executable: chromium.path, arguments: arguments + [url],
                                   standardOutput: .file(out), standardError: .file(out + ".err"))
        let status = run.wait(timeout: 120)
        #expect(status?.code == 0, "chromium failed: \((try? String(contentsOfFile: out + ".err", encoding: .utf8))?.suffix(1500) ?? "")")
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    /// The opening tags of `<tr class="…">` rows in a rendered page, as attribute dictionaries.
    static func rows(_ html: String, class name: String) -> [[String: String]] {
        var found: [[String: String]] = []
        var rest = html[...]
        while let start = rest.range(of: "<tr class=\"\(name)\"") {
            let tag = rest[start.lowerBound...].prefix { $0 != ">" }
            var attributes: [String: String] = [:]
            for match in String(tag).matches(of: /([a-z-]+)="([^"]*)"/) { attributes[String(match.1)] = String(match.2) }
            found.append(attributes)
            rest = rest[start.upperBound...]
        }
        return found
    }

    @Test func theOperatorsPageShowsARebuildAdvancingAndTheQuarantinesInARealBrowser() throws {
        let chromium: URL
        do { chromium = try Executables.find("chromium") } catch {
            Issue.record("chromium is not installed (./refold.sh test installs it with apt)")
            return
        }
        // No live service: it would hold the projection, and a rebuild is what the page shows.
        let served = try serve(live: false)
        defer { served.process.child.signal(SIGTERM); _ = try? served.process.finish(timeout: 30) }
        let redis = try #require(served.redis).url
        let profile = try TemporaryDirectory.make(prefix: "refold-chromium-profile").path
        // A rebuild with no local worker: the test's workers each complete two tasks, so the
        // progress the page shows moves only when the test says.
        let rebuild = try RefoldRun.start(["rebuild", "order_summary", "--events", served.app, "--redis", redis, "--workers", "0", "--tasks", "8"])
        var job = ""
        try Deadline.wait(seconds: 60, "the rebuild's job to run") {
            let running = try Self.request("GET", served.base + "/v1/jobs").body["running"] as? [[String: Any]] ?? []
            job = running.first?["id"] as? String ?? ""
            return !job.isEmpty
        }
        func twoTasks() throws {
            let worker = try RefoldRun.run(["worker", "--redis", redis, "--job", job, "--max-tasks", "2"], timeout: 120)
            #expect(worker.code == 0, "\(worker.stderr.suffix(1000))")
        }
        try twoTasks()
        let first = try Self.renderedPage(chromium, served.base + "/", profile: profile)
        let firstJob = try #require(Self.rows(first, class: "job").first { $0["data-job"] == job }, "the running job is not on the page:\n\(first.prefix(3000))")
        let doneBefore = Int(firstJob["data-events-done"] ?? "") ?? -1
        let total = Int(firstJob["data-events-total"] ?? "") ?? -1
        #expect(doneBefore > 0 && doneBefore < total, "\(firstJob)")

        // The quarantined aggregates are listed, each with its replay button.
        let quarantined = Set((try Self.request("GET", served.base + "/v1/projections/order_summary/quarantine").body["quarantined"] as? [[String: Any]] ?? [])
            .compactMap { $0["aggregate"] as? String })
        #expect(!quarantined.isEmpty)
        #expect(Set(Self.rows(first, class: "quarantined").compactMap { $0["data-aggregate"] }) == quarantined)
        #expect(first.components(separatedBy: ">replay this aggregate</button>").count - 1 == quarantined.count)

        try twoTasks()
        let screenshot = try Self.artifactsDirectory().appendingPathComponent("operators-page.png").path
        try? FileManager.default.removeItem(atPath: screenshot)
        _ = try Self.renderedPage(chromium, served.base + "/", profile: profile, screenshot: screenshot)
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int) ?? 0
        #expect(size > 10_000, "no screenshot at \(screenshot)")
        let second = try Self.renderedPage(chromium, served.base + "/", profile: profile)
        let secondJob = try #require(Self.rows(second, class: "job").first { $0["data-job"] == job })
        let doneAfter = Int(secondJob["data-events-done"] ?? "") ?? -1
        #expect(doneAfter > doneBefore && doneAfter < total, "progress did not advance on the page: \(doneBefore) then \(doneAfter) of \(total)")

        // A worker finishes the job; the page then lists the report.
        let finisher = try RefoldRun.run(["worker", "--redis", redis, "--job", job], timeout: 300)
        #expect(finisher.code == 0, "\(finisher.stderr.suffix(1000))")
        let result = try rebuild.finish(timeout: 300)
        #expect(result.code == 0, "\(result.stderr.suffix(1000))")
        let third = try Self.renderedPage(chromium, served.base + "/", profile: profile)
        #expect(Self.rows(third, class: "job").isEmpty)
        #expect(Self.rows(third, class: "report").contains { $0["data-job"] == job }, "the finished job's report is not listed")
        #expect(third.contains("swapped: 20000 events"))
        print("operators' page screenshot: \(screenshot)")
    }
}
