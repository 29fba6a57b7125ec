import Foundation
import RefoldCore

/// Appends events to a Laravel event table, with optimistic concurrency: the unique
/// `(aggregate_uuid, aggregate_version)` index decides between racing writers, and a
/// conflict writes nothing. This writes the user's event table — only `refold append` does,
/// when asked to.
public final class SQLiteEventAppender: EventAppender {
    public let path: String
    public let layout: EventTableLayout
    private let connection: SQLiteConnection
    /// The Laravel columns beyond the five Refold reads that this table has.
    private let extras: Set<String>

    public typealias Outcome = AppendOutcome

    public init(path: String, layout: EventTableLayout = EventTableLayout()) throws(StoreError) {
        // Checks the table and columns (read-only) before opening it for writing.
        _ = try SQLiteEventSource(path: path, layout: layout)
        self.path = path
        self.layout = layout
        connection = try SQLiteConnection(path: path, readOnly: false)
        let info = try connection.prepare("SELECT name FROM pragma_table_info(?1)")
        try info.bind([.text(layout.table)])
        var names: Set<String> = []
        while try info.step() { names.insert(info.text(0)) }
        extras = names.intersection(["event_version", "meta_data", "created_at"])
    }

    /// The aggregate's highest version now (0: no events).
    public func currentVersion(of aggregate: String) throws(StoreError) -> Int64 {
        try connection.scalarInt("SELECT max(\(quoteIdentifier(layout.version))) FROM \(quoteIdentifier(layout.table)) WHERE \(quoteIdentifier(layout.aggregate)) = ?1", [.text(aggregate)]) ?? 0
    }

    /// Appends `event` at the aggregate's next version, or at `expected + 1` only if the
    /// aggregate is at `expected` now.
    public func append(_ event: NewEvent, expected: Int64?) throws(StoreError) -> Outcome {
        guard let aggregate = event.aggregate else { throw StoreError(.badInput, "an appended event needs an aggregate id.") }
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let current = try currentVersion(of: aggregate)
            if let expected, expected != current {
                try connection.execute("ROLLBACK")
                return .conflict(current: current)
            }
            var columns = [layout.aggregate, layout.version, layout.eventClass, layout.payload]
            var values: [SQLiteValue] = [.text(aggregate), .int(current + 1), .text(event.eventClass), .text(event.payload)]
            if extras.contains("event_version") { columns.append("event_version"); values.append(.int(1)) }
            if extras.contains("meta_data") { columns.append("meta_data"); values.append(.text(event.metaData)) }
            if extras.contains("created_at") { columns.append("created_at"); values.append(.text(SQLiteReadModelStore.timestamp())) }
            let placeholders = (1...values.count).map { "?\($0)" }.joined(separator: ", ")
            let insert = try connection.prepare("INSERT INTO \(quoteIdentifier(layout.table)) (\(columns.map(quoteIdentifier).joined(separator: ", "))) VALUES (\(placeholders))")
            do {
                try insert.run(values)
            } catch {
                try? connection.execute("ROLLBACK")
                if error.message.contains("UNIQUE") { return .conflict(current: try currentVersion(of: aggregate)) }
                throw error
            }
            let position = try connection.scalarInt("SELECT last_insert_rowid()") ?? 0
            try connection.execute("COMMIT")
            return .appended(version: current + 1, position: position)
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
