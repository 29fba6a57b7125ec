import Foundation
import RefoldCore
import RefoldMySQL
import RefoldPostgres
import RefoldSQLite
import RefoldStore

/// Opens the store a location names: a SQLite path, a `postgres://` or a `mysql://` URL (`DatabaseLocation`).
/// The runners know only `EventSource` and `ReadModelStore`; this is the one place that picks
/// the engine.
public enum Stores {
    static func parse(_ location: String) throws(StoreError) -> DatabaseLocation {
        try DatabaseLocation(parsing: location)
    }

    /// The event table at `location`, checked (table, columns, types).
    public static func events(_ location: String, layout: EventTableLayout = EventTableLayout()) throws(StoreError) -> any EventSource {
        let parsed = try parse(location)
        switch parsed.kind {
        case .sqlite: return try SQLiteEventSource(path: parsed.path, layout: layout)
        case .postgres: return try PostgresEventSource(parsed, layout: layout)
        case .mysql: return try MySQLEventSource(parsed, layout: layout)
        }
    }

    /// The read-model database at `location`, for writing (a SQLite file is created when
    /// `create`; a server database must exist).
    public static func readModels(_ location: String, create: Bool = true) throws(StoreError) -> any ReadModelStore {
        let parsed = try parse(location)
        switch parsed.kind {
        case .sqlite: return try SQLiteReadModelStore(path: parsed.path, create: create)
        case .postgres: return try PostgresReadModelStore(parsed)
        case .mysql: return try MySQLReadModelStore(parsed)
        }
    }

    /// The read-model database at `location`, read-only: nothing is created or written.
    /// A SQLite file that does not exist is `nil`.
    public static func readOnlyModels(_ location: String) throws(StoreError) -> (any ReadModelStore)? {
        let parsed = try parse(location)
        switch parsed.kind {
        case .sqlite:
            guard FileManager.default.fileExists(atPath: parsed.path) else { return nil }
            return try SQLiteReadModelStore(readOnlyPath: parsed.path)
        case .postgres:
            return try PostgresReadModelStore(readOnly: parsed)
        case .mysql:
            return try MySQLReadModelStore(readOnly: parsed)
        }
    }

    /// Every read-only check a rebuild makes on its target before writing anything; returns
    /// the backup name a foreign table will be kept under.
    public static func preflight(_ location: String, projection: String, replaceForeign: Bool, ownLock: String? = nil) throws(StoreError) -> String? {
        let parsed = try parse(location)
        switch parsed.kind {
        case .sqlite: return try SQLiteReadModelStore.preflight(path: parsed.path, projection: projection, replaceForeign: replaceForeign, ownLock: ownLock)
        case .postgres: return try PostgresReadModelStore.preflight(parsed, projection: projection, replaceForeign: replaceForeign, ownLock: ownLock)
        case .mysql: return try MySQLReadModelStore.preflight(parsed, projection: projection, replaceForeign: replaceForeign, ownLock: ownLock)
        }
    }

    /// An appender for the event table at `location` (checked like a source).
    public static func appender(_ location: String, layout: EventTableLayout = EventTableLayout()) throws(StoreError) -> any EventAppender {
        let parsed = try parse(location)
        switch parsed.kind {
        case .sqlite: return try SQLiteEventAppender(path: parsed.path, layout: layout)
        case .postgres: return try PostgresEventAppender(parsed, layout: layout)
        case .mysql: return try MySQLEventAppender(parsed, layout: layout)
        }
    }

    /// Writes a generated dataset in the Laravel layout: a new SQLite file, or a new
    /// `stored_events` table in a server database (`text` payloads when some are malformed).
    @discardableResult
    public static func writeDataset<Events: Sequence>(
        _ events: Events, to location: String, malformed: Bool, progress: (Int) -> Void = { _ in }
    ) throws(StoreError) -> Int where Events.Element == NewEvent {
        let parsed = try parse(location)
        switch parsed.kind {
        case .sqlite: return try SQLiteDatasetWriter.write(events, to: parsed.path, progress: progress)
        case .postgres: return try PostgresDatasetWriter.write(events, to: parsed, textPayload: malformed, progress: progress)
        case .mysql: return try MySQLDatasetWriter.write(events, to: parsed, textPayload: malformed, progress: progress)
        }
    }

    /// Whether the location is a server database (no file to find on this host).
    public static func isServer(_ location: String) -> Bool { DatabaseLocation.isURL(location) }

    /// The environment child processes need to reach these locations with the same passwords
    /// (never on a command line, never in Redis).
    public static func childEnvironment(_ locations: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for location in locations {
            if let parsed = try? DatabaseLocation(parsing: location) { out.merge(parsed.childEnvironment) { a, _ in a } }
        }
        return out
    }
}
