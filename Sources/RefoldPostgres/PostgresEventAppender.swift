import Foundation
import RefoldCore
import RefoldStore

/// Appends to a Laravel event table in PostgreSQL: the next version under the unique
/// `(aggregate_uuid, aggregate_version)` index (a racing writer's insert fails with
/// `unique_violation` and becomes a conflict), `RETURNING id` for the position.
public final class PostgresEventAppender: EventAppender {
    public let layout: EventTableLayout
    private let connection: PostgresConnection
    private let extras: Set<String>
    private let aggregateType: String

    public init(_ database: DatabaseLocation, layout: EventTableLayout = EventTableLayout()) throws(StoreError) {
        let source = try PostgresEventSource(database, layout: layout)  // checks table, columns, types
        self.layout = layout
        aggregateType = source.aggregateIsUUID ? "uuid" : "text"
        connection = try PostgresConnection(database)
        extras = Set(try PostgresEventSource.columnTypes(connection, table: layout.table).keys).intersection(["event_version", "meta_data", "created_at"])
    }

    private var table: String { quotePostgresIdentifier(layout.table) }

    public func currentVersion(of aggregate: String) throws(StoreError) -> Int64 {
        try connection.scalarInt("""
            SELECT max(\(quotePostgresIdentifier(layout.version))) FROM \(table) WHERE \(quotePostgresIdentifier(layout.aggregate)) = $1::\(aggregateType)
            """, [aggregate]) ?? 0
    }

    public func append(_ event: NewEvent, expected: Int64?) throws(StoreError) -> AppendOutcome {
        guard let aggregate = event.aggregate else { throw StoreError(.badInput, "an appended event needs an aggregate id.") }
        if aggregateType == "uuid", !Self.isUUID(aggregate) {
            throw StoreError(.badInput, "aggregate id \"\(aggregate)\" is not a UUID, and \(layout.aggregate) is a uuid column (pass an id like 0b6e…-…).")
        }
        try connection.execute("BEGIN")
        do throws(StoreError) {
            let current = try currentVersion(of: aggregate)
            if let expected, expected != current {
                try connection.execute("ROLLBACK")
                return .conflict(current: current)
            }
            var columns = [layout.aggregate, layout.version, layout.eventClass, layout.payload]
            var values: [String?] = [aggregate, String(current + 1), event.eventClass, event.payload]
            var casts = ["::\(aggregateType)", "", "", ""]
            if extras.contains("event_version") { columns.append("event_version"); values.append("1"); casts.append("") }
            if extras.contains("meta_data") { columns.append("meta_data"); values.append(event.metaData); casts.append("") }
            let placeholders = zip(1...values.count, casts).map { "$\($0)\($1)" }
                + (extras.contains("created_at") ? ["now()"] : [])
            if extras.contains("created_at") { columns.append("created_at") }
            let position: Int64
            do {
                position = try connection.scalarInt("""
                    INSERT INTO \(table) (\(columns.map(quotePostgresIdentifier).joined(separator: ", "))) VALUES (\(placeholders.joined(separator: ", ")))
                    RETURNING \(quotePostgresIdentifier(layout.id))
                    """, values) ?? 0
            } catch {
                try? connection.execute("ROLLBACK")
                if PostgresConnection.sqlState(of: error) == "23505" { return .conflict(current: try currentVersion(of: aggregate)) }
                throw error
            }
            try connection.execute("COMMIT")
            return .appended(version: current + 1, position: position)
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    static func isUUID(_ text: String) -> Bool {
        PostgresDatasetWriter.uuidBytes(text) != nil && text.utf8.count == 36
    }
}
