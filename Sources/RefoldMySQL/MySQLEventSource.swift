import Foundation
import RefoldCore
import RefoldStore

/// Reads a Laravel event table from MySQL or MariaDB.
///
/// - **Bulk reads** stream one statement per range with `mysql_use_result` (no client-side
///   buffering); InnoDB's consistent read blocks no writer, so there are no chunks to reset.
///   `afterChunk` runs about every `chunkEvents` events at an aggregate boundary.
/// - **Order.** Laravel's `char(36)` column usually has a case-insensitive collation
///   (`utf8mb4_unicode_ci`), but the contract compares ids byte for byte: plan boundaries,
///   range bounds and the order within a range all use `COLLATE <charset>_bin`, the same
///   order the read models, the result checks and `verify` use. (Bounds in the column's own
///   collation could use its index, but put ids that differ in case on different sides of a
///   boundary than the read models do.)
public final class MySQLEventSource: EventSource {
    public let layout: EventTableLayout
    public let database: DatabaseLocation
    public var location: String { database.description }
    let connection: MySQLConnection
    /// The aggregate column compared byte for byte (`x COLLATE <charset>_bin`, or the column
    /// itself when its collation is already binary).
    let byteOrder: String

    public struct Column: Sendable {
        public let type: String
        public let charset: String?
        public let collation: String?
    }

    public init(_ database: DatabaseLocation, layout: EventTableLayout = EventTableLayout()) throws(StoreError) {
        self.database = database
        self.layout = layout
        connection = try MySQLConnection(database)
        let columns = try Self.columns(connection, table: layout.table)
        guard !columns.isEmpty else {
            throw StoreError(.badInput, "table \"\(layout.table)\" not found in \(database) (set --events-table, or check the database in the URL).")
        }
        let missing = layout.columns.filter { columns[$0.name] == nil }
        if !missing.isEmpty {
            let names = missing.map { "\"\($0.name)\"" }.joined(separator: ", ")
            let flags = missing.map(\.flag).joined(separator: ", ")
            throw StoreError(.badInput, "table \"\(layout.table)\" in \(database) is not an event table: column\(missing.count > 1 ? "s" : "") \(names) missing (set \(flags), or --events-table).")
        }
        let integers: Set<String> = ["bigint", "int", "mediumint", "smallint", "tinyint"]
        let texts: Set<String> = ["char", "varchar", "text", "tinytext", "mediumtext", "longtext"]
        func require(_ column: String, _ allowed: Set<String>, _ what: String) throws(StoreError) {
            let type = columns[column]?.type ?? ""
            guard allowed.contains(type) else {
                throw StoreError(.badInput, "column \"\(column)\" of \"\(layout.table)\" in \(database) is \(type), not \(what) (Refold reads the Laravel layout; check the column flags).")
            }
        }
        try require(layout.id, integers, "an integer")
        try require(layout.aggregate, texts, "char or varchar")
        try require(layout.version, integers, "an integer")
        try require(layout.eventClass, texts, "text")
        try require(layout.payload, texts.union(["json"]), "json or text")
        let aggregate = columns[layout.aggregate]!
        let name = quoteMySQLIdentifier(layout.aggregate)
        if let collation = aggregate.collation, !collation.hasSuffix("_bin"), let charset = aggregate.charset {
            byteOrder = "\(name) COLLATE \(charset)_bin"
        } else {
            byteOrder = name
        }
    }

    /// Column name → type of a table in the connection's database (empty: no table).
    static func columns(_ connection: MySQLConnection, table: String) throws(StoreError) -> [String: Column] {
        let rows = try connection.query("""
            SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
            """, [table])
        var out: [String: Column] = [:]
        for row in rows.values {
            if let name = row[0], let type = row[1] { out[name] = Column(type: type.lowercased(), charset: row[2], collation: row[3]) }
        }
        return out
    }

    private var table: String { quoteMySQLIdentifier(layout.table) }
    private var id: String { quoteMySQLIdentifier(layout.id) }
    private var aggregate: String { quoteMySQLIdentifier(layout.aggregate) }
    private var version: String { quoteMySQLIdentifier(layout.version) }
    private var columnList: String {
        [layout.id, layout.aggregate, layout.version, layout.eventClass, layout.payload].map(quoteMySQLIdentifier).joined(separator: ", ")
    }

    /// Bounds compared byte for byte, like the ids in the read models and the result checks
    /// (a case-insensitive collation would put "A…" and "a…" on the same side of a boundary
    /// here and on different sides there); `?` for each bound given.
    private func rangePredicate(_ range: AggregateRange) -> (String, [String?]) {
        var parts = ["\(aggregate) IS NOT NULL"]
        var values: [String?] = []
        if let lower = range.lower, !lower.isEmpty {
            parts.append("\(byteOrder) >= ?")
            values.append(String(decoding: lower, as: UTF8.self))
        }
        if let upper = range.upper {
            parts.append("\(byteOrder) < ?")
            values.append(String(decoding: upper, as: UTF8.self))
        }
        return (parts.joined(separator: " AND "), values)
    }

    public func headPosition() throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT MAX(\(id)) FROM \(table)") ?? 0
    }

    public func plan(tasks: Int) throws(StoreError) -> PartitionPlan {
        let total = try connection.scalarInt("SELECT COUNT(\(aggregate)) FROM \(table)") ?? 0
        guard tasks > 1, total > 0 else {
            return PartitionPlan(ranges: [AggregateRange(lower: nil, upper: nil, estimatedEvents: total)], totalEvents: total)
        }
        let step = max(1, (total + Int64(tasks) - 1) / Int64(tasks))
        let rows = try connection.query("""
            SELECT a, rn FROM (
              SELECT \(aggregate) AS a, ROW_NUMBER() OVER (ORDER BY \(byteOrder)) AS rn FROM \(table) WHERE \(aggregate) IS NOT NULL
            ) s WHERE MOD(rn, ?) = 1 AND rn > 1 ORDER BY rn
            """, [String(step)])
        let samples: [(id: [UInt8], before: Int64)] = rows.values.compactMap { row in
            guard let key = row[0], let rank = row[1].flatMap({ Int64($0) }) else { return nil }
            return (Array(key.utf8), rank - 1)
        }
        return PartitionPlan.fromSamples(samples, total: total)
    }

    public func countEvents(range: AggregateRange, head: Int64) throws(StoreError) -> Int64 {
        let (predicate, values) = rangePredicate(range)
        return try connection.scalarInt("SELECT COUNT(*) FROM \(table) WHERE \(predicate) AND \(id) <= ?", values + [String(head)]) ?? 0
    }

    public func read(
        range: AggregateRange, head: Int64, into fold: any EventFold, chunkEvents: Int,
        keepGoing: (Int) -> Bool, afterChunk: () throws(StoreError) -> Void
    ) throws -> Int {
        let (predicate, values) = rangePredicate(range)
        var total = 0
        var inChunk = 0
        var current: [UInt8] = []
        var stoppedByCaller = false
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        try connection.stream("""
            SELECT \(columnList) FROM \(table) WHERE \(predicate) AND \(id) <= ? ORDER BY \(byteOrder), \(version), \(id)
            """, values + [String(head)]) { fields throws -> Bool in
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
                position: mysqlInteger(position), aggregate: aggregateBytes, version: fields[2].map(mysqlInteger),
                eventClass: fields[3] ?? empty, payload: fields[4] ?? empty))
            inChunk += 1
            total += 1
            if total & 4095 == 0, !keepGoing(total) {
                stoppedByCaller = true
                return false
            }
            return true
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
                SELECT \(columnList) FROM \(table) WHERE \(id) > ? AND \(id) <= ? AND \(aggregate) IS NOT NULL ORDER BY \(id) LIMIT \(max(1, chunk))
                """, [String(cursor), String(through)])
        }
    }

    public func events(after: Int64, through: Int64, range: AggregateRange) throws(StoreError) -> [StoredEvent] {
        let (predicate, values) = rangePredicate(range)
        return try storedEvents("""
            SELECT \(columnList) FROM \(table) WHERE \(predicate) AND \(id) > ? AND \(id) <= ? ORDER BY \(id)
            """, values + [String(after), String(through)])
    }

    public func events(ofAggregate aggregateID: [UInt8], fromVersion: Int64) throws(StoreError) -> [StoredEvent] {
        try storedEvents("""
            SELECT \(columnList) FROM \(table) WHERE \(aggregate) = ? AND (\(version) >= ? OR \(version) IS NULL) ORDER BY \(version), \(id)
            """, [String(decoding: aggregateID, as: UTF8.self), String(fromVersion)])
    }

    public func deltaAggregates(after: Int64, through: Int64) throws(StoreError) -> [(aggregate: [UInt8], events: Int64)] {
        try connection.query("""
            SELECT \(aggregate), COUNT(*) FROM \(table) WHERE \(id) > ? AND \(id) <= ? AND \(aggregate) IS NOT NULL
            GROUP BY \(aggregate) ORDER BY \(aggregate)
            """, [String(after), String(through)]).values.compactMap { row in
            guard let key = row[0], let count = row[1].flatMap({ Int64($0) }) else { return nil }
            return (Array(key.utf8), count)
        }
    }

    public func countEvents(after: Int64, through: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT COUNT(*) FROM \(table) WHERE \(id) > ? AND \(id) <= ? AND \(aggregate) IS NOT NULL", [String(after), String(through)]) ?? 0
    }

    private static func list(_ positions: [Int64]) -> String { positions.map(String.init).joined(separator: ",") }

    public func events(at positions: [Int64]) throws(StoreError) -> [StoredEvent] {
        guard !positions.isEmpty else { return [] }
        return try storedEvents("SELECT \(columnList) FROM \(table) WHERE \(id) IN (\(Self.list(positions))) AND \(aggregate) IS NOT NULL ORDER BY \(id)")
    }

    public func present(_ positions: [Int64]) throws(StoreError) -> Set<Int64> {
        guard !positions.isEmpty else { return [] }
        return Set(try connection.query("SELECT \(id) FROM \(table) WHERE \(id) IN (\(Self.list(positions)))").values.compactMap { $0[0].flatMap { Int64($0) } })
    }

    public func positions(after: Int64, through: Int64) throws(StoreError) -> [Int64] {
        try connection.query("SELECT \(id) FROM \(table) WHERE \(id) > ? AND \(id) <= ? ORDER BY \(id)", [String(after), String(through)])
            .values.compactMap { $0[0].flatMap { Int64($0) } }
    }

    public func countEvents(after position: Int64) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT COUNT(*) FROM \(table) WHERE \(id) > ? AND \(aggregate) IS NOT NULL", [String(position)]) ?? 0
    }

    public func createdAt(firstAfter position: Int64) -> String? {
        try? connection.scalar("SELECT DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM \(table) WHERE \(id) > ? ORDER BY \(id) LIMIT 1", [String(position)])
    }

    /// The highest committed position: it changes whenever a new event commits. (A commit into
    /// a lower position still missing is watched by the live service anyway, polled every pass.)
    public func dataVersion() throws(StoreError) -> Int64 {
        try headPosition()
    }

    /// `SUM(JSON_EXTRACT(event_properties, '$.qty'))` over the whole table in the server's own
    /// code; a text column with malformed JSON is guarded with `JSON_VALID`.
    public func jsonScanFloor() throws(StoreError) -> (seconds: Double, guarded: Bool) {
        let payload = quoteMySQLIdentifier(layout.payload)
        let start = Date()
        do {
            _ = try connection.scalar("SELECT SUM(JSON_EXTRACT(\(payload), '$.qty')) FROM \(table)")
            return (Date().timeIntervalSince(start), false)
        } catch {
            let guarded = Date()
            _ = try connection.scalar("SELECT SUM(IF(JSON_VALID(\(payload)), JSON_EXTRACT(\(payload), '$.qty'), NULL)) FROM \(table)")
            return (Date().timeIntervalSince(guarded), true)
        }
    }
}

extension Array where Element == UInt8 {
    func equals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        count == bytes.count && withUnsafeBytes { $0.elementsEqual(bytes) }
    }
}
