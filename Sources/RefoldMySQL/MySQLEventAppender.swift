import Foundation
import RefoldCore
import RefoldStore

/// Appends to a Laravel event table in MySQL/MariaDB: the next version under the unique
/// `(aggregate_uuid, aggregate_version)` index (a racing writer's insert fails with a duplicate
/// key and becomes a conflict); the position is the generated id.
public final class MySQLEventAppender: EventAppender {
    public let layout: EventTableLayout
    private let connection: MySQLConnection
    private let extras: Set<String>

    public init(_ database: DatabaseLocation, layout: EventTableLayout = EventTableLayout()) throws(StoreError) {
        _ = try MySQLEventSource(database, layout: layout)  // checks table, columns, types
        self.layout = layout
        connection = try MySQLConnection(database)
        extras = Set(try MySQLEventSource.columns(connection, table: layout.table).keys).intersection(["event_version", "meta_data", "created_at"])
    }

    private var table: String { quoteMySQLIdentifier(layout.table) }

    public func currentVersion(of aggregate: String) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT MAX(\(quoteMySQLIdentifier(layout.version))) FROM \(table) WHERE \(quoteMySQLIdentifier(layout.aggregate)) = ?", [aggregate]) ?? 0
    }

    public func append(_ event: NewEvent, expected: Int64?) throws(StoreError) -> AppendOutcome {
        guard let aggregate = event.aggregate else { throw StoreError(.badInput, "an appended event needs an aggregate id.") }
        let current = try currentVersion(of: aggregate)
        if let expected, expected != current { return .conflict(current: current) }
        var columns = [layout.aggregate, layout.version, layout.eventClass, layout.payload]
        var values: [String?] = [aggregate, String(current + 1), event.eventClass, event.payload]
        if extras.contains("event_version") { columns.append("event_version"); values.append("1") }
        if extras.contains("meta_data") { columns.append("meta_data"); values.append(event.metaData) }
        var placeholders = Array(repeating: "?", count: values.count)
        if extras.contains("created_at") { columns.append("created_at"); placeholders.append("UTC_TIMESTAMP()") }
        do {
            try connection.execute("INSERT INTO \(table) (\(columns.map(quoteMySQLIdentifier).joined(separator: ", "))) VALUES (\(placeholders.joined(separator: ", ")))", values)
        } catch {
            if MySQLConnection.errorCode(of: error) == 1062 { return .conflict(current: try currentVersion(of: aggregate)) }
            throw error
        }
        return .appended(version: current + 1, position: connection.lastInsertID)
    }
}
