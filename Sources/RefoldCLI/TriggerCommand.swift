import ArgumentParser
import Foundation
import RefoldPostgres
import RefoldRunner
import RefoldStore

/// `refold trigger install|remove --events postgres://…`: Refold's optional PostgreSQL trigger
/// that wakes the live service on commit (LISTEN/NOTIFY). Refold never changes a user's schema
/// unasked: this command is the only thing that adds it, and it prints every statement it runs.
struct TriggerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Add or remove Refold's optional PostgreSQL trigger that wakes the live service on commit (else it polls).",
        subcommands: [Install.self, Remove.self]
    )

    func run() throws {
        StandardError.write(Self.helpMessage() + "\n")
        throw ExitCode(CLIError.ExitCode.badInput.rawValue)
    }

    struct Target: ParsableArguments {
        @Option(help: ArgumentHelp("The PostgreSQL database holding the event table (postgres://user@host:port/db).", valueName: "url"))
        var events: String

        @Option(name: .customLong("events-table"), help: ArgumentHelp("Name of the event table.", valueName: "name"))
        var eventsTable = "stored_events"

        @Flag(name: .customLong("dry-run"), help: "Print the SQL without running it.")
        var dryRun = false

        /// The database and layout, checked: a PostgreSQL URL whose event table exists.
        func resolved() throws -> (DatabaseLocation, EventTableLayout) {
            guard DatabaseLocation.isURL(events) else {
                throw CLIError(.badInput, "--events \(events) is not a postgres:// URL: the trigger is for PostgreSQL (SQLite and MySQL are polled, nothing to install).")
            }
            let stored = try LocationOptions.location(events, flag: "--events")
            let location = try DatabaseLocation(parsing: stored)
            guard location.kind == .postgres else {
                throw CLIError(.badInput, "--events \(location) is not a PostgreSQL URL: the trigger is for PostgreSQL (MySQL is polled, nothing to install).")
            }
            let layout = EventTableLayout(table: eventsTable)
            _ = try Stores.events(stored, layout: layout)  // the table and its columns exist
            return (location, layout)
        }

        /// Installs or removes the trigger, printing every statement first.
        func apply(install: Bool) throws {
            let (location, layout) = try resolved()
            let statements = install ? PostgresEventSource.installSQL(layout: layout) : PostgresEventSource.removeSQL(layout: layout)
            print(dryRun ? "-- refold trigger (dry run): would run in \(location):" : "-- refold trigger: running in \(location):")
            for statement in statements { print(statement + ";") }
            guard !dryRun else { return }
            try PostgresEventSource.run(statements, on: location)
            print(install
                  ? "-- installed: refold run now sleeps until a commit to \(layout.table) notifies '\(PostgresEventSource.channel)'."
                  : "-- removed: refold run polls \(layout.table) again (restart running services to notice).")
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the function refold_notify_new_events() and the trigger refold_notify_insert on the event table.")
        @OptionGroup var target: Target
        func run() throws { try target.apply(install: true) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the trigger refold_notify_insert from the event table (refold run polls again).")
        @OptionGroup var target: Target
        func run() throws { try target.apply(install: false) }
    }
}
