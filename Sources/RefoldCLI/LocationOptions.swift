import ArgumentParser
import Foundation
import Synchronization
import RefoldRunner
import RefoldSQLite
import RefoldStore

/// `--events`, `--read-models` and the event table's names.
struct LocationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The database holding the event table: a SQLite path, postgres://user@host:port/db or mysql://user@host:port/db (password in the URL, PGPASSWORD or MYSQL_PWD; never printed).", valueName: "location"))
    var events: String

    @Option(name: .customLong("read-models"), help: ArgumentHelp("The database for read models: a SQLite path, a postgres:// or a mysql:// URL (default: the events database).", valueName: "location"))
    var readModels: String?

    @Option(name: .customLong("events-table"), help: ArgumentHelp("Name of the event table.", valueName: "name"))
    var eventsTable = "stored_events"

    @Option(name: .customLong("id-column"), help: ArgumentHelp("The event table's position column.", valueName: "name")) var idColumn = "id"
    @Option(name: .customLong("aggregate-column"), help: ArgumentHelp("The event table's aggregate id column.", valueName: "name")) var aggregateColumn = "aggregate_uuid"
    @Option(name: .customLong("version-column"), help: ArgumentHelp("The event table's aggregate version column.", valueName: "name")) var versionColumn = "aggregate_version"
    @Option(name: .customLong("class-column"), help: ArgumentHelp("The event table's event class column.", valueName: "name")) var classColumn = "event_class"
    @Option(name: .customLong("payload-column"), help: ArgumentHelp("The event table's payload (JSON) column.", valueName: "name")) var payloadColumn = "event_properties"

    /// Absolute locations (stored for other processes), checked to exist.
    func resolved() throws -> RebuildLocations {
        let eventsPath = try Self.location(events, flag: "--events")
        if !DatabaseLocation.isURL(eventsPath), !FileManager.default.fileExists(atPath: eventsPath) {
            throw CLIError(.badInput, "events database \(events) does not exist (check --events).")
        }
        let layout = EventTableLayout(
            table: eventsTable, id: idColumn, aggregate: aggregateColumn, version: versionColumn,
            eventClass: classColumn, payload: payloadColumn)
        return RebuildLocations(events: eventsPath, readModels: try readModels.map { try Self.location($0, flag: "--read-models") }, layout: layout)
    }

    /// What a location flag stores for other processes: an absolute path, or the URL without
    /// its password. A password in the URL moves to this process's environment (`PGPASSWORD`,
    /// `MYSQL_PWD`),
    /// where the stores and the worker processes it starts find it; it is never stored or printed.
    static func location(_ text: String, flag: String) throws -> String {
        // Anything with a scheme is a URL: a typo'd one (pgsql://, mysq://) is refused, masked,
        // rather than taken for a file path and echoed.
        guard DatabaseLocation.isURL(text) || text.contains("://") else { return absolute(text) }
        let parsed: DatabaseLocation
        do { parsed = try DatabaseLocation(parsing: text) } catch { throw CLIError(.badInput, "\(flag): \(error.message)") }
        if let password = parsed.password, let variable = parsed.childEnvironment.keys.first {
            // A URL's password wins over the environment's; two URLs of one command must agree.
            let current = passwordsSet.withLock { $0[variable] }
            if let current, current != password {
                throw CLIError(.badInput, "\(flag) \(parsed): this URL's password differs from another one given to this command (or \(variable)); one password per engine and command\(parsed.kind == .postgres ? " (or give each server's password in ~/.pgpass)" : "").")
            }
            setenv(variable, password, 1)
            passwordsSet.withLock { $0[variable] = password }
        }
        return parsed.stored
    }

    /// Passwords this command took from its URLs, per environment variable.
    static let passwordsSet = Mutex<[String: String]>([:])

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
    }
}
