import Foundation
import RefoldCore
import RefoldSQLite
import RefoldTestSupport
import Testing

/// Refold never drops, replaces or writes a table it did not create, and read-only opens
/// leave the file exactly as it was.
@Suite struct ReadModelOwnershipTests {
    func database(_ sql: String) throws -> String {
        let path = try TemporaryDirectory.make().appendingPathComponent("app.db").path
        try SQLiteConnection(path: path, readOnly: false, create: true).execute(sql)
        return path
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func listing(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path).sorted()
    }

    @Test func aUsersTableOfTheProjectionsNameIsForeignAndRefusedBeforeAnyWrite() throws {
        let path = try database("CREATE TABLE order_summary(order_id TEXT PRIMARY KEY, total_cents INT); INSERT INTO order_summary VALUES ('keep-me', 42)")
        let before = try bytes(path)
        let error = #expect(throws: StoreError.self) { try SQLiteReadModelStore.preflight(path: path, projection: "order_summary", replaceForeign: false) }
        #expect(error?.code == .badInput)
        #expect(error?.message.contains("table order_summary in \(path) has columns (order_id, total_cents)") == true)
        #expect(error?.message.contains("--replace-table") == true)
        #expect(try bytes(path) == before)
        #expect(try SQLiteReadModelStore(readOnlyPath: path).modelTableState(projection: "order_summary") != .refolds)
    }

    @Test func aTableWithRefoldsColumnsButNoCheckpointIsStillForeign() throws {
        let path = try database("CREATE TABLE order_summary(id TEXT PRIMARY KEY, data TEXT, version INTEGER, updated_at TEXT)")
        guard case .foreign(let why) = try SQLiteReadModelStore(readOnlyPath: path).modelTableState(projection: "order_summary") else {
            Issue.record("expected foreign")
            return
        }
        #expect(why.contains("no row in refold_checkpoints"))
    }

    @Test func viewsIndexesAndOtherCaseAreInTheWayToo() throws {
        let view = try database("CREATE TABLE t(a); CREATE VIEW order_summary AS SELECT a FROM t")
        #expect(try SQLiteReadModelStore(readOnlyPath: view).modelTableState(projection: "order_summary") == .foreign("is a view, not a table"))
        let cased = try database("CREATE TABLE Order_Summary(a)")
        #expect(try SQLiteReadModelStore(readOnlyPath: cased).modelTableState(projection: "order_summary") != .absent)
    }

    @Test func replaceTableKeepsTheForeignTableUnderABackupName() throws {
        let path = try database("CREATE TABLE order_summary(order_id TEXT PRIMARY KEY, total_cents INT); INSERT INTO order_summary VALUES ('keep-me', 42)")
        let backup = try #require(try SQLiteReadModelStore.preflight(path: path, projection: "order_summary", replaceForeign: true))
        #expect(backup.hasPrefix("order_summary__refold_backup_"))
        let store = try SQLiteReadModelStore(path: path)
        try store.createShadow(projection: "order_summary")
        // Without the backup name the swap refuses and changes nothing.
        #expect(throws: StoreError.self) { try store.swapIn(projection: "order_summary", job: "j", head: 1, projectionVersion: 1) }
        #expect(try store.count("SELECT total_cents FROM order_summary WHERE order_id = 'keep-me'") == 42)
        #expect(try store.swapIn(projection: "order_summary", job: "j", head: 1, projectionVersion: 1, keepForeignAs: backup) == backup)
        #expect(try store.count("SELECT total_cents FROM \"\(backup)\" WHERE order_id = 'keep-me'") == 42)
        #expect(try store.modelTableState(projection: "order_summary") == .refolds)
        // Refold's own table is replaced by the next rebuild without any flag.
        #expect(try SQLiteReadModelStore.preflight(path: path, projection: "order_summary", replaceForeign: false) == nil)
    }

    @Test func aForeignTableSquattingTheShadowsNameIsRefused() throws {
        let path = try database("CREATE TABLE order_summary__refold_shadow(mine TEXT)")
        let error = #expect(throws: StoreError.self) { try SQLiteReadModelStore.preflight(path: path, projection: "order_summary", replaceForeign: false) }
        #expect(error?.message.contains("will not drop it") == true)
        #expect(throws: StoreError.self) { try SQLiteReadModelStore(path: path).createShadow(projection: "order_summary") }
        #expect(try SQLiteConnection(path: path, readOnly: true).scalarInt("SELECT count(*) FROM pragma_table_info('order_summary__refold_shadow') WHERE name = 'mine'") == 1)
    }

    @Test func refoldTablesThatAreNotRefoldsStopEverything() throws {
        let path = try database("CREATE TABLE refold_checkpoints(name TEXT, value TEXT)")
        let before = try bytes(path)
        let error = #expect(throws: StoreError.self) { try SQLiteReadModelStore(path: path) }
        #expect(error?.message.contains("table refold_checkpoints in \(path) is not Refold's") == true)
        #expect(throws: StoreError.self) { try SQLiteReadModelStore(readOnlyPath: path) }
        #expect(try bytes(path) == before)
    }

    @Test(arguments: ["delete", "wal"])
    func readOnlyOpensCreateNothing(_ journal: String) throws {
        let path = try database("PRAGMA journal_mode = \(journal); CREATE TABLE stored_events(id INTEGER PRIMARY KEY); CREATE TABLE order_summary(x)")
        let before = try bytes(path)
        let files = try listing(path)
        do {
            let store = try SQLiteReadModelStore(readOnlyPath: path)
            #expect(try store.checkpoint(projection: "order_summary") == nil)
            #expect(try store.quarantined(projection: "order_summary").isEmpty)
            #expect(try store.lockHolder(projection: "order_summary") == nil)
            #expect(try store.locks().isEmpty && store.checkpoints().isEmpty)
            #expect(throws: StoreError.self) { try store.execute("CREATE TABLE refold_checkpoints(x)") }
        }
        #expect(try bytes(path) == before)
        #expect(try listing(path) == files)
    }

    @Test func preflightChecksTheFolderOfANewDatabase() throws {
        let folder = try TemporaryDirectory.make()
        #expect(try SQLiteReadModelStore.preflight(path: folder.appendingPathComponent("new.db").path, projection: "m", replaceForeign: false) == nil)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("new.db").path))
        let error = #expect(throws: StoreError.self) {
            try SQLiteReadModelStore.preflight(path: folder.appendingPathComponent("missing/new.db").path, projection: "m", replaceForeign: false)
        }
        #expect(error?.message.contains("does not exist") == true)
    }

    @Test func aRunningRebuildIsSeenBeforeAnythingIsWritten() throws {
        let path = try TemporaryDirectory.make().appendingPathComponent("models.db").path
        let store = try SQLiteReadModelStore(path: path)
        try store.acquireLock(projection: "m", job: "j1", owner: "refold rebuild on h, pid 1", seconds: 60, redis: "redis://127.0.0.1:41000/0")
        let error = #expect(throws: StoreError.self) { try SQLiteReadModelStore.preflight(path: path, projection: "m", replaceForeign: false) }
        #expect(error?.code == .locked)
        #expect(error?.message.contains("refold status j1 --redis redis://127.0.0.1:41000/0") == true)
    }
}
