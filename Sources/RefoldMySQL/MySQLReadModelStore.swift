import Foundation
import RefoldCore
import RefoldStore

/// Read models in MySQL or MariaDB: the same tables and rules as the other stores, in the
/// database's natural types (`id varchar(255) … utf8mb4_bin` so ids sort byte for byte,
/// `data json` — on MariaDB a checked `longtext` — `version bigint`, `updated_at datetime(6)`).
///
/// - Rows are written in bulk: multi-row `INSERT … ON DUPLICATE KEY UPDATE` whose assignments
///   keep the higher version (a write never lowers a version; a retried task is harmless).
/// - **The swap.** MySQL commits before any DDL, so renames cannot share a transaction with the
///   checkpoint. Refold renames first — one atomic `RENAME TABLE live TO old, shadow TO live`
///   (or `shadow TO live` for a first build, after recording a provisional checkpoint at
///   position 0) — then records checkpoint and quarantine list in one transaction, then drops
///   the old table. A crash between leaves the new table under the previous checkpoint: the
///   next catch-up re-reads events the rows already reflect and skips them by version.
public final class MySQLReadModelStore: ReadModelStore {
    public let database: DatabaseLocation
    public var location: String { database.description }
    public let isReadOnly: Bool
    private var supportTablesSeen: Set<String> = []
    let connection: MySQLConnection

    static let tableOptions = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

    static let supportTables: [(name: String, columns: [String], create: String)] = [
        ("refold_checkpoints", ["projection", "position", "job", "projection_version", "updated_at"], """
            CREATE TABLE IF NOT EXISTS refold_checkpoints (
              projection varchar(64) NOT NULL PRIMARY KEY, position bigint NOT NULL, job varchar(255) NOT NULL,
              projection_version int NOT NULL, updated_at datetime NOT NULL) \(tableOptions)
            """),
        ("refold_quarantine", ["projection", "aggregate", "version", "position", "code", "reason", "job", "recorded_at"], """
            CREATE TABLE IF NOT EXISTS refold_quarantine (
              projection varchar(64) NOT NULL, aggregate varchar(255) NOT NULL, version bigint NULL, position bigint NOT NULL,
              code varchar(64) NOT NULL, reason text NOT NULL, job varchar(255) NOT NULL, recorded_at datetime NOT NULL,
              PRIMARY KEY (projection, job, aggregate)) \(tableOptions)
            """),
        ("refold_locks", ["projection", "owner", "job", "expires_at", "host", "pid", "redis"], """
            CREATE TABLE IF NOT EXISTS refold_locks (
              projection varchar(64) NOT NULL PRIMARY KEY, owner varchar(255) NOT NULL, job varchar(255) NOT NULL,
              expires_at bigint NOT NULL, host varchar(255) NOT NULL DEFAULT '', pid int NOT NULL DEFAULT 0,
              redis varchar(1024) NOT NULL DEFAULT '') \(tableOptions)
            """),
    ]

    /// The longest projection name: MySQL identifiers are at most 64 characters, and the
    /// derived names add `__refold_backup_<yyyyMMddTHHmmss>` (31).
    static let longestProjection = 64 - "__refold_backup_20260101T000000".count

    public init(_ database: DatabaseLocation) throws(StoreError) {
        self.database = database
        isReadOnly = false
        connection = try MySQLConnection(database)
        try Self.checkSupportTables(connection, location: database)
        for table in Self.supportTables { try connection.execute(table.create) }
    }

    public init(readOnly database: DatabaseLocation) throws(StoreError) {
        self.database = database
        isReadOnly = true
        connection = try MySQLConnection(database)
        try connection.execute("SET SESSION TRANSACTION READ ONLY")
        try Self.checkSupportTables(connection, location: database)
    }

    static func checkSupportTables(_ connection: MySQLConnection, location: DatabaseLocation) throws(StoreError) {
        for table in supportTables {
            let present = try MySQLEventSource.columns(connection, table: table.name)
            guard !present.isEmpty else { continue }
            let missing = table.columns.filter { present[$0] == nil }
            if !missing.isEmpty {
                throw StoreError(.badInput, "table \(table.name) in \(location) is not Refold's (it lacks \(missing.joined(separator: ", "))); Refold will not use or change it — keep read models in another database (--read-models).")
            }
        }
    }

    static func validate(projection: String) throws(StoreError) {
        try ReadModelNames.validate(projection: projection)
        guard projection.count <= longestProjection else {
            throw StoreError(.badInput, "projection name \"\(projection)\" is too long for MySQL (at most \(longestProjection) characters, so Refold's derived table names fit in 64).")
        }
    }

    private func quoted(_ name: String) -> String { quoteMySQLIdentifier(name) }

    /// `BASE TABLE`, `VIEW`, `SYSTEM VERSIONED`, `SEQUENCE` …, or nil.
    func relationKind(_ name: String) throws(StoreError) -> String? {
        try connection.scalar("SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", [name])
    }

    /// Whether Refold's support table exists. Once seen it is remembered: support tables are
    /// never dropped, and the live path asks before every write (one catalog query saved per pass).
    func hasSupportTable(_ name: String) throws(StoreError) -> Bool {
        if supportTablesSeen.contains(name) { return true }
        guard try relationKind(name) == "BASE TABLE" else { return false }
        supportTablesSeen.insert(name)
        return true
    }


    public func objectKind(_ name: String) throws(StoreError) -> String? {
        try relationKind(name).map { $0 == "BASE TABLE" ? "table" : $0.lowercased() }
    }

    public func columnNames(of table: String) throws(StoreError) -> [String] {
        try MySQLEventSource.columns(connection, table: table).keys.sorted()
    }

    public static func preflight(_ database: DatabaseLocation, projection: String, replaceForeign: Bool, ownLock: String? = nil) throws(StoreError) -> String? {
        try validate(projection: projection)
        let store = try MySQLReadModelStore(readOnly: database)
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
            CREATE TABLE \(quoted(shadow)) (id varchar(255) NOT NULL PRIMARY KEY, data json NOT NULL, version bigint NOT NULL,
              updated_at datetime(6) NOT NULL) \(Self.tableOptions)
            """)
    }

    public func hasShadow(projection: String) throws(StoreError) -> Bool {
        try relationKind(ReadModelNames.shadowTable(projection)) == "BASE TABLE"
    }

    public func dropShadow(projection: String) throws(StoreError) {
        try Self.validate(projection: projection)
        try connection.execute("DROP TABLE IF EXISTS \(quoted(ReadModelNames.shadowTable(projection)))")
    }

    public func shadowCounts(projection: String, job: String, range: AggregateRange) throws(StoreError) -> (rows: Int64, quarantined: Int64) {
        var predicate = "%@ >= ?"
        var bounds: [String?] = [String(decoding: range.lower ?? [], as: UTF8.self)]
        if let upper = range.upper {
            predicate += " AND %@ < ?"
            bounds.append(String(decoding: upper, as: UTF8.self))
        }
        func on(_ column: String) -> String { predicate.replacingOccurrences(of: "%@", with: column) }
        let rows = try connection.scalarInt("SELECT COUNT(*) FROM \(quoted(ReadModelNames.shadowTable(projection))) WHERE \(on("id"))", bounds) ?? 0
        let quarantined = try connection.scalarInt(
            "SELECT COUNT(*) FROM refold_quarantine WHERE \(on("aggregate")) AND projection = ? AND job = ?", bounds + [projection, job]) ?? 0
        return (rows, quarantined)
    }

    /// Upserts `rows` in multi-row statements of about 1 MB; a row changes only to a higher version.
    private func upsert(rows: [FoldedRow], into table: String) throws(StoreError) {
        let name = quoted(table)
        let head = "INSERT INTO \(name) (id, data, version, updated_at) VALUES "
        // Assignments run left to right: data and updated_at compare with the old version first.
        let tail = """
             ON DUPLICATE KEY UPDATE data = IF(VALUES(version) > version, VALUES(data), data),
              updated_at = IF(VALUES(version) > version, VALUES(updated_at), updated_at), version = GREATEST(version, VALUES(version))
            """
        var statement = head
        var count = 0
        func flush() throws(StoreError) {
            guard count > 0 else { return }
            try connection.execute(statement + tail)
            statement = head
            count = 0
        }
        for row in rows {
            if count > 0 { statement += "," }
            statement += "(\(connection.literal(String(decoding: row.aggregate, as: UTF8.self))),\(connection.literal(String(decoding: row.data, as: UTF8.self))),\(row.version),UTC_TIMESTAMP(6))"
            count += 1
            if statement.utf8.count > 1 << 20 { try flush() }
        }
        try flush()
    }

    private func insertQuarantine(_ records: [QuarantineRecord], projection: String, job: String) throws(StoreError) {
        for record in records {
            try connection.execute("""
                INSERT INTO refold_quarantine (projection, aggregate, version, position, code, reason, job, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP())
                ON DUPLICATE KEY UPDATE version = VALUES(version), position = VALUES(position), code = VALUES(code),
                  reason = VALUES(reason), recorded_at = VALUES(recorded_at)
                """, [projection, record.aggregate, record.version.map(String.init), String(record.position), record.code.rawValue, record.reason, job])
        }
    }

    private func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try connection.execute("START TRANSACTION")
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
            try upsert(rows: rows, into: table)
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
        var keptAs: String?
        let old = "\(projection)__refold_old"
        try connection.execute("DROP TABLE IF EXISTS \(quoted(old))")
        let hadCheckpoint = try checkpoint(projection: projection) != nil
        func recordCheckpoint(_ position: Int64) throws(StoreError) {
            try connection.execute("""
                INSERT INTO refold_checkpoints (projection, position, job, projection_version, updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP())
                ON DUPLICATE KEY UPDATE position = VALUES(position), job = VALUES(job), projection_version = VALUES(projection_version),
                  updated_at = VALUES(updated_at)
                """, [projection, String(position), job, String(projectionVersion)])
        }
        switch try modelTableState(projection: projection) {
        case .absent:
            // A first build: the table will be Refold's from the moment it appears.
            if !hadCheckpoint { try recordCheckpoint(0) }
            try connection.execute("RENAME TABLE \(quoted(shadow)) TO \(quoted(projection))")
        case .refolds:
            try connection.execute("RENAME TABLE \(quoted(projection)) TO \(quoted(old)), \(quoted(shadow)) TO \(quoted(projection))")
        case .foreign(let why):
            guard let backup = keepForeignAs else {
                throw StoreError(.badInput, ReadModelNames.foreignTableMessage(projection, location: location, why: why))
            }
            if try relationKind(backup) != nil {
                throw StoreError(.badInput, "cannot keep \(projection) as \(backup) in \(location): that name is taken; nothing was changed.")
            }
            try connection.execute("RENAME TABLE \(quoted(projection)) TO \(quoted(backup)), \(quoted(shadow)) TO \(quoted(projection))")
            keptAs = backup
        }
        try transaction { () throws(StoreError) in
            try recordCheckpoint(head)
            try connection.execute("DELETE FROM refold_quarantine WHERE projection = ? AND job <> ?", [projection, job])
        }
        try connection.execute("DROP TABLE IF EXISTS \(quoted(old))")
        return keptAs
    }

    // MARK: What is there

    public func checkpoint(projection: String) throws(StoreError) -> (position: Int64, job: String, projectionVersion: Int)? {
        guard try hasSupportTable("refold_checkpoints") else { return nil }
        guard let row = try connection.query("SELECT position, job, projection_version FROM refold_checkpoints WHERE projection = ?", [projection]).values.first,
              let position = row[0].flatMap({ Int64($0) }), let job = row[1], let version = row[2].flatMap({ Int($0) })
        else { return nil }
        return (position, job, version)
    }

    public func checkpoints() throws(StoreError) -> [(projection: String, position: Int64, job: String, updatedAt: String)] {
        guard try hasSupportTable("refold_checkpoints") else { return [] }
        return try connection.query("""
            SELECT projection, position, job, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s') FROM refold_checkpoints ORDER BY projection
            """).values.compactMap { row in
            guard let name = row[0], let position = row[1].flatMap({ Int64($0) }), let job = row[2] else { return nil }
            return (name, position, job, row[3] ?? "")
        }
    }

    private func records(_ rows: MySQLRows) -> [QuarantineRecord] {
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
            SELECT aggregate, version, position, code, reason FROM refold_quarantine WHERE projection = ? AND job = ? ORDER BY aggregate
            """, [projection, job]))
    }

    public func hasModel(projection: String) throws(StoreError) -> Bool {
        try relationKind(projection) == "BASE TABLE"
    }

    public func cursor(projection: String) throws(StoreError) -> any ReadModelCursor {
        MySQLReadModelCursor(connection: connection, table: quoted(projection))
    }

    // MARK: The live table

    public func row(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64)? {
        guard let row = try connection.query("SELECT data, version FROM \(quoted(projection)) WHERE id = ?", [String(decoding: aggregate, as: UTF8.self)]).values.first,
              let data = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
        return (Array(data.utf8), version)
    }

    public func liveRow(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64, updatedAt: String)? {
        guard let row = try connection.query("SELECT data, version, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s') FROM \(quoted(projection)) WHERE id = ?",
                                             [String(decoding: aggregate, as: UTF8.self)]).values.first,
              let data = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
        return (Array(data.utf8), version, row[2] ?? "")
    }

    private func versions(table: String, ids: [String], lock: Bool) throws(StoreError) -> [String: Int64] {
        guard !ids.isEmpty else { return [:] }
        var out: [String: Int64] = [:]
        for start in stride(from: 0, to: ids.count, by: 1000) {
            let slice = ids[start..<min(ids.count, start + 1000)]
            let list = slice.map(connection.literal).joined(separator: ",")
            for row in try connection.query("SELECT id, version FROM \(quoted(table)) WHERE id IN (\(list))\(lock ? " FOR UPDATE" : "")").values {
                if let id = row[0], let version = row[1].flatMap({ Int64($0) }) { out[id] = version }
            }
        }
        return out
    }

    public func versions(projection: String, aggregates: [[UInt8]]) throws(StoreError) -> [[UInt8]: Int64] {
        var out: [[UInt8]: Int64] = [:]
        for (id, version) in try versions(table: projection, ids: aggregates.map { String(decoding: $0, as: UTF8.self) }, lock: false) {
            out[Array(id.utf8)] = version
        }
        return out
    }

    public func quarantineRecord(projection: String, aggregate: String) throws(StoreError) -> QuarantineRecord? {
        guard let job = try checkpoint(projection: projection)?.job else { return nil }
        return records(try connection.query("""
            SELECT aggregate, version, position, code, reason FROM refold_quarantine WHERE projection = ? AND job = ? AND aggregate = ?
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
                let holder = try connection.scalar("SELECT job FROM refold_locks WHERE projection = ? LOCK IN SHARE MODE", [projection])
                guard holder == fence else {
                    throw StoreError(.locked, "the live lock of \(projection) was taken over by another runner; this one stops writing.")
                }
            }
            if !rows.isEmpty {
                // The stored versions, locked: exactly the rows that advance are written.
                let stored = try versions(table: projection, ids: rows.map { String(decoding: $0.aggregate, as: UTF8.self) }, lock: true)
                let advancing = rows.filter { row in stored[String(decoding: row.aggregate, as: UTF8.self)].map { row.version > $0 } ?? true }
                try upsert(rows: advancing, into: projection)
                result.advanced = advancing.map { ($0.aggregate, $0.version) }
            }
            try insertQuarantine(quarantined, projection: projection, job: model.job)
            for aggregate in healed {
                try connection.execute("DELETE FROM refold_quarantine WHERE projection = ? AND job = ? AND aggregate = ?", [projection, model.job, aggregate])
            }
            if let checkpoint, checkpoint.to > checkpoint.from {
                let moved = try connection.query("UPDATE refold_checkpoints SET position = ?, updated_at = UTC_TIMESTAMP() WHERE projection = ? AND position = ?",
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
        // The row exists before it is locked, so two first takers cannot both insert.
        try connection.execute("INSERT IGNORE INTO refold_locks (projection, owner, job, expires_at) VALUES (?, '', '', 0)", [projection])
        return try transaction { () throws(StoreError) -> LockHolder? in
            let existing = try lockHolder(projection: projection, forUpdate: true)
            if let existing, existing.blocks(job: job, now: now) {
                throw StoreError(.locked, existing.busyMessage(projection: projection, now: now))
            }
            try connection.execute("UPDATE refold_locks SET owner = ?, job = ?, expires_at = ?, host = ?, pid = ?, redis = ? WHERE projection = ?",
                                   [owner, job, String(now + seconds), ProcessInfo.processInfo.hostName, String(getpid()), redis, projection])
            return existing.flatMap { $0.job == job || $0.job.isEmpty ? nil : $0 }
        }
    }

    public func renewLock(projection: String, job: String, seconds: Int64) throws(StoreError) {
        let now = Int64(Date().timeIntervalSince1970)
        // CLIENT_FOUND_ROWS is not set: a renewal within the same second changes nothing, so
        // count the row instead of trusting affected rows.
        try connection.execute("UPDATE refold_locks SET expires_at = ? WHERE projection = ? AND job = ?", [String(now + seconds), projection, job])
        guard try connection.scalarInt("SELECT COUNT(*) FROM refold_locks WHERE projection = ? AND job = ?", [projection, job]) == 1 else {
            throw StoreError(.locked, "the rebuild lock of \(projection) was taken over by another run.")
        }
    }

    public func releaseLock(projection: String, job: String) throws(StoreError) {
        try connection.execute("DELETE FROM refold_locks WHERE projection = ? AND job = ?", [projection, job])
    }

    private func lockHolder(projection: String, forUpdate: Bool) throws(StoreError) -> LockHolder? {
        guard try hasSupportTable("refold_locks") else { return nil }
        guard let row = try connection.query("SELECT job, owner, expires_at, host, pid, redis FROM refold_locks WHERE projection = ?\(forUpdate ? " FOR UPDATE" : "")", [projection]).values.first,
              let job = row[0], !job.isEmpty, let owner = row[1], let expires = row[2].flatMap({ Int64($0) }) else { return nil }
        return LockHolder(job: job, owner: owner, expiresAt: expires, host: row[3] ?? "", pid: row[4].flatMap { Int32($0) } ?? 0, redis: row[5] ?? "")
    }

    public func lockHolder(projection: String) throws(StoreError) -> LockHolder? {
        try lockHolder(projection: projection, forUpdate: false)
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
        try connection.execute("DELETE FROM refold_quarantine WHERE projection = ? AND job = ?", [projection, job])
    }

    public func execute(_ sql: String) throws(StoreError) {
        try connection.execute(sql)
    }

    public func count(_ sql: String) throws(StoreError) -> Int64 {
        try connection.scalarInt(sql) ?? 0
    }
}

/// The live rows in id (byte) order, fetched in pages of 10,000 by keyset.
final class MySQLReadModelCursor: ReadModelCursor {
    private let connection: MySQLConnection
    private let table: String
    private var page: [(id: [UInt8], data: [UInt8], version: Int64)] = []
    private var index = 0
    private var last: String?
    private var done = false

    init(connection: MySQLConnection, table: String) {
        self.connection = connection
        self.table = table
    }

    func next() throws(StoreError) -> (id: [UInt8], data: [UInt8], version: Int64)? {
        if index == page.count {
            guard !done else { return nil }
            let rows = try connection.query(last == nil
                ? "SELECT id, data, version FROM \(table) ORDER BY id LIMIT 10000"
                : "SELECT id, data, version FROM \(table) WHERE id > ? ORDER BY id LIMIT 10000", last.map { [$0] } ?? [])
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
