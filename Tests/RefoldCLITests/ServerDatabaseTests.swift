import Foundation
import RefoldCoordination
import RefoldMySQL
import RefoldPostgres
import RefoldProcess
import RefoldRedis
import RefoldRunner
import RefoldStore
import RefoldTestSupport
import Synchronization
import Testing

/// The same commands on PostgreSQL and MariaDB (the harness's private servers, a database per
/// test): the rows and quarantine lists must equal SQLite's for the same generated dataset;
/// crashes, catch-up, the live service with position holes, appends, and bad input.
@Suite(.serialized, .enabled(if: TestServer.anyAvailable, "needs the harness's PostgreSQL and MariaDB (./refold.sh test)"))
struct ServerDatabaseTests {
    static let generateArguments = ["--size", "60000", "--aggregates", "1200", "--seed", "23", "--malformed", "12", "--gaps", "3", "--null-aggregates", "5"]

    /// A new database with the generated dataset in the Laravel layout.
    func generated(_ server: TestServer, _ label: String = #function) throws -> TestServerDatabase {
        let database = try TestServerDatabase(server, label)
        let result = try RefoldRun.run(["generate", database.url] + Self.generateArguments)
        guard result.code == 0 else { throw TestSupportError("generate into \(server) failed: \(result.stderr)") }
        return database
    }

    /// The same dataset in a SQLite file, rebuilt inline (generated once).
    func sqliteReference() throws -> String {
        try GeneratedEvents.rebuilt(Self.generateArguments)
    }

    /// The live table and the quarantine list as canonical text (`ModelDump`).
    func dump(_ location: String) throws -> String { try ModelDump.canonical(location) }

    func verifyClean(_ events: String, _ models: String? = nil) throws {
        let verify = try RefoldRun.run(["verify", "order_summary", "--events", events] + (models.map { ["--read-models", $0] } ?? []) + ["--json"])
        #expect(verify.code == 0, "verify: \(verify.stdout) \(verify.stderr)")
        #expect(try RefoldRun.json(verify.stdout)["ok"] as? Bool == true)
    }

    // MARK: The same rows on every database

    @Test(arguments: TestServer.availableCases)
    func rebuildsEqualSQLiteInlineWithWorkersAndAcrossDatabases(_ server: TestServer) throws {
        let reference = try dump(try sqliteReference())
        #expect(reference.contains("Q|"), "the dataset has quarantines to compare")
        let database = try generated(server)

        let inline = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline", "--json"])
        #expect(inline.code == 0, "\(inline.stderr)")
        #expect(try dump(database.url) == reference, "\(server) inline rebuild differs from SQLite")

        let parallel = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--workers", "2", "--tasks", "6", "--json"])
        #expect(parallel.code == 0, "\(parallel.stderr)")
        let report = try RefoldRun.json(parallel.stdout)
        #expect(report["swapped"] as? Bool == true)
        #expect(report["events"] as? Int == 60_000 - 5)
        #expect(try dump(database.url) == reference, "\(server) parallel rebuild differs from SQLite")
        try verifyClean(database.url)

        // Events in the server database, read models in SQLite; and the other way round.
        let models = try TemporaryDirectory.make().appendingPathComponent("models.db").path
        let mixed = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--read-models", models, "--workers", "2"])
        #expect(mixed.code == 0, "\(mixed.stderr)")
        #expect(try dump(models) == reference)
        let other = try TestServerDatabase(server)
        let reverse = try RefoldRun.run(["rebuild", "order_summary", "--events", try sqliteReference(), "--read-models", other.url, "--inline"])
        #expect(reverse.code == 0, "\(reverse.stderr)")
        #expect(try dump(other.url) == reference)

        // The operators' commands read the server database.
        let list = try RefoldRun.run(["quarantine", "list", "order_summary", "--read-models", database.url, "--json"])
        #expect(list.code == 0, "\(list.stderr)")
        #expect((try RefoldRun.json(list.stdout)["quarantined"] as? [Any])?.count == reference.components(separatedBy: "\nQ|").count - 1)
        let status = try RefoldRun.run(["status", "--read-models", database.url])
        #expect(status.code == 0 && status.stdout.contains("order_summary: built by job"), "\(status.stdout) \(status.stderr)")
    }

    @Test func aRebuildAcrossPostgresAndMariaDBGivesTheSameRows() throws {
        guard TestServer.postgres.available, TestServer.mysql.available else { return }
        let events = try generated(.mysql)
        let models = try TestServerDatabase(.postgres)
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", events.url, "--read-models", models.url, "--workers", "2"])
        #expect(rebuild.code == 0, "\(rebuild.stderr)")
        #expect(try dump(models.url) == dump(try sqliteReference()))
    }

    @Test(.enabled(if: TestServer.mysql.available))
    func mariaDBIdsThatDifferInCaseStillRebuildInParallel() throws {
        let database = try TestServerDatabase(.mysql)
        #expect(try RefoldRun.run(["generate", database.url, "--size", "20000", "--aggregates", "400", "--seed", "9"]).code == 0)
        // Half the orders get upper-case ids: a case-insensitive column sorts them among the
        // lower-case ones, bytes do not.
        try database.connect().execute("UPDATE stored_events SET aggregate_uuid = UPPER(aggregate_uuid) WHERE aggregate_uuid < '8'")
        let parallel = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--workers", "2", "--tasks", "5"])
        #expect(parallel.code == 0, "\(parallel.stdout) \(parallel.stderr)")
        try verifyClean(database.url)
        let models = try TemporaryDirectory.make().appendingPathComponent("inline.db").path
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--read-models", models, "--inline"]).code == 0)
        #expect(try dump(database.url) == dump(models))
    }

    @Test(arguments: TestServer.availableCases)
    func theLaravelTableIsWhatGenerateWrites(_ server: TestServer) throws {
        let database = try TestServerDatabase(server)
        let result = try RefoldRun.run(["generate", database.url, "--size", "100", "--aggregates", "10"])
        #expect(result.code == 0, "\(result.stderr)")
        let connection = try database.connect()
        let schema = server == .postgres ? "current_schema()" : "DATABASE()"
        let types = try connection.query("""
            SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = \(schema) AND table_name = 'stored_events' ORDER BY ordinal_position
            """, []).map { "\($0[0] ?? ""):\($0[1] ?? "")" }
        switch server {
        case .postgres:
            #expect(types == ["id:bigint", "aggregate_uuid:uuid", "aggregate_version:bigint", "event_version:smallint", "event_class:character varying",
                              "event_properties:json", "meta_data:json", "created_at:timestamp without time zone"])
        case .mysql:
            // MariaDB stores json as a checked longtext.
            #expect(types == ["id:bigint", "aggregate_uuid:char", "aggregate_version:bigint", "event_version:tinyint", "event_class:varchar",
                              "event_properties:longtext", "meta_data:longtext", "created_at:timestamp"])
        }
        let indexes = try connection.query(server == .postgres
            ? "SELECT indexname FROM pg_indexes WHERE tablename = 'stored_events' ORDER BY 1"
            : "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'stored_events' ORDER BY 1", []).compactMap { $0[0] }
        #expect(indexes == ["stored_events_aggregate_uuid_aggregate_version_unique", "stored_events_aggregate_uuid_index", "stored_events_event_class_index",
                            server == .postgres ? "stored_events_pkey" : "PRIMARY"].sorted())
        // A second generate never overwrites.
        let again = try RefoldRun.run(["generate", database.url, "--size", "100", "--aggregates", "10"])
        #expect(again.code == 2 && again.stderr.contains("never overwrites"), "\(again.stderr)")
        // Another payload column type is read as well (jsonb; a plain longtext).
        try connection.execute(server == .postgres
            ? "ALTER TABLE stored_events ALTER COLUMN event_properties TYPE jsonb"
            : "ALTER TABLE stored_events MODIFY event_properties longtext NOT NULL")
        let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"])
        #expect(rebuild.code == 0, "\(rebuild.stderr)")
        try verifyClean(database.url)
    }

    @Test(arguments: TestServer.availableCases)
    func benchOnAServerDatabaseComparesWithItsOwnScanAndTheSeedReplayAndCleansUp(_ server: TestServer) throws {
        let database = try generated(server)
        let timeline = try TemporaryDirectory.make().appendingPathComponent("timeline.svg").path
        let bench = try RefoldRun.run(["bench", "--events", database.url, "--repeat", "1", "--workers", "2", "--seed-events", "1000",
                                       "--timeline", timeline, "--json"], timeout: 300)
        #expect(bench.code == 0, "\(bench.stderr)")
        let report = try RefoldRun.json(bench.stdout)
        #expect(report["engine"] as? String == (server == .postgres ? "PostgreSQL" : "MySQL"))
        #expect(report["events"] as? Int == 60_000 - 5)
        let ratios = try #require(report["ratios"] as? [String: Double])
        #expect((ratios["parallel_2_vs_floor"] ?? 0) > 0 && (ratios["seed_vs_parallel_2"] ?? 0) > 0, "\(ratios)")
        // The benchmark's read models went to a scratch schema or database, dropped after; the
        // user's database has nothing of Refold's.
        let connection = try database.connect()
        let schema = server == .postgres ? "current_schema()" : "DATABASE()"
        #expect(try connection.scalarInt("SELECT count(*) FROM information_schema.tables WHERE table_schema = \(schema) AND table_name <> 'stored_events'") == 0)
        #expect(try connection.scalarInt("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'refold\\_bench%'") == 0)
    }

    // MARK: Crashes

    /// Holds the write lock of `table` on its own connection, so another session's write to it
    /// waits; `writersWaiting` tells when one does.
    struct TableLock {
        let server: TestServer
        let connection: any TestSQL
        let table: String

        init(_ database: TestServerDatabase, table: String) throws {
            (server, connection, self.table) = (database.server, try database.connect(), table)
            switch server {
            case .postgres:
                try connection.execute("BEGIN")
                try connection.execute("LOCK TABLE \"\(table)\" IN ACCESS EXCLUSIVE MODE")
            case .mysql:
                try connection.execute("LOCK TABLES `\(table)` WRITE")
            }
        }

        func writersWaiting() throws -> Int64 {
            switch server {
            case .postgres:
                return try connection.scalarInt("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)", ["\"\(table)\""]) ?? 0
            case .mysql:
                return try connection.scalarInt("SELECT count(*) FROM information_schema.processlist WHERE state LIKE 'Waiting for table%'") ?? 0
            }
        }

        func release() throws {
            try connection.execute(server == .postgres ? "ROLLBACK" : "UNLOCK TABLES")
        }
    }

    /// A worker killed in the middle of writing its task's rows. Deterministic: the coordinator
    /// runs no workers of its own; the test holds the shadow table's write lock, starts one
    /// worker, and kills it once it holds a task and waits on that lock. Two workers finish.
    @Test(arguments: TestServer.availableCases)
    func killNineOfAWorkerStillGivesTheSameRows(_ server: TestServer) throws {
        let redis = try RedisTestServer()
        let client = try CoordinationClient(configuration: RedisConfiguration(url: RedisURL(parsing: redis.url)))
        let database = try generated(server)
        let coordinator = try RefoldRun.start(["rebuild", "order_summary", "--events", database.url, "--workers", "0", "--tasks", "12",
                                               "--lease", "3s", "--redis", redis.url, "--json"])
        let job = try client.registeredJob()
        let lock = try TableLock(database, table: ReadModelNames.shadowTable("order_summary"))
        let victim = try RefoldRun.start(["worker", "--redis", redis.url, "--job", job])
        try Deadline.wait(seconds: 60, "the worker to hold a task and wait to write its rows") {
            try client.status(jobID: job)?.leased == 1 && lock.writersWaiting() > 0
        }
        victim.child.signal(SIGKILL)
        #expect(try victim.finish(timeout: 30).status.signal == SIGKILL)
        try lock.release()
        let finishers = try (0..<2).map { _ in try RefoldRun.start(["worker", "--redis", redis.url, "--job", job]) }
        let result = try coordinator.finish(timeout: 120)
        #expect(result.code == 0, "\(result.stderr)")
        for finisher in finishers {
            let done = try finisher.finish(timeout: 60)
            #expect(done.code == 0, "\(done.stderr)")
        }
        let report = try RefoldRun.json(result.stdout)
        #expect((report["retries"] as? Int ?? 0) >= 1, "the killed task must be counted as a retry")
        #expect(try dump(database.url) == dump(try sqliteReference()))
    }

    // MARK: Catch-up and the live service

    /// Inserts events as a Laravel application does (next version of each aggregate), in one
    /// transaction per call; new orders get new UUIDs.
    func append(_ connection: any TestSQL, count: Int, seed: Int) throws {
        let existing = try connection.query("""
            SELECT aggregate_uuid FROM stored_events WHERE aggregate_uuid IS NOT NULL GROUP BY aggregate_uuid ORDER BY aggregate_uuid LIMIT 200
            """, []).compactMap { $0[0] }
        try connection.execute("BEGIN")
        for index in 0..<count {
            let n = seed * 100_000 + index
            let (aggregate, type, payload): (String, String, String)
            if n % 10 == 0 {
                aggregate = UUID().uuidString.lowercased()
                (type, payload) = ("OrderPlaced", #"{"customer_id":"c\#(n)","currency":"EUR"}"#)
            } else {
                aggregate = existing[(n * 7) % existing.count]
                (type, payload) = ("ItemAdded", #"{"sku":"S\#(n % 13)","qty":\#(n % 3 + 1),"price_cents":\#(n % 500)}"#)
            }
            let next = (try connection.scalarInt("SELECT max(aggregate_version) FROM stored_events WHERE aggregate_uuid = $1", [aggregate]) ?? 0) + 1
            try connection.execute("""
                INSERT INTO stored_events (aggregate_uuid, aggregate_version, event_class, event_properties, meta_data, created_at)
                VALUES ($1, $2, $3, $4, '{}', CURRENT_TIMESTAMP)
                """, [aggregate, String(next), "App\\Events\\" + type, payload])
        }
        try connection.execute("COMMIT")
    }

    @Test(arguments: TestServer.availableCases)
    func catchUpEqualsAFreshFoldAndASecondOneDoesNothing(_ server: TestServer) throws {
        let database = try generated(server)
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"]).code == 0)
        let connection = try database.connect()
        try append(connection, count: 3000, seed: 1)
        let first = try RefoldRun.run(["catchup", "order_summary", "--events", database.url, "--json"])
        #expect(first.code == 0, "\(first.stderr)")
        #expect(try RefoldRun.json(first.stdout)["events"] as? Int == 3000)
        try verifyClean(database.url)
        let fresh = try TestServerDatabase(server)
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--read-models", fresh.url, "--inline"]).code == 0)
        #expect(try dump(database.url) == dump(fresh.url))
        let second = try RefoldRun.run(["catchup", "order_summary", "--events", database.url, "--json"])
        #expect(try second.code == 0 && (RefoldRun.json(second.stdout)["events"] as? Int ?? -1) == 0, "\(second.stdout) \(second.stderr)")

        // A delta forked over two workers gives the same table as a fresh fold.
        try append(connection, count: 2000, seed: 2)
        let redis = try RedisTestServer()
        let forked = try RefoldRun.run(["catchup", "order_summary", "--events", database.url, "--workers", "2", "--redis", redis.url, "--json"])
        #expect(forked.code == 0, "\(forked.stderr)")
        let report = try RefoldRun.json(forked.stdout)
        #expect(report["events"] as? Int == 2000 && (report["tasks"] as? Int ?? 0) > 1, "\(forked.stdout)")
        try verifyClean(database.url)
        let freshAgain = try TestServerDatabase(server)
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--read-models", freshAgain.url, "--inline"]).code == 0)
        #expect(try dump(database.url) == dump(freshAgain.url))
    }

    func caughtUp(_ url: String) throws -> Bool {
        let lag = try RefoldRun.run(["lag", "order_summary", "--events", url, "--json"])
        return try RefoldRun.json(lag.stdout)["positions_behind"] as? Int == 0
    }

    @Test(arguments: TestServer.availableCases)
    func theLiveServiceKeepsUpWithAppendsAndHolesLoseNothing(_ server: TestServer) throws {
        let redis = try RedisTestServer()
        let database = try generated(server)
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"]).code == 0)
        let runner = try RefoldRun.start(["run", "order_summary", "--events", database.url, "--redis", redis.url, "--grace", "1s", "--lease", "2s"])
        let connection = try database.connect()
        for round in 0..<10 { try append(connection, count: 100, seed: 10 + round) }
        try Deadline.wait(seconds: 60, "the runner to apply 1000 appends") { try caughtUp(database.url) }

        // Holes: A takes a position and commits after B's later one; C rolls back.
        let (a, b, c) = (try database.connect(), try database.connect(), try database.connect())
        let aggregates = try connection.query("""
            SELECT id, version FROM order_summary WHERE id NOT IN (SELECT aggregate FROM refold_quarantine) ORDER BY id LIMIT 3
            """, []).compactMap { row in row[0].map { ($0, Int64(row[1] ?? "0") ?? 0) } }
        func insert(_ on: any TestSQL, _ aggregate: (String, Int64)) throws -> Int64 {
            let sql = """
                INSERT INTO stored_events (aggregate_uuid, aggregate_version, event_class, event_properties, meta_data, created_at)
                VALUES ($1, $2, $3, '{"sku":"HOLE","qty":1,"price_cents":7}', '{}', CURRENT_TIMESTAMP)
                """
            let values: [String?] = [aggregate.0, String(aggregate.1 + 1), "App\\Events\\ItemAdded"]
            if server == .postgres { return try on.scalarInt(sql + " RETURNING id", values) ?? 0 }
            try on.execute(sql, values)
            return try on.scalarInt("SELECT LAST_INSERT_ID()") ?? 0
        }
        func version(_ aggregate: String) throws -> Int64? {
            try connection.scalarInt("SELECT version FROM order_summary WHERE id = $1", [aggregate])
        }
        let checkpointBefore = try connection.scalarInt("SELECT position FROM refold_checkpoints WHERE projection = 'order_summary'") ?? 0
        try a.execute("BEGIN")
        let held = try insert(a, aggregates[0])
        try c.execute("BEGIN")
        _ = try insert(c, aggregates[2])
        let later = try insert(b, aggregates[1])
        #expect(later > held)
        try c.execute("ROLLBACK")
        // B's event is applied while A's position is in flight; the checkpoint waits below A's.
        try Deadline.wait(seconds: 30, "the later event to be applied") { try version(aggregates[1].0) == aggregates[1].1 + 1 }
        let checkpointWhileHeld = try connection.scalarInt("SELECT position FROM refold_checkpoints WHERE projection = 'order_summary'") ?? 0
        #expect(checkpointWhileHeld >= checkpointBefore && checkpointWhileHeld < held, "the checkpoint must not pass a position still in flight")
        try a.execute("COMMIT")
        try Deadline.wait(seconds: 30, "the late commit to be applied and the checkpoint to pass the holes") {
            try version(aggregates[0].0) == aggregates[0].1 + 1 && caughtUp(database.url)
        }
        #expect(try version(aggregates[2].0) == aggregates[2].1, "a rolled-back event is never applied")
        try verifyClean(database.url)
        let fresh = try TestServerDatabase(server)
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--read-models", fresh.url, "--inline"]).code == 0)
        #expect(try dump(database.url) == dump(fresh.url), "nothing lost, nothing applied twice")
        runner.child.signal(SIGTERM)
        let result = try runner.finish(timeout: 30)
        #expect(result.code == 0, "\(result.stderr)")
    }

    @Test(.enabled(if: TestServer.postgres.available))
    func refoldsTriggerWakesTheLiveServiceOnCommitAndIsOnlyAddedWhenAsked() throws {
        let redis = try RedisTestServer()
        let database = try generated(.postgres)
        let connection = try database.connect()
        func triggers() throws -> Int64? {
            try connection.scalarInt("SELECT count(*) FROM pg_trigger WHERE tgname = 'refold_notify_insert'")
        }
        #expect(try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"]).code == 0)
        #expect(try triggers() == 0, "a rebuild never adds the trigger")

        let dry = try RefoldRun.run(["trigger", "install", "--events", database.url, "--dry-run"])
        #expect(dry.code == 0 && dry.stdout.contains("CREATE TRIGGER refold_notify_insert"), "\(dry.stdout) \(dry.stderr)")
        #expect(try triggers() == 0, "a dry run changes nothing")
        let install = try RefoldRun.run(["trigger", "install", "--events", database.url])
        #expect(install.code == 0 && install.stdout.contains("CREATE TRIGGER refold_notify_insert") && install.stdout.contains("installed"), "\(install.stdout) \(install.stderr)")
        #expect(try triggers() == 1)

        let runner = try RefoldRun.start(["run", "order_summary", "--events", database.url, "--redis", redis.url, "--grace", "1s", "--lease", "2s"])
        try Deadline.wait(seconds: 30, "the runner to follow with LISTEN") { runner.stderrText().contains("LISTEN refold_events") }
        for round in 0..<5 { try append(connection, count: 40, seed: 40 + round) }
        try Deadline.wait(seconds: 30, "the runner to apply the appends") { try caughtUp(database.url) }
        try verifyClean(database.url)
        runner.child.signal(SIGTERM)
        #expect(try runner.finish(timeout: 30).code == 0)

        let remove = try RefoldRun.run(["trigger", "remove", "--events", database.url])
        #expect(remove.code == 0 && remove.stdout.contains("DROP TRIGGER IF EXISTS refold_notify_insert"), "\(remove.stdout) \(remove.stderr)")
        #expect(try triggers() == 0)
        if TestServer.mysql.available {
            let mysql = try TestServerDatabase(.mysql)
            let refused = try RefoldRun.run(["trigger", "install", "--events", mysql.url])
            #expect(refused.code == 2 && refused.stderr.contains("MySQL is polled"), "\(refused.stderr)")
        }
    }

    @Test(arguments: TestServer.availableCases)
    func appendUsesTheNextVersionAndRefusesAStaleOne(_ server: TestServer) throws {
        let database = try generated(server)
        let connection = try database.connect()
        let aggregate = try connection.scalar("SELECT aggregate_uuid FROM stored_events WHERE aggregate_uuid IS NOT NULL ORDER BY id LIMIT 1") ?? ""
        let current = try connection.scalarInt("SELECT max(aggregate_version) FROM stored_events WHERE aggregate_uuid = $1", [aggregate]) ?? 0
        let ok = try RefoldRun.run(["append", aggregate, "--events", database.url, "--type", "App\\Events\\OrderShipped", "--data", "{}",
                                    "--expected-version", String(current), "--json"])
        #expect(ok.code == 0, "\(ok.stderr)")
        let appended = try RefoldRun.json(ok.stdout)
        #expect(appended["version"] as? Int == Int(current + 1))
        #expect(try connection.scalarInt("SELECT aggregate_version FROM stored_events WHERE id = $1", [String(appended["position"] as? Int ?? 0)]) == current + 1)
        let stale = try RefoldRun.run(["append", aggregate, "--events", database.url, "--type", "App\\Events\\OrderShipped", "--data", "{}",
                                       "--expected-version", String(current)])
        #expect(stale.code == 1 && stale.stderr.contains("at version \(current + 1)"), "\(stale.stderr)")
        if server == .postgres {
            let notUUID = try RefoldRun.run(["append", "order-1", "--events", database.url, "--type", "App\\Events\\OrderShipped", "--data", "{}"])
            #expect(notUUID.code == 2 && notUUID.stderr.contains("not a UUID"), "\(notUUID.stderr)")
        }
    }

    // MARK: Bad input

    @Test(arguments: TestServer.availableCases)
    func badInputIsOneClearLineAndTouchesNothing(_ server: TestServer) throws {
        let database = try TestServerDatabase(server)
        let admin = try DatabaseLocation(parsing: try server.adminURL())
        let scheme = server == .postgres ? "postgres" : "mysql"
        func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

        // Nothing listens: exit 3.
        let port = try FreePort.find()
        let unreachable = try RefoldRun.run(["rebuild", "order_summary", "--events", "\(scheme)://refold@127.0.0.1:\(port)/x", "--inline"])
        #expect(unreachable.code == 3 && lines(unreachable.stderr).count == 1 && unreachable.stderr.contains("cannot reach"), "\(unreachable.stderr)")

        // The client library is loaded on first use: one that cannot be loaded is one line,
        // exit 3, naming what to install.
        let (variable, package) = server == .postgres ? ("REFOLD_LIBPQ", "libpq5") : ("REFOLD_LIBMARIADB", "libmariadb3")
        let noLibrary = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"], environment: [variable: "/nonexistent/libclient.so"])
        #expect(noLibrary.code == 3 && lines(noLibrary.stderr).count == 1 && noLibrary.stderr.contains(package)
            && noLibrary.stderr.contains("/nonexistent/libclient.so"), "\(noLibrary.stderr)")

        // A wrong password, in the URL or in the environment: exit 2, never printed.
        let secret = "not-the-Password-\(UUID().uuidString.prefix(6))"
        let wrongURL = "\(scheme)://refold:\(secret)@\(admin.host):\(admin.port)/\(database.name)"
        for (arguments, environment) in [(["--events", wrongURL], [String: String]()), (["--events", database.url], [server.clientPasswordVariable: secret])] {
            let wrong = try RefoldRun.run(["verify", "order_summary"] + arguments, environment: environment)
            #expect(wrong.code == 2 && wrong.stderr.contains("password") && lines(wrong.stderr).count == 1, "\(wrong.stderr)")
            #expect(!wrong.stderr.contains(secret) && !wrong.stdout.contains(secret), "the password was printed")
        }

        // No table, a missing column, a column of the wrong type: exit 2, each naming it.
        let connection = try database.connect()
        let missing = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"])
        #expect(missing.code == 2 && missing.stderr.contains("table \"stored_events\" not found"), "\(missing.stderr)")
        try connection.execute(server == .postgres
            ? "CREATE TABLE stored_events (id bigserial PRIMARY KEY, aggregate_uuid uuid, aggregate_version bigint, event_properties json)"
            : "CREATE TABLE stored_events (id bigint AUTO_INCREMENT PRIMARY KEY, aggregate_uuid char(36), aggregate_version bigint, event_properties json)")
        let noColumn = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"])
        #expect(noColumn.code == 2 && noColumn.stderr.contains("\"event_class\" missing"), "\(noColumn.stderr)")
        try connection.execute(server == .postgres
            ? "ALTER TABLE stored_events ADD COLUMN event_class text, ALTER COLUMN aggregate_version TYPE text"
            : "ALTER TABLE stored_events ADD COLUMN event_class text, MODIFY aggregate_version varchar(20)")
        let wrongType = try RefoldRun.run(["rebuild", "order_summary", "--events", database.url, "--inline"])
        #expect(wrongType.code == 2 && wrongType.stderr.contains("\"aggregate_version\"") && wrongType.stderr.contains("not an integer"), "\(wrongType.stderr)")

        // A user's table with the projection's name in the read models: exit 2, untouched, and
        // no refold_* table is created.
        let app = try generated(server)
        let appConnection = try app.connect()
        let schema = server == .postgres ? "current_schema()" : "DATABASE()"
        func refoldTables() throws -> Int64 {
            try appConnection.scalarInt("SELECT count(*) FROM information_schema.tables WHERE table_schema = \(schema) AND (table_name LIKE 'refold%' OR table_name LIKE '%refold_shadow')") ?? -1
        }
        try appConnection.execute("CREATE TABLE order_summary (order_id varchar(40) PRIMARY KEY, total_cents int)")
        try appConnection.execute("INSERT INTO order_summary VALUES ('keep-me', 42)")
        let foreign = try RefoldRun.run(["rebuild", "order_summary", "--events", app.url, "--workers", "2"])
        #expect(foreign.code == 2 && foreign.stderr.contains("never replaces a table it did not build"), "\(foreign.stderr)")
        #expect(try appConnection.scalar("SELECT concat(order_id, total_cents) FROM order_summary") == "keep-me42")
        #expect(try refoldTables() == 0)
        // Read-only commands on a database Refold never built: exit 2, nothing created.
        let verify = try RefoldRun.run(["verify", "order_summary", "--events", app.url])
        #expect(verify.code == 2, "\(verify.stderr)")
        #expect(try refoldTables() == 0)
        // --replace-table keeps it under a backup name.
        let replace = try RefoldRun.run(["rebuild", "order_summary", "--events", app.url, "--inline", "--replace-table"])
        #expect(replace.code == 0, "\(replace.stderr)")
        let backup = try appConnection.scalar("SELECT table_name FROM information_schema.tables WHERE table_schema = \(schema) AND table_name LIKE 'order%backup%'") ?? ""
        #expect(!backup.isEmpty && replace.stdout.contains(backup), "\(replace.stdout)")
        #expect(try appConnection.scalar("SELECT order_id FROM \(server == .postgres ? quotePostgresIdentifier(backup) : "`\(backup)`")") == "keep-me")
    }
}

extension CoordinationClient {
    /// The one job in a test's private Redis, once a coordinator has registered it (shared by
    /// the crash tests, whose coordinators run with `--workers 0`).
    func registeredJob() throws -> String {
        var job = ""
        try Deadline.wait(seconds: 60, "the job to be registered") {
            job = try indexedJobs().first ?? ""
            return !job.isEmpty
        }
        return job
    }
}

/// Which connection failures are attempted again within the connect budget (no server needed).
@Suite struct DatabaseConnectRetryTests {
    @Test func transientConnectFailuresAreRetriedAndWrongInputIsNot() {
        #expect(PostgresConnection.isTransientConnectFailure("connection to server at \"127.0.0.1\", port 5432 failed: timeout expired"))
        #expect(PostgresConnection.isTransientConnectFailure("FATAL:  the database system is starting up"))
        #expect(PostgresConnection.isTransientConnectFailure("FATAL:  sorry, too many clients already"))
        #expect(!PostgresConnection.isTransientConnectFailure("connection to server at \"127.0.0.1\", port 1 failed: Connection refused"))
        #expect(!PostgresConnection.isTransientConnectFailure("FATAL:  password authentication failed for user \"app\""))
        #expect(!PostgresConnection.isTransientConnectFailure("FATAL:  database \"nope\" does not exist"))
        #expect(MySQLConnection.isTransientConnectFailure(code: 1040, "Too many connections"))
        #expect(MySQLConnection.isTransientConnectFailure(code: 2013, "Lost connection to server at 'handshake: reading initial communication packet'"))
        #expect(MySQLConnection.isTransientConnectFailure(code: 2003, "Can't connect to server on '10.0.0.9' (110)"))
        #expect(!MySQLConnection.isTransientConnectFailure(code: 2003, "Can't connect to server on '127.0.0.1' (111)"))
        #expect(!MySQLConnection.isTransientConnectFailure(code: 1045, "Access denied for user 'app'"))
    }
}
