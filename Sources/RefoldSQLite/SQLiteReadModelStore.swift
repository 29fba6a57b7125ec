import Foundation
import RefoldCore

/// Read models in SQLite: one table per projection (`id`, `data`, `version`, `updated_at`),
/// plus three support tables beside them:
///
/// - `refold_checkpoints` — per projection, the head position the live table reflects and the job that built it;
/// - `refold_quarantine` — quarantined aggregates, per projection and job;
/// - `refold_locks` — one rebuild per model at a time, with an expiry.
///
/// A rebuild writes into `<projection>__refold_shadow` and swaps it in with one transaction,
/// so readers see the old model or the new one, never a half-built one.
public final class SQLiteReadModelStore: ReadModelStore {
    public let path: String
    public var location: String { path }
    let connection: SQLiteConnection
    /// True when opened read-only: nothing is created or written, support tables may be absent.
    public let isReadOnly: Bool

    /// Refold's support tables and the columns each must have (a table of that name with
    /// other columns is someone else's, and Refold refuses to use the database).
    static let supportTables: [(name: String, columns: [String], create: String)] = [
        ("refold_checkpoints", ["projection", "position", "job", "projection_version", "updated_at"], """
            CREATE TABLE IF NOT EXISTS refold_checkpoints (
              projection TEXT PRIMARY KEY, position INTEGER NOT NULL, job TEXT NOT NULL,
              projection_version INTEGER NOT NULL, updated_at TEXT NOT NULL)
            """),
        ("refold_quarantine", ["projection", "aggregate", "version", "position", "code", "reason", "job", "recorded_at"], """
            CREATE TABLE IF NOT EXISTS refold_quarantine (
              projection TEXT NOT NULL, aggregate TEXT NOT NULL, version INTEGER, position INTEGER NOT NULL,
              code TEXT NOT NULL, reason TEXT NOT NULL, job TEXT NOT NULL, recorded_at TEXT NOT NULL,
              PRIMARY KEY (projection, job, aggregate))
            """),
        ("refold_locks", ["projection", "owner", "job", "expires_at"], """
            CREATE TABLE IF NOT EXISTS refold_locks (
              projection TEXT PRIMARY KEY, owner TEXT NOT NULL, job TEXT NOT NULL, expires_at INTEGER NOT NULL,
              host TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0, redis TEXT NOT NULL DEFAULT '')
            """),
    ]

    /// Columns added to support tables after their first release, created on open when missing.
    static let addedColumns: [(table: String, column: String, definition: String)] = [
        ("refold_locks", "host", "TEXT NOT NULL DEFAULT ''"),
        ("refold_locks", "pid", "INTEGER NOT NULL DEFAULT 0"),
        ("refold_locks", "redis", "TEXT NOT NULL DEFAULT ''"),
    ]

    /// Opens the read-model database for writing (creating the file if `create`), and creates
    /// Refold's support tables. Refuses a database whose `refold_*` tables are not Refold's.
    public init(path: String, create: Bool = true) throws(StoreError) {
        self.path = path
        isReadOnly = false
        connection = try SQLiteConnection(path: path, readOnly: false, create: create)
        try Self.checkSupportTables(connection, path: path)
        for table in Self.supportTables { try connection.execute(table.create) }
        for added in Self.addedColumns where try !columns(of: added.table).contains(added.column) {
            try connection.execute("ALTER TABLE \(added.table) ADD COLUMN \(added.column) \(added.definition)")
        }
        // In WAL mode a commit need not wait for fsync (synchronous = NORMAL, this connection
        // only): a crash may lose the last commits but never corrupts, and a read model's rows
        // and checkpoint are lost together, so the next run re-applies them. Rollback-journal
        // databases keep SQLite's default.
        if try connection.journalMode() == "wal" { try connection.execute("PRAGMA synchronous = NORMAL") }
    }

    /// Opens an existing database read-only: for `verify`, `quarantine list`, `status`. Creates
    /// nothing, writes nothing; the file's bytes stay as they were.
    public init(readOnlyPath path: String) throws(StoreError) {
        self.path = path
        isReadOnly = true
        connection = try SQLiteConnection(path: path, readOnly: true)
        try connection.execute("PRAGMA query_only = 1")
        try Self.checkSupportTables(connection, path: path)
    }

    /// A `refold_*` table with other columns than Refold's is someone else's: refuse the database.
    static func checkSupportTables(_ connection: SQLiteConnection, path: String) throws(StoreError) {
        for table in supportTables {
            let present = try columns(of: table.name, on: connection)
            guard !present.isEmpty else { continue }
            let missing = table.columns.filter { !present.contains($0) }
            if !missing.isEmpty {
                throw StoreError(.badInput, "table \(table.name) in \(path) is not Refold's (it lacks \(missing.joined(separator: ", "))); Refold will not use or change it — keep read models in another database (--read-models).")
            }
        }
    }

    /// The columns of a table (empty when there is no such table).
    func columns(of table: String) throws(StoreError) -> [String] {
        try Self.columns(of: table, on: connection)
    }

    static func columns(of table: String, on connection: SQLiteConnection) throws(StoreError) -> [String] {
        let info = try connection.prepare("SELECT name FROM pragma_table_info(?1)")
        try info.bind([.text(table)])
        var names: [String] = []
        while try info.step() { names.append(info.text(0)) }
        return names
    }

    /// What kind of schema object, if any, has this name (table, view, index, trigger).
    func objectType(named name: String) throws(StoreError) -> String? {
        let statement = try connection.prepare("SELECT type FROM sqlite_master WHERE name = ?1 COLLATE NOCASE")
        try statement.bind([.text(name)])
        return try statement.step() ? statement.text(0) : nil
    }

    /// Whether Refold's support table exists (a read-only store may find none).
    func hasSupportTable(_ name: String) throws(StoreError) -> Bool {
        try objectType(named: name) == "table"
    }

    public static func validate(projection: String) throws(StoreError) { try ReadModelNames.validate(projection: projection) }
    public static func shadowTable(_ projection: String) -> String { ReadModelNames.shadowTable(projection) }
    static func timestamp(_ date: Date = Date()) -> String { ReadModelNames.timestamp(date) }
    public static var modelColumns: [String] { ReadModelNames.modelColumns }

    private func createModelTable(_ name: String) throws(StoreError) {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS \(quoteIdentifier(name)) (
              id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL)
            """)
    }

    /// Starts a rebuild: an empty shadow table (a leftover of a crashed run is dropped; a table
    /// of that name that is not a Refold shadow is refused).
    public func createShadow(projection: String) throws(StoreError) {
        try Self.validate(projection: projection)
        let shadow = Self.shadowTable(projection)
        if case .foreign(let why) = try objectState(shadow) {
            throw StoreError(.badInput, ReadModelNames.foreignShadowMessage(shadow, location: path, why: why))
        }
        try connection.execute("DROP TABLE IF EXISTS \(quoteIdentifier(shadow))")
        try createModelTable(shadow)
    }

    /// Whether the shadow table exists (workers write only into an existing shadow).
    public func hasShadow(projection: String) throws(StoreError) -> Bool {
        try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [.text(Self.shadowTable(projection))]) == 1
    }

    /// Rows of the shadow table and quarantine records of `job` whose aggregate falls in
    /// `range` (ids compare byte for byte, as the planner's ranges do).
    public func shadowCounts(projection: String, job: String, range: AggregateRange) throws(StoreError) -> (rows: Int64, quarantined: Int64) {
        // ?1 lower, ?2 upper (unused when the range is open above), ?3 projection, ?4 job.
        func within(_ column: String) -> String {
            "\(column) >= ?1" + (range.upper == nil ? " AND ?2 IS NULL" : " AND \(column) < ?2")
        }
        let bounds: [SQLiteValue] = [.bytes(range.lower ?? []), range.upper.map { .bytes($0) } ?? .null]
        let rows = try connection.scalarInt(
            "SELECT count(*) FROM \(quoteIdentifier(Self.shadowTable(projection))) WHERE \(within("id"))", bounds) ?? 0
        let quarantined = try connection.scalarInt(
            "SELECT count(*) FROM refold_quarantine WHERE \(within("aggregate")) AND projection = ?3 AND job = ?4",
            bounds + [.text(projection), .text(job)]) ?? 0
        return (rows, quarantined)
    }

    /// Drops the shadow table (cancelled or failed rebuild).
    public func dropShadow(projection: String) throws(StoreError) {
        try Self.validate(projection: projection)
        try connection.execute("DROP TABLE IF EXISTS \(quoteIdentifier(Self.shadowTable(projection)))")
    }

    /// Writes rows and quarantines in one transaction. An existing row is replaced only by a
    /// higher version: a write never lowers a row's version, so a retried task is harmless.
    public func write(rows: [FoldedRow], quarantined: [QuarantineRecord], table: String, projection: String, job: String) throws(StoreError) {
        guard !rows.isEmpty || !quarantined.isEmpty else { return }
        let now = Self.timestamp()
        try connection.execute("BEGIN IMMEDIATE")
        do {
            if !rows.isEmpty {
                let name = quoteIdentifier(table)
                let upsert = try connection.prepare("""
                    INSERT INTO \(name) (id, data, version, updated_at) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT(id) DO UPDATE SET data = excluded.data, version = excluded.version, updated_at = excluded.updated_at
                    WHERE excluded.version > \(name).version
                    """)
                try upsert.bind([.null, .null, .null, .text(now)])
                for row in rows {
                    row.aggregate.withUnsafeBytes { upsert.bindText(1, $0) }
                    row.data.withUnsafeBytes { upsert.bindText(2, $0) }
                    upsert.bindInt(3, row.version)
                    while try upsert.step() {}
                    upsert.reset()
                }
            }
            if !quarantined.isEmpty {
                let insert = try connection.prepare("""
                    INSERT OR REPLACE INTO refold_quarantine (projection, aggregate, version, position, code, reason, job, recorded_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    """)
                for record in quarantined {
                    try insert.run([
                        .text(projection), .text(record.aggregate), record.version.map { .int($0) } ?? .null, .int(record.position),
                        .text(record.code.rawValue), .text(record.reason), .text(job), .text(now),
                    ])
                }
            }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Swaps the shadow in as the live table, in one transaction, and records the checkpoint
    /// (the head position the model reflects) and the job whose quarantine list now applies.
    ///
    /// The live table is replaced only when Refold built it (`ModelTableState.refolds`). A
    /// foreign table of that name is never dropped: with `keepForeignAs` it is renamed to that
    /// name in the same transaction, otherwise the swap is refused and nothing changes.
    /// Returns the name the foreign table was kept as, if one was.
    @discardableResult
    public func swapIn(projection: String, job: String, head: Int64, projectionVersion: Int, keepForeignAs: String?) throws(StoreError) -> String? {
        try Self.validate(projection: projection)
        guard try hasShadow(projection: projection) else {
            throw StoreError(.infrastructure, "the shadow table of \(projection) vanished before the swap (was another rebuild started by hand?).")
        }
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            var keptAs: String?
            // Decided inside the write transaction: nobody can create the table in between.
            switch try modelTableState(projection: projection) {
            case .absent:
                break
            case .refolds:
                try connection.execute("DROP TABLE \(quoteIdentifier(projection))")
            case .foreign(let why):
                guard let backup = keepForeignAs else {
                    throw StoreError(.badInput, Self.foreignTableMessage(projection, path: path, why: why))
                }
                if try objectType(named: backup) != nil {
                    throw StoreError(.badInput, "cannot keep \(projection) as \(backup) in \(path): that name is taken; nothing was changed.")
                }
                try connection.execute("ALTER TABLE \(quoteIdentifier(projection)) RENAME TO \(quoteIdentifier(backup))")
                keptAs = backup
            }
            try connection.execute("ALTER TABLE \(quoteIdentifier(Self.shadowTable(projection))) RENAME TO \(quoteIdentifier(projection))")
            try connection.prepare("""
                INSERT INTO refold_checkpoints (projection, position, job, projection_version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT(projection) DO UPDATE SET position = excluded.position, job = excluded.job,
                  projection_version = excluded.projection_version, updated_at = excluded.updated_at
                """).run([.text(projection), .int(head), .text(job), .int(Int64(projectionVersion)), .text(Self.timestamp())])
            try connection.prepare("DELETE FROM refold_quarantine WHERE projection = ?1 AND job <> ?2").run([.text(projection), .text(job)])
            try connection.execute("COMMIT")
            return keptAs
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The live model's checkpoint: the head position it reflects and the job that built it.
    public func checkpoint(projection: String) throws(StoreError) -> (position: Int64, job: String, projectionVersion: Int)? {
        guard try hasSupportTable("refold_checkpoints") else { return nil }
        let statement = try connection.prepare("SELECT position, job, projection_version FROM refold_checkpoints WHERE projection = ?1")
        try statement.bind([.text(projection)])
        guard try statement.step() else { return nil }
        return (statement.int64(0), statement.text(1), Int(statement.int64(2)))
    }

    /// Every projection's checkpoint in this database (operators' view).
    public func checkpoints() throws(StoreError) -> [(projection: String, position: Int64, job: String, updatedAt: String)] {
        guard try hasSupportTable("refold_checkpoints") else { return [] }
        let statement = try connection.prepare("SELECT projection, position, job, updated_at FROM refold_checkpoints ORDER BY projection")
        var out: [(projection: String, position: Int64, job: String, updatedAt: String)] = []
        while try statement.step() { out.append((statement.text(0), statement.int64(1), statement.text(2), statement.text(3))) }
        return out
    }

    /// Quarantined aggregates of the live model (the job that built it), sorted by aggregate.
    public func quarantined(projection: String, job: String?) throws(StoreError) -> [QuarantineRecord] {
        guard try hasSupportTable("refold_quarantine") else { return [] }
        let current = try checkpoint(projection: projection)?.job
        guard let job = job ?? current else { return [] }
        let statement = try connection.prepare("""
            SELECT aggregate, version, position, code, reason FROM refold_quarantine
            WHERE projection = ?1 AND job = ?2 ORDER BY aggregate
            """)
        try statement.bind([.text(projection), .text(job)])
        var records: [QuarantineRecord] = []
        while try statement.step() {
            records.append(QuarantineRecord(
                aggregate: statement.text(0), version: statement.isNull(1) ? nil : statement.int64(1),
                position: statement.int64(2), code: QuarantineCode(rawValue: statement.text(3)),
                reason: statement.text(4)))
        }
        return records
    }

    /// Whether the live table exists.
    public func hasModel(projection: String) throws(StoreError) -> Bool {
        try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [.text(projection)]) == 1
    }

    /// Runs raw SQL (tests and operators' tools).
    public func execute(_ sql: String) throws(StoreError) {
        try connection.execute(sql)
    }

    /// A count query (tests and reports).
    public func count(_ sql: String) throws(StoreError) -> Int64 {
        try connection.scalarInt(sql) ?? 0
    }
}

/// Steps through a model's rows in id (byte) order, one at a time.
public final class SQLiteReadModelCursor: ReadModelCursor {
    private let statement: SQLiteStatement

    init(statement: SQLiteStatement) {
        self.statement = statement
    }

    /// The next row, or nil at the end.
    public func next() throws(StoreError) -> (id: [UInt8], data: [UInt8], version: Int64)? {
        guard try statement.step() else { return nil }
        return (statement.copyBytes(0), statement.copyBytes(1), statement.int64(2))
    }
}

extension SQLiteReadModelStore {
    /// A cursor over the live rows of `projection`, in id order.
    public func cursor(projection: String) throws(StoreError) -> any ReadModelCursor {
        SQLiteReadModelCursor(statement: try connection.prepare("SELECT id, data, version FROM \(quoteIdentifier(projection)) ORDER BY id"))
    }
}
