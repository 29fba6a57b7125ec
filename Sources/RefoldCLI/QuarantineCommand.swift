import ArgumentParser
import Foundation
import RefoldRunner
import RefoldSQLite

/// `refold quarantine list PROJECTION`
struct QuarantineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "Quarantined aggregates of a read model.",
        subcommands: [List.self]
    )

    /// `refold quarantine` alone is a usage error (exit 2).
    func run() throws {
        StandardError.write(Self.helpMessage() + "\n")
        throw ExitCode(CLIError.ExitCode.badInput.rawValue)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the quarantined aggregates of the live model.")

        @Argument(help: "The projection.") var projection: String
        @Option(help: ArgumentHelp("The events database (the read models' default location).", valueName: "path")) var events: String?
        @Option(name: .customLong("read-models"), help: ArgumentHelp("The read-model database.", valueName: "path")) var readModels: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            _ = try Projections.named(projection)
            guard let path = readModels ?? events else {
                throw CLIError(.badInput, "say where the read models are: --read-models PATH (or --events PATH when they share the file).")
            }
            let store = try Verifier.openBuiltModel(projection: projection, path: try LocationOptions.location(path, flag: "--read-models"))
            let records = try store.quarantined(projection: projection)
            if output.json {
                JSONOutput.print(.object([("projection", .string(projection)), ("quarantined", .array(records.map(\.json)))]))
            } else if records.isEmpty {
                print("No quarantined aggregates in \(projection).")
            } else {
                for record in records {
                    print("\(record.aggregate)\tv\(record.version.map(String.init) ?? "NULL")\t@\(record.position)\t\(record.code.rawValue)\t\(record.reason)")
                }
            }
        }
    }
}
