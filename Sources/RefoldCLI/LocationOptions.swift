import ArgumentParser
import Foundation
import RefoldRunner
import RefoldSQLite

/// `--events`, `--read-models` and the event table's names.
struct LocationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The SQLite database holding the event table.", valueName: "path"))
    var events: String

    @Option(name: .customLong("read-models"), help: ArgumentHelp("The SQLite database for read models (default: the events database).", valueName: "path"))
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
        let eventsPath = Self.absolute(events)
        guard FileManager.default.fileExists(atPath: eventsPath) else {
            throw CLIError(.badInput, "events database \(events) does not exist (check --events).")
        }
        let layout = EventTableLayout(
            table: eventsTable, id: idColumn, aggregate: aggregateColumn, version: versionColumn,
            eventClass: classColumn, payload: payloadColumn)
        return RebuildLocations(events: eventsPath, readModels: readModels.map(Self.absolute), layout: layout)
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
    }
}
