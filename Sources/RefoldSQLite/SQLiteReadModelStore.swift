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
public final class SQLiteReadModelStore {
    public let path: String
    let connection: SQLiteConnection

    /// Opens (creating if needed) the read-model database for writing.
    public init(path: String, create: Bool = true) throws(StoreError) {
        self.path = path
        connection = try SQLiteConnection(path: path, readOnly: false, create: create)
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS refold_checkpoints (
              projection TEXT PRIMARY KEY, position INTEGER NOT NULL, job TEXT NOT NULL,
              projection_version INTEGER NOT NULL, updated_at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS refold_quarantine (
              projection TEXT NOT NULL, aggregate TEXT NOT NULL, version INTEGER, position INTEGER NOT NULL,
              code TEXT NOT NULL, reason TEXT NOT NULL, job TEXT NOT NULL, recorded_at TEXT NOT NULL,
              PRIMARY KEY (projection, job, aggregate));
            CREATE TABLE IF NOT EXISTS refold_locks (
              projection TEXT PRIMARY KEY, owner TEXT NOT NULL, job TEXT NOT NULL, expires_at INTEGER NOT NULL,
              host TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0);
            """)
    }

    /// Checks a projection name is usable as a table name: letters, digits and `_`.
    public static func validate(projection: String) throws(StoreError) {
        guard !projection.isEmpty, projection.utf8.count <= 60,
              projection.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") })
        else { throw StoreError(.badInput, "projection name \"\(projection)\" cannot be a table name (use letters, digits and _).") }
    }

    public static func shadowTable(_ projection: String) -> String { "\(projection)__refold_shadow" }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    private func createModelTable(_ name: String) throws(StoreError) {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS \(quoteIdentifier(name)) (
              id TEXT PRIMARY KEY NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL)
            """)
    }

    /// Starts a rebuild: an empty shadow table (any leftover of a crashed run is dropped).
    public func createShadow(projection: String) throws(StoreError) {
        try Self.validate(projection: projection)
        try connection.execute("DROP TABLE IF EXISTS \(quoteIdentifier(Self.shadowTable(projection)))")
        try createModelTable(Self.shadowTable(projection))
    }

    /// Whether the shadow table exists (workers write only into an existing shadow).
    public func hasShadow(projection: String) throws(StoreError) -> Bool {
        try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [.text(Self.shadowTable(projection))]) == 1
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
    public func swapIn(projection: String, job: String, head: Int64, projectionVersion: Int) throws(StoreError) {
        try Self.validate(projection: projection)
        guard try hasShadow(projection: projection) else {
            throw StoreError(.infrastructure, "the shadow table of \(projection) vanished before the swap (was another rebuild started by hand?).")
        }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            try connection.execute("DROP TABLE IF EXISTS \(quoteIdentifier(projection))")
            try connection.execute("ALTER TABLE \(quoteIdentifier(Self.shadowTable(projection))) RENAME TO \(quoteIdentifier(projection))")
            try connection.prepare("""
                INSERT INTO refold_checkpoints (projection, position, job, projection_version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT(projection) DO UPDATE SET position = excluded.position, job = excluded.job,
                  projection_version = excluded.projection_version, updated_at = excluded.updated_at
                """).run([.text(projection), .int(head), .text(job), .int(Int64(projectionVersion)), .text(Self.timestamp())])
            try connection.prepare("DELETE FROM refold_quarantine WHERE projection = ?1 AND job <> ?2").run([.text(projection), .text(job)])
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The live model's checkpoint: the head position it reflects and the job that built it.
    public func checkpoint(projection: String) throws(StoreError) -> (position: Int64, job: String, projectionVersion: Int)? {
        let statement = try connection.prepare("SELECT position, job, projection_version FROM refold_checkpoints WHERE projection = ?1")
        try statement.bind([.text(projection)])
        guard try statement.step() else { return nil }
        return (statement.int64(0), statement.text(1), Int(statement.int64(2)))
    }

    /// Quarantined aggregates of the live model (the job that built it), sorted by aggregate.
    public func quarantined(projection: String, job: String? = nil) throws(StoreError) -> [QuarantineRecord] {
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
                position: statement.int64(2), code: QuarantineCode(rawValue: statement.text(3)) ?? .badPayload,
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
public final class ReadModelCursor {
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
    public func cursor(projection: String) throws(StoreError) -> ReadModelCursor {
        ReadModelCursor(statement: try connection.prepare("SELECT id, data, version FROM \(quoteIdentifier(projection)) ORDER BY id"))
    }
}
