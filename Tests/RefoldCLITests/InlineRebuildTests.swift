import Foundation
import RefoldSQLite
import RefoldTestSupport
import Testing

/// `refold generate`, `rebuild --inline`, `verify` and `quarantine list` through the real binary.
@Suite struct InlineRebuildTests {
    func generate(_ arguments: [String] = ["--size", "30000", "--aggregates", "600", "--seed", "9", "--malformed", "15", "--gaps", "4", "--null-aggregates", "20"]) throws -> String {
        let path = try TemporaryDirectory.make().appendingPathComponent("events.db").path
        let result = try RefoldRun.run(["generate", path] + arguments)
        #expect(result.code == 0, "\(result.stderr)")
        return path
    }

    /// libpq and Connector/C are loaded on first use (a PostgreSQL or MySQL URL), not linked:
    /// with them and their twenty libraries, every refold process took ~8 ms longer to start.
    @Test func theBinaryDoesNotLinkTheServerDatabaseClients() throws {
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [try Executables.refold().path]
        let pipe = Pipe()
        ldd.standardOutput = pipe
        try ldd.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        #expect(ldd.terminationStatus == 0 && text.contains("libsqlite3"), "\(text)")
        #expect(!text.contains("libpq") && !text.contains("libmariadb"), "\(text)")
    }

    @Test func rebuildThenVerifyFindsNoDriftAndTamperingIsFound() throws {
        let events = try generate()
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--inline", "--json"])
        #expect(rebuild.code == 0, "\(rebuild.stderr)")
        let report = try RefoldRun.json(rebuild.stdout)
        for key in ["projection", "job", "events", "aggregates", "seconds", "events_per_second", "tasks", "retries", "dead_tasks",
                    "task_seconds_p50", "task_seconds_p95", "slowest_task", "head_position", "quarantined"] {
            #expect(report[key] != nil, "report lacks \(key)")
        }
        #expect(report["tasks"] as? Int == 1)
        #expect(report["events"] as? Int == 30000 - 20)
        #expect(report["head_position"] as? Int == 30000)
        let quarantined = try #require(report["quarantined"] as? [[String: Any]])
        #expect(quarantined.count >= 15)
        let aggregates = quarantined.compactMap { $0["aggregate"] as? String }
        #expect(aggregates == aggregates.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(Set(quarantined.compactMap { $0["code"] as? String }).isSubset(of: ["version_gap", "bad_payload", "before_placed", "duplicate_placed", "overflow"]))

        let verify = try RefoldRun.run(["verify", "order_summary", "--events", events, "--json"])
        #expect(verify.code == 0, "\(verify.stdout) \(verify.stderr)")
        let clean = try RefoldRun.json(verify.stdout)
        #expect(clean["ok"] as? Bool == true)
        #expect(clean["missing"] as? Int == 0 && clean["extra"] as? Int == 0 && clean["wrong"] as? Int == 0 && clean["lagging"] as? Int == 0)

        // Tamper: one row's data, one row's version, one row deleted, one extra row.
        let store = try SQLiteReadModelStore(path: events, create: false)
        try store.execute("UPDATE order_summary SET data = replace(data, '\"status\":', '\"status\":\"x\",\"was\":') WHERE rowid = (SELECT min(rowid) FROM order_summary)")
        try store.execute("UPDATE order_summary SET version = version - 1 WHERE rowid = (SELECT max(rowid) FROM order_summary)")
        try store.execute("DELETE FROM order_summary WHERE rowid = (SELECT min(rowid) + 5 FROM order_summary)")
        try store.execute("INSERT INTO order_summary VALUES ('zzz-not-an-order', '{}', 1, '2024-01-01 00:00:00')")
        let drift = try RefoldRun.run(["verify", "order_summary", "--events", events, "--json"])
        #expect(drift.code == 1)
        let found = try RefoldRun.json(drift.stdout)
        #expect(found["ok"] as? Bool == false)
        #expect(found["wrong"] as? Int == 1)
        #expect(found["lagging"] as? Int == 1)
        #expect(found["missing"] as? Int == 1)
        #expect(found["extra"] as? Int == 1)
        let text = try RefoldRun.run(["verify", "order_summary", "--events", events])
        #expect(text.code == 1)
        #expect(text.stdout.contains("1 missing, 1 extra, 1 wrong, 1 lagging"))

        let list = try RefoldRun.run(["quarantine", "list", "order_summary", "--events", events, "--json"])
        #expect(list.code == 0)
        #expect((try RefoldRun.json(list.stdout)["quarantined"] as? [Any])?.count == quarantined.count)
    }

    @Test func separateReadModelFileAndTheEventsFileIsLeftAlone() throws {
        let events = try generate(["--size", "5000", "--aggregates", "100", "--seed", "4"])
        let before = try Data(contentsOf: URL(fileURLWithPath: events))
        let models = URL(fileURLWithPath: events).deletingLastPathComponent().appendingPathComponent("models.db").path
        let timeline = URL(fileURLWithPath: events).deletingLastPathComponent().appendingPathComponent("inline.svg").path
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--read-models", models, "--inline", "--timeline", timeline])
        #expect(rebuild.code == 0, "\(rebuild.stderr)")
        #expect(try String(contentsOfFile: timeline, encoding: .utf8).components(separatedBy: "<rect").count - 1 == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: events)) == before)
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", events, "--read-models", models]).code == 0)
    }

    @Test(arguments: ["delete", "wal"])
    func theJournalModeIsLeftAsTheUserSetIt(_ mode: String) throws {
        let events = try generate(["--size", "5000", "--aggregates", "100", "--seed", "8"])
        try {
            // Its own scope: the statement and its connection are closed before refold runs.
            let statement = try SQLiteConnection(path: events, readOnly: false).prepare("PRAGMA journal_mode = \(mode)")
            #expect(try statement.step() && statement.text(0) == mode)
            statement.reset()
        }()
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--inline"]).code == 0)
        let parallel = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--workers", "2"])
        #expect(parallel.code == 0, "\(parallel.stdout)\n\(parallel.stderr)")
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", events]).code == 0)
        let check = try SQLiteConnection(path: events, readOnly: true).prepare("PRAGMA journal_mode")
        #expect(try check.step() && check.text(0) == mode)
    }

    @Test func strictModeFailsOnTheFirstDataErrorAndKeepsTheLiveTable() throws {
        let events = try generate(["--size", "5000", "--aggregates", "100", "--seed", "4", "--malformed", "3"])
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--inline"]).code == 0)
        let store = try SQLiteReadModelStore(path: events, create: false)
        let rowsBefore = try store.count("SELECT count(*) FROM order_summary")
        let checkpoint = try store.checkpoint(projection: "order_summary")
        let strict = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--inline", "--strict"])
        #expect(strict.code == 1)
        #expect(strict.stderr.contains("strict mode: aggregate"))
        #expect(strict.stderr.contains("the live table of order_summary is untouched"))
        #expect(try store.count("SELECT count(*) FROM order_summary") == rowsBefore)
        #expect(try store.checkpoint(projection: "order_summary")?.job == checkpoint?.job)
        #expect(try !store.hasShadow(projection: "order_summary"))
    }

    @Test func interruptedRebuildLeavesTheLiveTableUntouched() throws {
        let events = try generate(["--size", "300000", "--aggregates", "3000", "--seed", "12"])
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--inline"]).code == 0)
        let store = try SQLiteReadModelStore(path: events, create: false)
        let fingerprint = "SELECT count(*) + sum(version) + sum(length(data)) FROM order_summary"
        let before = try store.count(fingerprint)
        let job = try store.checkpoint(projection: "order_summary")?.job

        // Both read orders: the table-order fold writes its rows once, at the end (so it is
        // stopped while its shadow table is still empty); the index walk writes between chunks.
        // SIGKILL last: it leaves its shadow table and lock behind.
        for (signal, order) in [(SIGINT, "table"), (SIGINT, "index"), (SIGKILL, "table")] {
            let running = try RefoldRun.start(["rebuild", "order_summary", "--events", events, "--inline"], environment: ["REFOLD_READ_ORDER": order])
            // Half-way: the shadow table exists (index walk: and has rows).
            try Deadline.wait(seconds: 60, "the rebuild to make its shadow table") {
                guard (try? store.hasShadow(projection: "order_summary")) == true else { return false }
                return order == "table" || (try? store.count("SELECT count(*) FROM order_summary__refold_shadow")) ?? 0 > 0
            }
            running.child.signal(signal)
            let result = try running.finish(timeout: 60)
            #expect(result.code != 0)
            #expect(try store.count(fingerprint) == before)
            #expect(try store.checkpoint(projection: "order_summary")?.job == job)
            if signal == SIGINT {
                #expect(result.code == 130)
                #expect(result.stderr.contains("interrupted"))
                #expect(try !store.hasShadow(projection: "order_summary"))
            }
        }
        // A killed run leaves its lock and shadow behind. Its process is gone, so the next run
        // on this host takes over at once instead of waiting for the lock to expire.
        #expect(try store.lockHolder(projection: "order_summary") != nil)
        let next = try RefoldRun.run(["rebuild", "order_summary", "--events", events, "--inline"])
        #expect(next.code == 0, "\(next.stderr)")
        #expect(try RefoldRun.run(["verify", "order_summary", "--events", events]).code == 0)
    }

    struct BadInput: Sendable, CustomStringConvertible {
        let name: String
        let arguments: @Sendable (String, String) -> [String]
        let message: String
        var description: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "missing events file", arguments: { _, dir in ["rebuild", "order_summary", "--events", dir + "/missing.db", "--inline"] }, message: "does not exist"),
        BadInput(name: "missing table", arguments: { events, _ in ["rebuild", "order_summary", "--events", events, "--inline", "--events-table", "events"] }, message: "table \"events\" not found in"),
        BadInput(name: "not an event table", arguments: { _, dir in ["rebuild", "order_summary", "--events", dir + "/other.db", "--inline"] }, message: "is not an event table"),
        BadInput(name: "missing column", arguments: { events, _ in ["rebuild", "order_summary", "--events", events, "--inline", "--payload-column", "payload"] }, message: "column \"payload\" missing"),
        BadInput(name: "unknown projection", arguments: { events, _ in ["rebuild", "no_such_model", "--events", events, "--inline"] }, message: "unknown projection \"no_such_model\""),
        BadInput(name: "verify unknown projection", arguments: { events, _ in ["verify", "nope", "--events", events] }, message: "unknown projection"),
        BadInput(name: "usage error", arguments: { events, _ in ["rebuild", "order_summary", "--events", events, "--bogus"] }, message: "Unknown option"),
        BadInput(name: "bad duration", arguments: { events, _ in ["rebuild", "order_summary", "--events", events, "--lease", "5 minutes"] }, message: "lease"),
        BadInput(name: "workers 0 without redis", arguments: { events, _ in ["rebuild", "order_summary", "--events", events, "--workers", "0"] }, message: "needs a shared Redis"),
        BadInput(name: "not a database", arguments: { _, dir in ["rebuild", "order_summary", "--events", dir + "/text.db", "--inline"] }, message: "text.db"),
        // Checked before the rebuild: a swapped-in model must not be reported as an error.
        BadInput(name: "timeline in a missing folder", arguments: { events, dir in ["rebuild", "order_summary", "--events", events, "--workers", "2", "--timeline", dir + "/no/such/t.svg"] }, message: "does not exist or is not writable"),
    ]

    @Test(arguments: badInputs)
    func badInputExitsTwoWithOneClearLineAndWritesNothing(_ bad: BadInput) throws {
        let directory = try TemporaryDirectory.make()
        let events = directory.appendingPathComponent("events.db").path
        #expect(try RefoldRun.run(["generate", events, "--size", "100", "--aggregates", "5"]).code == 0)
        try SQLiteConnection(path: directory.path + "/other.db", readOnly: false, create: true).execute("CREATE TABLE stored_events (id INTEGER PRIMARY KEY, name TEXT)")
        try Data("this is not sqlite".utf8).write(to: directory.appendingPathComponent("text.db"))
        let models = directory.appendingPathComponent("models.db").path
        let before = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let eventsBytes = try Data(contentsOf: URL(fileURLWithPath: events))
        let result = try RefoldRun.run(bad.arguments(events, directory.path) + ["--read-models", models])
        #expect(result.code == 2, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains(bad.message), "stderr: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one clear line, got: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == before, "a file was created")
        #expect(try Data(contentsOf: URL(fileURLWithPath: events)) == eventsBytes)
    }

    @Test func generateIsDeterministicAndNeverOverwrites() throws {
        let directory = try TemporaryDirectory.make()
        let a = directory.appendingPathComponent("a.db").path
        let b = directory.appendingPathComponent("b.db").path
        for path in [a, b] {
            #expect(try RefoldRun.run(["generate", path, "--size", "2000", "--aggregates", "40", "--seed", "77", "--skew", "1"]).code == 0)
        }
        let dump = "SELECT group_concat(coalesce(aggregate_uuid,'-') || aggregate_version || event_class || event_properties, '|') FROM (SELECT * FROM stored_events ORDER BY id)"
        let first = try SQLiteConnection(path: a, readOnly: true).prepare(dump)
        let second = try SQLiteConnection(path: b, readOnly: true).prepare(dump)
        #expect(try first.step() && second.step())
        #expect(first.text(0) == second.text(0))
        let again = try RefoldRun.run(["generate", a, "--size", "10", "--aggregates", "5"])
        #expect(again.code == 2)
        #expect(again.stderr.contains("never overwrites"))
    }
}
