import Foundation
import RefoldCore
import RefoldStore

/// Writes events into a MySQL/MariaDB database as the `stored_events` table of
/// spatie/laravel-event-sourcing's migration on MySQL (`id bigint unsigned auto_increment`,
/// `aggregate_uuid char(36)`, `json` payloads — a checked `longtext` on MariaDB — the same three
/// indexes, `utf8mb4_unicode_ci` as Laravel sets it), loaded with multi-row inserts in one
/// transaction, indexed after loading. A table of that name already there is never touched;
/// on failure the table this run created is dropped (MySQL cannot roll back DDL).
public enum MySQLDatasetWriter {
    public static func schema(payloadType: String) -> String {
        """
        CREATE TABLE stored_events (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, aggregate_uuid char(36) NULL,
          aggregate_version bigint unsigned NULL, event_version tinyint unsigned NOT NULL DEFAULT 1, event_class varchar(255) NOT NULL,
          event_properties \(payloadType) NOT NULL, meta_data json NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)
          ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
        """
    }

    public static let indexes = """
        ALTER TABLE stored_events ADD INDEX stored_events_aggregate_uuid_index (aggregate_uuid),
          ADD UNIQUE INDEX stored_events_aggregate_uuid_aggregate_version_unique (aggregate_uuid, aggregate_version),
          ADD INDEX stored_events_event_class_index (event_class)
        """

    @discardableResult
    public static func write<Events: Sequence>(
        _ events: Events, to database: DatabaseLocation, textPayload: Bool, progress: (Int) -> Void = { _ in }
    ) throws(StoreError) -> Int where Events.Element == NewEvent {
        let connection = try MySQLConnection(database)
        if try connection.scalar("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'stored_events'") != nil {
            throw StoreError(.badInput, "\(database) already has a table stored_events; refold generate never overwrites a table (use another database).")
        }
        try connection.execute(schema(payloadType: textPayload ? "longtext" : "json"))
        do throws(StoreError) {
            try connection.execute("START TRANSACTION")
            let head = "INSERT INTO stored_events (id, aggregate_uuid, aggregate_version, event_version, event_class, event_properties, meta_data, created_at) VALUES "
            var statement = head
            var inStatement = 0
            var count = 0
            let start = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01 00:00:00 UTC
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
            for event in events {
                count += 1
                if inStatement > 0 { statement += "," }
                let created = formatter.string(from: start.addingTimeInterval(Double(count - 1)))
                statement += "(\(count),\(event.aggregate.map(connection.literal) ?? "NULL"),\(event.version.map(String.init) ?? "NULL"),1,"
                statement += "\(connection.literal(event.eventClass)),\(connection.literal(event.payload)),\(connection.literal(event.metaData)),'\(created)')"
                inStatement += 1
                if inStatement == 2000 {
                    try connection.execute(statement)
                    statement = head
                    inStatement = 0
                }
                if count % 100_000 == 0 { progress(count) }
            }
            if inStatement > 0 { try connection.execute(statement) }
            try connection.execute("COMMIT")
            try connection.execute(indexes)
            progress(count)
            return count
        } catch {
            try? connection.execute("ROLLBACK")
            try? connection.execute("DROP TABLE IF EXISTS stored_events")
            throw error
        }
    }
}
