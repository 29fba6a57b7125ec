import Foundation
import RefoldCore

/// Writes events as a new SQLite file with exactly the table and indexes Laravel's migration
/// creates for `stored_events` (`refold generate` feeds it the order workload generator).
public enum SQLiteDatasetWriter {
    /// The schema of spatie/laravel-event-sourcing's migration, as Laravel emits it for SQLite.
    public static let laravelSchema = """
        CREATE TABLE "stored_events" ("id" integer primary key autoincrement not null, "aggregate_uuid" varchar, \
        "aggregate_version" integer, "event_version" integer not null default '1', "event_class" varchar not null, \
        "event_properties" text not null, "meta_data" text not null, "created_at" datetime not null);
        """
    public static let laravelIndexes = """
        CREATE INDEX "stored_events_aggregate_uuid_index" on "stored_events" ("aggregate_uuid");
        CREATE UNIQUE INDEX "stored_events_aggregate_uuid_aggregate_version_unique" on "stored_events" ("aggregate_uuid", "aggregate_version");
        CREATE INDEX "stored_events_event_class_index" on "stored_events" ("event_class");
        """

    /// Writes `events` to `path` (which must not exist), one a second from 2024-01-01 00:00:00
    /// UTC, positions 1, 2, 3 …; the file appears only when complete.
    @discardableResult
    public static func write<Events: Sequence>(_ events: Events, to path: String, progress: (Int) -> Void = { _ in }) throws(StoreError) -> Int where Events.Element == NewEvent {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.badInput, "\(path) already exists; refold generate never overwrites a database (remove it or pick another path).")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: directory) else {
            throw StoreError(.badInput, "the folder \(directory) does not exist (create it first).")
        }
        let temporary = path + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let connection = try SQLiteConnection(path: temporary, readOnly: false, create: true)
            try connection.execute("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -131072")
            try connection.execute(laravelSchema)
            try connection.execute("BEGIN")
            let insert = try connection.prepare("""
                INSERT INTO stored_events (aggregate_uuid, aggregate_version, event_version, event_class, event_properties, meta_data, created_at)
                VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)
                """)
            var count = 0
            var day = -1
            var dayText = ""
            for event in events {
                // One event a second from 2024-01-01 00:00:00 UTC.
                let second = count
                if second / 86_400 != day {
                    day = second / 86_400
                    dayText = dateText(daysAfter2024: day)
                }
                let within = second % 86_400
                let created = dayText + String(format: " %02d:%02d:%02d", within / 3600, within / 60 % 60, within % 60)
                try insert.run([
                    event.aggregate.map { .text($0) } ?? .null, event.version.map { .int($0) } ?? .null,
                    .text(event.eventClass), .text(event.payload), .text(event.metaData), .text(created),
                ])
                count += 1
                if count % 100_000 == 0 { progress(count) }
            }
            try connection.execute("COMMIT")
            try connection.execute(laravelIndexes)
            try connection.execute("PRAGMA journal_mode = DELETE")
            progress(count)
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
            return count
        } catch let error as StoreError {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw StoreError(.infrastructure, "could not write \(path): \(error)")
        }
    }

    static func dateText(daysAfter2024 days: Int) -> String {
        var year = 2024
        var remaining = days
        while true {
            let length = (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365
            if remaining < length { break }
            remaining -= length
            year += 1
        }
        let leap = (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        let months = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 0
        while remaining >= months[month] {
            remaining -= months[month]
            month += 1
        }
        return String(format: "%04d-%02d-%02d", year, month + 1, remaining + 1)
    }
}
