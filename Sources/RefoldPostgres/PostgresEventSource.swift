import Foundation
import RefoldCore
import RefoldStore

/// Reads a Laravel event table from PostgreSQL, read-only (`default_transaction_read_only`).
///
/// - **Bulk reads** stream with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: one statement per
///   range, rows handed to the fold straight from libpq's buffer. MVCC means the long read
///   blocks no writer, so there are no chunks to reset; `afterChunk` still runs about every
///   `chunkEvents` events at an aggregate boundary, where the caller writes rows (on its own
///   connection).
/// - **Order.** A `uuid` column compares its 16 bytes, the same order as its lowercase text,
///   which is what the fold sees (`aggregate_uuid::text`). A text column is compared with
///   `COLLATE "C"` (byte order); give it an index with that collation for fast plans.
public final class PostgresEventSource: EventSource {
    public let layout: EventTableLayout
    public let database: DatabaseLocation
    public var location: String { database.description }
    let connection: PostgresConnection
    /// The aggregate column's type is `uuid` (else text-like, compared with `COLLATE "C"`).
    let aggregateIsUUID: Bool
    let payloadIsText: Bool

    /// Connects and checks that the table and its five columns exist with usable types.
    public init(_ database: DatabaseLocation, layout: EventTableLayout = EventTableLayout()) throws(StoreError) {
        self.database = database
        self.layout = layout
        connection = try PostgresConnection(database)
        // Reads sort each range in memory rather than on disk (per connection only).
        try connection.execute("SET default_transaction_read_only = on; SET work_mem = '64MB'")
        let columns = try Self.columnTypes(connection, table: layout.table)
        guard !columns.isEmpty else {
            throw StoreError(.badInput, "table \"\(layout.table)\" not found in \(database) (set --events-table, or check the database in the URL).")
        }
        let missing = layout.columns.filter { columns[$0.name] == nil }
        if !missing.isEmpty {
            let names = missing.map { "\"\($0.name)\"" }.joined(separator: ", ")
            let flags = missing.map(\.flag).joined(separator: ", ")
            throw StoreError(.badInput, "table \"\(layout.table)\" in \(database) is not an event table: column\(missing.count > 1 ? "s" : "") \(names) missing (set \(flags), or --events-table).")
        }
        let integers: Set<String> = ["bigint", "integer", "smallint"]
        let texts: Set<String> = ["text", "character varying", "character"]
        func require(_ column: String, _ allowed: Set<String>, _ what: String) throws(StoreError) {
            let type = columns[column] ?? ""
            guard allowed.contains(type) else {
                throw StoreError(.badInput, "column \"\(column)\" of \"\(layout.table)\" in \(database) is \(type), not \(what) (Refold reads the Laravel layout; check the column flags).")
            }
        }
        try require(layout.id, integers, "an integer")
        try require(layout.aggregate, texts.union(["uuid"]), "uuid or text")
        try require(layout.version, integers, "an integer")
        try require(layout.eventClass, texts, "text")
        try require(layout.payload, texts.union(["json", "jsonb"]), "json, jsonb or text")
        aggregateIsUUID = columns[layout.aggregate] == "uuid"
        payloadIsText = texts.contains(columns[layout.payload] ?? "")
        hasTrigger = try connection.scalarInt(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2",
            [quotePostgresIdentifier(layout.table), Self.triggerName]) == 1
    }

    // MARK: Refold's optional trigger (LISTEN/NOTIFY)

    /// Whether Refold's notify trigger is on the event table (then the live service sleeps until
    /// a commit notifies it instead of polling).
    public let hasTrigger: Bool
    private var listener: PostgresConnection?

    public static let triggerName = "refold_notify_insert"
    public static let channel = "refold_events"

    /// The SQL `refold trigger install` runs: a function and a statement-level trigger that
    /// notifies `refold_events` (delivered at commit) after inserts into the event table.
    public static func installSQL(layout: EventTableLayout) -> [String] {
        let table = quotePostgresIdentifier(layout.table)
        return [
            """
            CREATE OR REPLACE FUNCTION refold_notify_new_events() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_notify('\(channel)', TG_TABLE_NAME);
              RETURN NULL;
            END $$
            """,
            "DROP TRIGGER IF EXISTS \(triggerName) ON \(table)",
            "CREATE TRIGGER \(triggerName) AFTER INSERT ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION refold_notify_new_events()",
        ]
    }

    /// The SQL `refold trigger remove` runs.
    public static func removeSQL(layout: EventTableLayout) -> [String] {
        ["DROP TRIGGER IF EXISTS \(triggerName) ON \(quotePostgresIdentifier(layout.table))"]
    }

    /// Runs `statements` in one transaction on a connection of its own (this source is read-only).
    public static func run(_ statements: [String], on database: DatabaseLocation) throws(StoreError) {
        let connection = try PostgresConnection(database)
        try connection.execute("BEGIN")
        do throws(StoreError) {
            for statement in statements { try connection.execute(statement) }
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    public var wakeUp: String { hasTrigger ? "LISTEN \(Self.channel) (Refold's trigger)" : "polling" }
    public var wakesOnCommit: Bool { hasTrigger }

    public func waitForNewEvents(upTo seconds: Double) {
        guard hasTrigger else {
            Thread.sleep(forTimeInterval: seconds)
            return
        }
        if listener == nil {
            listener = try? PostgresConnection(database)
            if (try? listener?.listen(Self.channel)) == nil { listener = nil }
        }
        guard let listener else {
            Thread.sleep(forTimeInterval: seconds)
            return
        }
        _ = listener.waitForNotification(timeout: seconds)
    }

    /// Column name → data type of a table in the connection's search path (empty: no table).
    static func columnTypes(_ connection: PostgresConnection, table: String) throws(StoreError) -> [String: String] {
        let rows = try connection.query("""
            SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
            """, [quotePostgresIdentifier(table)])
        var out: [String: String] = [:]
        for row in rows.values { if let name = row[0], let type = row[1] { out[name] = type } }
        return out
    }

    private var table: String { quotePostgresIdentifier(layout.table) }
    private var id: String { quotePostgresIdentifier(layout.id) }
    private var aggregate: String { quotePostgresIdentifier(layout.aggregate) }
    private var version: String { quotePostgresIdentifier(layout.version) }
    /// The aggregate column as compared and ordered: bytes order either way.
    private var aggregateKey: String { aggregateIsUUID ? aggregate : "\(aggregate) COLLATE \"C\"" }
    /// A bound for the aggregate column.
    private func bound(_ bytes: [UInt8]) -> String {
        let text = connection.literal(String(decoding: bytes, as: UTF8.self))
        return aggregateIsUUID ? "\(text)::uuid" : text
    }
    private var parameterType: String { aggregateIsUUID ? "uuid" : "text" }

    private var columnList: String {
        // Aliased, so ORDER BY the column names the column, not its text (which would sort as text).
        "\(id) AS refold_id, \(aggregate)::text AS refold_aggregate, \(version) AS refold_version, \(quotePostgresIdentifier(layout.eventClass)) AS refold_class, \(quotePostgresIdentifier(layout.payload))::text AS refold_payload"
    }

    private func rangePredicate(_ range: AggregateRange) -> String {
        var parts = ["\(aggregate) IS NOT NULL"]
        if let lower = range.lower, !lower.isEmpty { parts.append("\(aggregateKey) >= \(bound(lower))") }
        if let upper = range.upper { parts.append("\(aggregateKey) < \(bound(upper))") }
        return parts.joined(separator: " AND ")
    }

    public func headPosition() throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT max(\(id)) FROM \(table)") ?? 0
    }

    /// Boundaries from the aggregate index alone: every `step`-th entry in index order.
    public func plan(tasks: Int) throws(StoreError) -> PartitionPlan {
        let total = try connection.scalarInt("SELECT count(\(aggregate)) FROM \(table)") ?? 0
        guard tasks > 1, total > 0 else {
            return PartitionPlan(ranges: [AggregateRange(lower: nil, upper: nil, estimatedEvents: total)], totalEvents: total)
        }
        let step = max(1, (total + Int64(tasks) - 1) / Int64(tasks))
        let rows = try connection.query("""
            SELECT a, rn FROM (
              SELECT \(aggregate)::text AS a, row_number() OVER (ORDER BY \(aggregateKey)) AS rn
              FROM \(table) WHERE \(aggregate) IS NOT NULL
            ) s WHERE rn % $1 = 1 AND rn > 1 ORDER BY rn
            """, [String(step)])
        let samples: [(id: [UInt8], before: Int64)] = rows.values.compactMap { row in
            guard let key = row[0], let rank = row[1].flatMap({ Int64($0) }) else { return nil }
            return (Array(key.utf8), rank - 1)
        }
        return PartitionPlan.fromSamples(samples, total: total)
    }

    public func countEvents(range: AggregateRange, head: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(rangePredicate(range)) AND \(id) <= $1", [String(head)]) ?? 0
    }

    public func read(
        range: AggregateRange, head: Int64, into fold: any EventFold, chunkEvents: Int,
        keepGoing: (Int) -> Bool, afterChunk: () throws(StoreError) -> Void
    ) throws -> Int {
        let sql = """
            COPY (SELECT \(columnList) FROM \(table) WHERE \(rangePredicate(range)) AND \(id) <= \(head)
                  ORDER BY \(aggregateKey), \(version) NULLS FIRST, \(id)) TO STDOUT (FORMAT binary)
            """
        var total = 0
        var inChunk = 0
        var current: [UInt8] = []
        var stoppedByCaller = false
        try connection.copyOut(sql) { (row: borrowing PostgresBinaryRow) throws -> Bool in
            try row.withFields { fields throws -> Bool in
                guard fields.count == 5, let position = fields[0], let aggregateBytes = fields[1] else { return true }
                if inChunk >= chunkEvents, !current.equals(aggregateBytes) {
                    try afterChunk()
                    inChunk = 0
                    guard keepGoing(total) else {
                        stoppedByCaller = true
                        return false
                    }
                }
                if !current.equals(aggregateBytes) { current = Array(aggregateBytes) }
                try fold.consume(EventView(
                    position: postgresInteger(position), aggregate: aggregateBytes,
                    version: fields[2].map(postgresInteger),
                    eventClass: fields[3] ?? UnsafeRawBufferPointer(start: nil, count: 0),
                    payload: fields[4] ?? UnsafeRawBufferPointer(start: nil, count: 0)))
                inChunk += 1
                total += 1
                if total & 4095 == 0, !keepGoing(total) {
                    stoppedByCaller = true
                    return false
                }
                return true
            }
        }
        if stoppedByCaller { throw StoreError(.stopped, "the read of \(location) was stopped") }
        fold.finish()
        try afterChunk()
        return total
    }

    // MARK: Catch-up reads

    private func storedEvents(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> [StoredEvent] {
        try connection.query(sql, parameters).values.compactMap(StoredEvent.init(textRow:))
    }

    public func events(after: Int64, through: Int64, chunk: Int) throws(StoreError) -> [StoredEvent] {
        try StoredEvent.paged(after: after, chunk: chunk) { (cursor: Int64) throws(StoreError) in
            try storedEvents("""
                SELECT \(columnList) FROM \(table) WHERE \(id) > $1 AND \(id) <= $2 AND \(aggregate) IS NOT NULL ORDER BY \(id) LIMIT $3
                """, [String(cursor), String(through), String(chunk)])
        }
    }

    public func events(after: Int64, through: Int64, range: AggregateRange) throws(StoreError) -> [StoredEvent] {
        try storedEvents("""
            SELECT \(columnList) FROM \(table) WHERE \(rangePredicate(range)) AND \(id) > $1 AND \(id) <= $2 ORDER BY \(id)
            """, [String(after), String(through)])
    }

    public func events(ofAggregate aggregateID: [UInt8], fromVersion: Int64) throws(StoreError) -> [StoredEvent] {
        try storedEvents("""
            SELECT \(columnList) FROM \(table) WHERE \(aggregate) = $1::\(parameterType) AND (\(version) >= $2 OR \(version) IS NULL)
            ORDER BY \(version) NULLS FIRST, \(id)
            """, [String(decoding: aggregateID, as: UTF8.self), String(fromVersion)])
    }

    public func deltaAggregates(after: Int64, through: Int64) throws(StoreError) -> [(aggregate: [UInt8], events: Int64)] {
        try connection.query("""
            SELECT \(aggregate)::text AS refold_aggregate, count(*) FROM \(table) WHERE \(id) > $1 AND \(id) <= $2 AND \(aggregate) IS NOT NULL
            GROUP BY \(aggregate) ORDER BY \(aggregateKey)
            """, [String(after), String(through)]).values.compactMap { row in
            guard let key = row[0], let count = row[1].flatMap({ Int64($0) }) else { return nil }
            return (Array(key.utf8), count)
        }
    }

    public func countEvents(after: Int64, through: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(id) > $1 AND \(id) <= $2 AND \(aggregate) IS NOT NULL", [String(after), String(through)]) ?? 0
    }

    public func events(at positions: [Int64]) throws(StoreError) -> [StoredEvent] {
        guard !positions.isEmpty else { return [] }
        return try storedEvents("""
            SELECT \(columnList) FROM \(table) WHERE \(id) = ANY($1::bigint[]) AND \(aggregate) IS NOT NULL ORDER BY \(id)
            """, ["{" + positions.map(String.init).joined(separator: ",") + "}"])
    }

    public func present(_ positions: [Int64]) throws(StoreError) -> Set<Int64> {
        guard !positions.isEmpty else { return [] }
        let rows = try connection.query("SELECT \(id) FROM \(table) WHERE \(id) = ANY($1::bigint[])", ["{" + positions.map(String.init).joined(separator: ",") + "}"])
        return Set(rows.values.compactMap { $0[0].flatMap { Int64($0) } })
    }

    public func positions(after: Int64, through: Int64) throws(StoreError) -> [Int64] {
        try connection.query("SELECT \(id) FROM \(table) WHERE \(id) > $1 AND \(id) <= $2 ORDER BY \(id)", [String(after), String(through)])
            .values.compactMap { $0[0].flatMap { Int64($0) } }
    }

    public func countEvents(after position: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT count(*) FROM \(table) WHERE \(id) > $1 AND \(aggregate) IS NOT NULL", [String(position)]) ?? 0
    }

    public func createdAt(firstAfter position: Int64) -> String? {
        try? connection.scalar("""
            SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM \(table) WHERE \(id) > $1 ORDER BY \(id) LIMIT 1
            """, [String(position)])
    }

    /// The cluster's current snapshot (`pg_current_snapshot()`): it changes whenever a writing
    /// transaction starts or ends anywhere, so an unchanged value means no new commit.
    public func dataVersion() throws(StoreError) -> Int64 {
        let text = try connection.scalar("SELECT pg_current_snapshot()::text") ?? ""
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return Int64(bitPattern: hash)
    }

    /// `sum((event_properties->>'qty')::numeric)` over the whole table in PostgreSQL's own code.
    /// A text payload column with malformed JSON cannot be cast: then the sum takes `qty` with
    /// a regular expression instead (`guarded`).
    public func jsonScanFloor() throws(StoreError) -> (seconds: Double, guarded: Bool) {
        let payload = quotePostgresIdentifier(layout.payload)
        let start = Date()
        do {
            _ = try connection.scalar("SELECT sum((\(payload)::json->>'qty')::numeric) FROM \(table)")
            return (Date().timeIntervalSince(start), false)
        } catch {
            let guarded = Date()
            _ = try connection.scalar("SELECT sum(substring(\(payload)::text from '\"qty\":(-?[0-9]+)[,}]')::numeric) FROM \(table)")
            return (Date().timeIntervalSince(guarded), true)
        }
    }
}

extension Array where Element == UInt8 {
    func equals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        count == bytes.count && withUnsafeBytes { $0.elementsEqual(bytes) }
    }
}
