import Foundation
import RefoldCore
import RefoldStore

/// Writes events into a PostgreSQL database as the `stored_events` table of
/// spatie/laravel-event-sourcing's migration on PostgreSQL (`id bigserial`, `aggregate_uuid
/// uuid`, `event_properties json`, `created_at timestamp(0)`, the same three indexes), loaded
/// with binary `COPY`, indexed after loading, in one transaction: the table appears complete
/// or not at all. A table of that name already there is never touched.
public enum PostgresDatasetWriter {
    /// The table as Laravel's migration creates it on PostgreSQL. `payloadType` is `json`,
    /// or `text` when the dataset has malformed payloads (a `json` column rejects them, so the
    /// same nasty dataset could not exist on every database otherwise).
    public static func schema(payloadType: String) -> String {
        """
        CREATE TABLE stored_events (id bigserial PRIMARY KEY, aggregate_uuid uuid NULL, aggregate_version bigint NULL,
          event_version smallint NOT NULL DEFAULT 1, event_class varchar(255) NOT NULL, event_properties \(payloadType) NOT NULL,
          meta_data json NOT NULL, created_at timestamp(0) NOT NULL)
        """
    }

    public static let indexes = [
        "CREATE INDEX stored_events_aggregate_uuid_index ON stored_events (aggregate_uuid)",
        "CREATE UNIQUE INDEX stored_events_aggregate_uuid_aggregate_version_unique ON stored_events (aggregate_uuid, aggregate_version)",
        "CREATE INDEX stored_events_event_class_index ON stored_events (event_class)",
    ]

    /// Microseconds from 2000-01-01 (PostgreSQL's epoch) to 2024-01-01 00:00:00.
    static let start2024: Int64 = 8766 * 86_400 * 1_000_000

    @discardableResult
    public static func write<Events: Sequence>(
        _ events: Events, to database: DatabaseLocation, textPayload: Bool, progress: (Int) -> Void = { _ in }
    ) throws(StoreError) -> Int where Events.Element == NewEvent {
        let connection = try PostgresConnection(database)
        if try connection.scalar("SELECT to_regclass('stored_events')::text") != nil {
            throw StoreError(.badInput, "\(database) already has a table stored_events; refold generate never overwrites a table (use another database).")
        }
        try connection.execute("BEGIN")
        do throws(StoreError) {
            try connection.execute(schema(payloadType: textPayload ? "text" : "json"))
            var writer = PostgresBinaryWriter()
            var count = 0
            func flush() throws(StoreError) {
                writer.finish()
                try connection.copyIn("""
                    COPY stored_events (id, aggregate_uuid, aggregate_version, event_version, event_class, event_properties, meta_data, created_at)
                    FROM STDIN (FORMAT binary)
                    """, writer.data)
                writer = PostgresBinaryWriter()
            }
            for event in events {
                count += 1
                writer.startRow(fields: 8)
                writer.int64(Int64(count))
                if let aggregate = event.aggregate, let bytes = uuidBytes(aggregate) { writer.raw(bytes) } else { writer.null() }
                if let version = event.version { writer.int64(version) } else { writer.null() }
                writer.int16(1)
                writer.text(Array(event.eventClass.utf8))
                writer.text(Array(event.payload.utf8))
                writer.text(Array(event.metaData.utf8))
                writer.int64(start2024 + Int64(count - 1) * 1_000_000)
                if count % 100_000 == 0 {
                    try flush()
                    progress(count)
                }
            }
            try flush()
            try connection.execute("SELECT setval(pg_get_serial_sequence('stored_events', 'id'), greatest(\(count), 1), \(count > 0))")
            for index in indexes { try connection.execute(index) }
            try connection.execute("COMMIT")
            try connection.execute("ANALYZE stored_events")
            progress(count)
            return count
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// The 16 bytes of a UUID's text form (nil when it is not one).
    static func uuidBytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8?
        for character in text.utf8 where character != UInt8(ascii: "-") {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                out.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return out.count == 16 && high == nil ? out : nil
    }
}
