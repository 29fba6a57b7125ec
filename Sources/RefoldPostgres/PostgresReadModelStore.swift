import Foundation
import RefoldCore
import RefoldStore

/// Read models in PostgreSQL, in the connection's current schema: the same tables and rules as
/// `SQLiteReadModelStore`, in PostgreSQL's natural types (`data jsonb`, `version bigint`,
/// `updated_at timestamptz`, ids `text COLLATE "C"` so they sort byte for byte).
///
/// - Rows are written in bulk: a binary `COPY` into a temporary staging table, then one
///   `INSERT … SELECT … ON CONFLICT (id) DO UPDATE … WHERE excluded.version > version`
///   (a write never lowers a version, so a retried task is harmless).
/// - The shadow is `UNLOGGED` while it is built (no WAL for rows that a crash would discard
///   anyway); the swap makes it `LOGGED`, drops the old live table (or keeps a foreign one
///   under a backup name), renames, and records checkpoint and quarantine list, all in one
///   transaction.
public final class PostgresReadModelStore: ReadModelStore {
    public let database: DatabaseLocation
    public var location: String { database.description }
    public let isReadOnly: Bool
    private var supportTablesSeen: Set<String> = []
    let connection: PostgresConnection

    static let supportTables: [(name: String, columns: [String], create: String)] = [
        ("refold_checkpoints", ["projection", "position", "job", "projection_version", "updated_at"], """
            CREATE TABLE IF NOT EXISTS refold_checkpoints (
              projection text PRIMARY KEY, position bigint NOT NULL, job text NOT NULL,
              projection_version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())
            """),
        ("refold_quarantine", ["projection", "aggregate", "version", "position", "code", "reason", "job", "recorded_at"], """
            CREATE TABLE IF NOT EXISTS refold_quarantine (
              projection text NOT NULL, aggregate text COLLATE "C" NOT NULL, version bigint, position bigint NOT NULL,
              code text NOT NULL, reason text NOT NULL, job text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
              PRIMARY KEY (projection, job, aggregate))
            """),
        ("refold_locks", ["projection", "owner", "job", "expires_at", "host", "pid", "redis"], """
            CREATE TABLE IF NOT EXISTS refold_locks (
              projection text PRIMARY KEY, owner text NOT NULL, job text NOT NULL, expires_at bigint NOT NULL,
              host text NOT NULL DEFAULT '', pid integer NOT NULL DEFAULT 0, redis text NOT NULL DEFAULT '')
            """),
    ]

    /// PostgreSQL truncates identifiers at 63 bytes; the longest name Refold derives is a kept
    /// foreign table's (`<projection>__refold_backup_<yyyyMMddTHHmmss>`).
    static let longestProjection = 63 - "__refold_backup_20260101T000000".utf8.count

    /// Connects for writing and creates Refold's support tables (serialized by an advisory
    /// lock, so two first runs at once do not collide). Refuses `refold_*` tables of another shape.
    public init(_ database: DatabaseLocation) throws(StoreError) {
        self.database = database
        isReadOnly = false
        connection = try PostgresConnection(database)
        try Self.checkSupportTables(connection, location: database)
        try connection.execute("BEGIN")
        do throws(StoreError) {
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext('refold support tables'))")
            for table in Self.supportTables { try connection.execute(table.create) }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Connects read-only (`default_transaction_read_only`): creates and writes nothing.
    public init(readOnly database: DatabaseLocation) throws(StoreError) {
        self.database = database
        isReadOnly = true
        connection = try PostgresConnection(database)
        try connection.execute("SET default_transaction_read_only = on")
        try Self.checkSupportTables(connection, location: database)
    }

    static func checkSupportTables(_ connection: PostgresConnection, location: DatabaseLocation) throws(StoreError) {
        for table in supportTables {
            let present = try PostgresEventSource.columnTypes(connection, table: table.name)
            guard !present.isEmpty else { continue }
            let missing = table.columns.filter { present[$0] == nil }
            if !missing.isEmpty {
                throw StoreError(.badInput, "table \(table.name) in \(location) is not Refold's (it lacks \(missing.joined(separator: ", "))); Refold will not use or change it — keep read models in another database (--read-models).")
            }
        }
    }

    static func validate(projection: String) throws(StoreError) {
        try ReadModelNames.validate(projection: projection)
        guard projection.utf8.count <= longestProjection else {
            throw StoreError(.badInput, "projection name \"\(projection)\" is too long for PostgreSQL (at most \(longestProjection) characters, so Refold's derived names fit in 63 bytes).")
        }
    }

    private func quoted(_ name: String) -> String { quotePostgresIdentifier(name) }

    /// The kind of relation of this name (`r` table, `v` view, `m` materialized view, `i` index, …), or nil.
    func relationKind(_ name: String) throws(StoreError) -> String? {
        try connection.scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [quoted(name)])
    }

    static func kindName(_ kind: String) -> String {
        switch kind {
        case "r", "p": return "table"
        case "v": return "view"
        case "m": return "materialized view"
        case "i", "I": return "index"
        case "S": return "sequence"
        case "f": return "foreign table"
        default: return "relation"
        }
    }

    /// Whether Refold's support table exists. Once seen it is remembered: support tables are
    /// never dropped, and the live path asks before every write (one catalog query saved per pass).
    func hasSupportTable(_ name: String) throws(StoreError) -> Bool {
        if supportTablesSeen.contains(name) { return true }
        guard try relationKind(name) == "r" else { return false }
        supportTablesSeen.insert(name)
        return true
    }


    public func objectKind(_ name: String) throws(StoreError) -> String? {
        try relationKind(name).map(Self.kindName)
    }

    public func columnNames(of table: String) throws(StoreError) -> [String] {
        try PostgresEventSource.columnTypes(connection, table: table).keys.sorted()
    }

    public static func preflight(_ database: DatabaseLocation, projection: String, replaceForeign: Bool, ownLock: String? = nil) throws(StoreError) -> String? {
        try validate(projection: projection)
        let store = try PostgresReadModelStore(readOnly: database)
        return try store.rebuildTargetChecks(projection: projection, replaceForeign: replaceForeign, ownLock: ownLock)
    }

    // MARK: Rebuilds

    public func createShadow(projection: String) throws(StoreError) {
        try Self.validate(projection: projection)
        let shadow = ReadModelNames.shadowTable(projection)
        if case .foreign(let why) = try objectState(shadow) {
            throw StoreError(.badInput, ReadModelNames.foreignShadowMessage(shadow, location: location, why: why))
        }
        try connection.execute("DROP TABLE IF EXISTS \(quoted(shadow))")
        try connection.execute("""
            CREATE UNLOGGED TABLE \(quoted(shadow)) (
              id text COLLATE "C" NOT NULL, data jsonb NOT NULL, version bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
              CONSTRAINT \(quoted(shadow + "_pkey")) PRIMARY KEY (id))
            """)
    }

    public func hasShadow(projection: String) throws(StoreError) -> Bool {
        try relationKind(ReadModelNames.shadowTable(projection)) == "r"
    }

    public func dropShadow(projection: String) throws(StoreError) {
        try Self.validate(projection: projection)
        try connection.execute("DROP TABLE IF EXISTS \(quoted(ReadModelNames.shadowTable(projection)))")
    }

    public func shadowCounts(projection: String, job: String, range: AggregateRange) throws(StoreError) -> (rows: Int64, quarantined: Int64) {
        func within(_ column: String) -> String {
            "\(column) >= $1" + (range.upper == nil ? " AND $2::text IS NULL" : " AND \(column) < $2")
        }
        let bounds: [String?] = [String(decoding: range.lower ?? [], as: UTF8.self), range.upper.map { String(decoding: $0, as: UTF8.self) }]
        let rows = try connection.scalarInt("SELECT count(*) FROM \(quoted(ReadModelNames.shadowTable(projection))) WHERE \(within("id"))", bounds) ?? 0
        let quarantined = try connection.scalarInt(
            "SELECT count(*) FROM refold_quarantine WHERE \(within("aggregate")) AND projection = $3 AND job = $4", bounds + [projection, job]) ?? 0
        return (rows, quarantined)
    }

    /// Stages `rows` with a binary COPY into a temporary table and upserts them into `table`
    /// by the version rule; returns the (id, version) of the rows that advanced.
    private func upsert(rows: [FoldedRow], into table: String) throws(StoreError) -> [(aggregate: [UInt8], version: Int64)] {
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS refold_stage (id text, data text, version bigint) ON COMMIT DELETE ROWS")
        var writer = PostgresBinaryWriter()
        for row in rows {
            writer.startRow(fields: 3)
            writer.text(row.aggregate)
            writer.text(row.data)
            writer.int64(row.version)
        }
        writer.finish()
        try connection.copyIn("COPY refold_stage (id, data, version) FROM STDIN (FORMAT binary)", writer.data)
        let name = quoted(table)
        let result = try connection.query("""
            INSERT INTO \(name) AS t (id, data, version, updated_at) SELECT id, data::jsonb, version, now() FROM refold_stage
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version, updated_at = excluded.updated_at
            WHERE excluded.version > t.version
            RETURNING id, version
            """)
        return result.values.compactMap { row in
            guard let id = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
            return (Array(id.utf8), version)
        }
    }

    private func insertQuarantine(_ records: [QuarantineRecord], projection: String, job: String) throws(StoreError) {
        for record in records {
            try connection.execute("""
                INSERT INTO refold_quarantine (projection, aggregate, version, position, code, reason, job, recorded_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, now())
                ON CONFLICT (projection, job, aggregate) DO UPDATE SET version = excluded.version, position = excluded.position,
                  code = excluded.code, reason = excluded.reason, recorded_at = excluded.recorded_at
                """, [projection, record.aggregate, record.version.map(String.init), String(record.position), record.code.rawValue, record.reason, job])
        }
    }

    private func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.execute("BEGIN")
        do throws(StoreError) {
            let value = try body()
            try connection.execute("COMMIT")
            return value
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    public func write(rows: [FoldedRow], quarantined: [QuarantineRecord], table: String, projection: String, job: String) throws(StoreError) {
        guard !rows.isEmpty || !quarantined.isEmpty else { return }
        try transaction { () throws(StoreError) in
            if !rows.isEmpty { _ = try upsert(rows: rows, into: table) }
            try insertQuarantine(quarantined, projection: projection, job: job)
        }
    }

    @discardableResult
    public func swapIn(projection: String, job: String, head: Int64, projectionVersion: Int, keepForeignAs: String?) throws(StoreError) -> String? {
        try Self.validate(projection: projection)
        guard try hasShadow(projection: projection) else {
            throw StoreError(.infrastructure, "the shadow table of \(projection) vanished before the swap (was another rebuild started by hand?).")
        }
        let shadow = ReadModelNames.shadowTable(projection)
        return try transaction { () throws(StoreError) -> String? in
            // Swaps of this database take turns; decided inside the transaction.
            try connection.execute("LOCK TABLE refold_checkpoints IN SHARE ROW EXCLUSIVE MODE")
            var keptAs: String?
            switch try modelTableState(projection: projection) {
            case .absent:
                break
            case .refolds:
                try connection.execute("DROP TABLE \(quoted(projection))")
            case .foreign(let why):
                guard let backup = keepForeignAs else {
                    throw StoreError(.badInput, ReadModelNames.foreignTableMessage(projection, location: location, why: why))
                }
                if try relationKind(backup) != nil {
                    throw StoreError(.badInput, "cannot keep \(projection) as \(backup) in \(location): that name is taken; nothing was changed.")
                }
                try connection.execute("ALTER TABLE \(quoted(projection)) RENAME TO \(quoted(backup))")
                keptAs = backup
            }
            try connection.execute("ALTER TABLE \(quoted(shadow)) SET LOGGED")
            try connection.execute("ALTER TABLE \(quoted(shadow)) RENAME TO \(quoted(projection))")
            try connection.execute("ALTER TABLE \(quoted(projection)) RENAME CONSTRAINT \(quoted(shadow + "_pkey")) TO \(quoted(projection + "__refold_pkey"))")
            try connection.execute("""
                INSERT INTO refold_checkpoints (projection, position, job, projection_version, updated_at) VALUES ($1, $2, $3, $4, now())
                ON CONFLICT (projection) DO UPDATE SET position = excluded.position, job = excluded.job,
                  projection_version = excluded.projection_version, updated_at = excluded.updated_at
                """, [projection, String(head), job, String(projectionVersion)])
            try connection.execute("DELETE FROM refold_quarantine WHERE projection = $1 AND job <> $2", [projection, job])
            return keptAs
        }
    }

    // MARK: What is there

    public func checkpoint(projection: String) throws(StoreError) -> (position: Int64, job: String, projectionVersion: Int)? {
        guard try hasSupportTable("refold_checkpoints") else { return nil }
        guard let row = try connection.query("SELECT position, job, projection_version FROM refold_checkpoints WHERE projection = $1", [projection]).values.first,
              let position = row[0].flatMap({ Int64($0) }), let job = row[1], let version = row[2].flatMap({ Int($0) })
        else { return nil }
        return (position, job, version)
    }

    public func checkpoints() throws(StoreError) -> [(projection: String, position: Int64, job: String, updatedAt: String)] {
        guard try hasSupportTable("refold_checkpoints") else { return [] }
        return try connection.query("""
            SELECT projection, position, job, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') FROM refold_checkpoints ORDER BY projection
            """).values.compactMap { row in
            guard let name = row[0], let position = row[1].flatMap({ Int64($0) }), let job = row[2] else { return nil }
            return (name, position, job, row[3] ?? "")
        }
    }

    private func records(_ rows: PostgresRows) -> [QuarantineRecord] {
        rows.values.compactMap { row in
            guard let aggregate = row[0], let position = row[2].flatMap({ Int64($0) }), let code = row[3] else { return nil }
            return QuarantineRecord(aggregate: aggregate, version: row[1].flatMap { Int64($0) }, position: position,
                                    code: QuarantineCode(rawValue: code), reason: row[4] ?? "")
        }
    }

    public func quarantined(projection: String, job: String?) throws(StoreError) -> [QuarantineRecord] {
        guard try hasSupportTable("refold_quarantine") else { return [] }
        let current = try checkpoint(projection: projection)?.job
        guard let job = job ?? current else { return [] }
        return records(try connection.query("""
            SELECT aggregate, version, position, code, reason FROM refold_quarantine WHERE projection = $1 AND job = $2 ORDER BY aggregate
            """, [projection, job]))
    }

    public func hasModel(projection: String) throws(StoreError) -> Bool {
        try relationKind(projection) == "r"
    }

    public func cursor(projection: String) throws(StoreError) -> any ReadModelCursor {
        try PostgresReadModelCursor(connection: connection, table: quoted(projection))
    }

    // MARK: The live table

    public func row(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64)? {
        guard let row = try connection.query("SELECT data::text, version FROM \(quoted(projection)) WHERE id = $1", [String(decoding: aggregate, as: UTF8.self)]).values.first,
              let data = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
        return (Array(data.utf8), version)
    }

    public func liveRow(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64, updatedAt: String)? {
        guard let row = try connection.query("SELECT data::text, version, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') FROM \(quoted(projection)) WHERE id = $1",
                                             [String(decoding: aggregate, as: UTF8.self)]).values.first,
              let data = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
        return (Array(data.utf8), version, row[2] ?? "")
    }

    public func versions(projection: String, aggregates: [[UInt8]]) throws(StoreError) -> [[UInt8]: Int64] {
        guard !aggregates.isEmpty else { return [:] }
        let ids = aggregates.map { String(decoding: $0, as: UTF8.self) }
        var out: [[UInt8]: Int64] = [:]
        for row in try connection.query("SELECT id, version FROM \(quoted(projection)) WHERE id = ANY($1::text[])", [Self.textArray(ids)]).values {
            if let id = row[0], let version = row[1].flatMap({ Int64($0) }) { out[Array(id.utf8)] = version }
        }
        return out
    }

    /// A PostgreSQL array literal of texts (each quoted and escaped).
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
    }

    public func quarantineRecord(projection: String, aggregate: String) throws(StoreError) -> QuarantineRecord? {
        guard let job = try checkpoint(projection: projection)?.job else { return nil }
        return records(try connection.query("""
            SELECT aggregate, version, position, code, reason FROM refold_quarantine WHERE projection = $1 AND job = $2 AND aggregate = $3
            """, [projection, job, aggregate])).first
    }

    @discardableResult
    public func applyLive(
        projection: String, rows: [FoldedRow], quarantined: [QuarantineRecord], healed: [String],
        checkpoint: (from: Int64, to: Int64)?, fence: String?
    ) throws(StoreError) -> LiveWrite {
        guard let model = try self.checkpoint(projection: projection) else {
            throw StoreError(.badInput, "\(projection) has no checkpoint in \(location): rebuild it first (refold rebuild \(projection) --events …).")
        }
        return try transaction { () throws(StoreError) -> LiveWrite in
            var result = LiveWrite()
            if let fence {
                // The row lock keeps the fence valid until this transaction ends.
                let holder = try connection.scalar("SELECT job FROM refold_locks WHERE projection = $1 FOR SHARE", [projection])
                guard holder == fence else {
                    throw StoreError(.locked, "the live lock of \(projection) was taken over by another runner; this one stops writing.")
                }
            }
            if !rows.isEmpty { result.advanced = try upsert(rows: rows, into: projection) }
            try insertQuarantine(quarantined, projection: projection, job: model.job)
            if !healed.isEmpty {
                try connection.execute("DELETE FROM refold_quarantine WHERE projection = $1 AND job = $2 AND aggregate = ANY($3::text[])",
                                       [projection, model.job, Self.textArray(healed)])
            }
            if let checkpoint, checkpoint.to > checkpoint.from {
                let moved = try connection.query("UPDATE refold_checkpoints SET position = $1, updated_at = now() WHERE projection = $2 AND position = $3",
                                                 [String(checkpoint.to), projection, String(checkpoint.from)]).affected
                guard moved == 1 else {
                    throw StoreError(.locked, "the checkpoint of \(projection) moved while this run applied events (another catch-up or live runner?); nothing was written.")
                }
                result.checkpointMoved = true
            }
            return result
        }
    }

    // MARK: Locks

    @discardableResult
    public func acquireLock(projection: String, job: String, owner: String, seconds: Int64, redis: String) throws(StoreError) -> LockHolder? {
        let now = Int64(Date().timeIntervalSince1970)
        return try transaction { () throws(StoreError) -> LockHolder? in
            try connection.execute("LOCK TABLE refold_locks IN SHARE ROW EXCLUSIVE MODE")
            let existing = try lockHolder(projection: projection)
            if let existing, existing.blocks(job: job, now: now) {
                throw StoreError(.locked, existing.busyMessage(projection: projection, now: now))
            }
            try connection.execute("""
                INSERT INTO refold_locks (projection, owner, job, expires_at, host, pid, redis) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (projection) DO UPDATE SET owner = excluded.owner, job = excluded.job, expires_at = excluded.expires_at,
                  host = excluded.host, pid = excluded.pid, redis = excluded.redis
                """, [projection, owner, job, String(now + seconds), ProcessInfo.processInfo.hostName, String(getpid()), redis])
            return existing.flatMap { $0.job == job ? nil : $0 }
        }
    }

    public func renewLock(projection: String, job: String, seconds: Int64) throws(StoreError) {
        let now = Int64(Date().timeIntervalSince1970)
        let renewed = try connection.query("UPDATE refold_locks SET expires_at = $1 WHERE projection = $2 AND job = $3",
                                           [String(now + seconds), projection, job]).affected
        if renewed == 0 {
            throw StoreError(.locked, "the rebuild lock of \(projection) was taken over by another run.")
        }
    }

    public func releaseLock(projection: String, job: String) throws(StoreError) {
        try connection.execute("DELETE FROM refold_locks WHERE projection = $1 AND job = $2", [projection, job])
    }

    public func lockHolder(projection: String) throws(StoreError) -> LockHolder? {
        guard try hasSupportTable("refold_locks") else { return nil }
        guard let row = try connection.query("SELECT job, owner, expires_at, host, pid, redis FROM refold_locks WHERE projection = $1", [projection]).values.first,
              let job = row[0], let owner = row[1], let expires = row[2].flatMap({ Int64($0) }) else { return nil }
        return LockHolder(job: job, owner: owner, expiresAt: expires, host: row[3] ?? "", pid: row[4].flatMap { Int32($0) } ?? 0, redis: row[5] ?? "")
    }

    public func locks() throws(StoreError) -> [(projection: String, holder: LockHolder)] {
        guard try hasSupportTable("refold_locks") else { return [] }
        var out: [(projection: String, holder: LockHolder)] = []
        for row in try connection.query("SELECT projection FROM refold_locks ORDER BY projection").values {
            if let name = row[0], let holder = try lockHolder(projection: name) { out.append((name, holder)) }
        }
        return out
    }

    public func discardQuarantine(projection: String, job: String) throws(StoreError) {
        try connection.execute("DELETE FROM refold_quarantine WHERE projection = $1 AND job = $2", [projection, job])
    }

    public func execute(_ sql: String) throws(StoreError) {
        try connection.execute(sql)
    }

    public func count(_ sql: String) throws(StoreError) -> Int64 {
        try connection.scalarInt(sql) ?? 0
    }
}

/// The live rows in id (byte) order, fetched in pages of 10,000 by keyset.
final class PostgresReadModelCursor: ReadModelCursor {
    private let connection: PostgresConnection
    private let table: String
    private var page: [(id: [UInt8], data: [UInt8], version: Int64)] = []
    private var index = 0
    private var last: String?
    private var done = false

    init(connection: PostgresConnection, table: String) throws(StoreError) {
        self.connection = connection
        self.table = table
    }

    func next() throws(StoreError) -> (id: [UInt8], data: [UInt8], version: Int64)? {
        if index == page.count {
            guard !done else { return nil }
            let rows = try connection.query("""
                SELECT id, data::text, version FROM \(table) WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT 10000
                """, [last])
            page = rows.values.compactMap { row in
                guard let id = row[0], let data = row[1], let version = row[2].flatMap({ Int64($0) }) else { return nil }
                return (Array(id.utf8), Array(data.utf8), version)
            }
            index = 0
            done = page.count < 10_000
            guard let final = page.last else { return nil }
            last = String(decoding: final.id, as: UTF8.self)
        }
        defer { index += 1 }
        return page[index]
    }
}
