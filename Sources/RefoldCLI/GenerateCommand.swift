import ArgumentParser
import Foundation
import RefoldBench
import RefoldCore
import RefoldOrderSummary
import RefoldRunner
import RefoldSQLite

/// `refold generate PATH --size N --aggregates M --seed S …`
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a deterministic order dataset in the Laravel stored_events layout."
    )

    @Argument(help: "The SQLite file to create (must not exist), or a postgres:// or mysql:// URL of a database without a stored_events table.")
    var path: String

    @Option(help: "Number of events.") var size = 100_000
    @Option(help: "Number of aggregates (orders).") var aggregates = 2_000
    @Option(help: "Random seed: the same seed gives the same file.") var seed: UInt64 = 1
    @Option(help: "Skew of events per aggregate (0 uniform, 1 Zipf).") var skew: Double = 0
    @Option(help: "Handled events given an invalid payload.") var malformed = 0
    @Option(help: "Aggregates given a version gap.") var gaps = 0
    @Option(name: .customLong("null-aggregates"), help: "Rows with a NULL aggregate_uuid.") var nullAggregates = 0
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard size >= 0 else { throw ValidationError("--size must be 0 or more.") }
        guard aggregates >= 1 else { throw ValidationError("--aggregates must be at least 1.") }
        guard skew >= 0, skew <= 4 else { throw ValidationError("--skew must be between 0 and 4.") }
        guard malformed >= 0, gaps >= 0, nullAggregates >= 0 else { throw ValidationError("defect counts must be 0 or more.") }
        guard nullAggregates <= size else { throw ValidationError("--null-aggregates (\(nullAggregates)) cannot exceed --size (\(size)).") }
        let projected = size - nullAggregates
        guard aggregates <= max(projected, 1) else {
            throw ValidationError("--aggregates (\(aggregates)) cannot exceed the events that belong to an aggregate (\(projected) = --size \(size) - --null-aggregates \(nullAggregates)): every aggregate needs at least one event.")
        }
        guard malformed <= projected else {
            throw ValidationError("--malformed (\(malformed)) cannot exceed the events that belong to an aggregate (\(projected)).")
        }
        guard gaps <= aggregates else { throw ValidationError("--gaps (\(gaps)) cannot exceed --aggregates (\(aggregates)): each gap is in its own aggregate.") }
    }

    func run() throws {
        let spec = DatasetSpec(size: size, aggregates: aggregates, seed: seed, skew: skew, malformed: malformed, gaps: gaps, nullAggregates: nullAggregates)
        let bar = ProgressBar(label: "generate")
        let start = Date()
        let target = try LocationOptions.location(path, flag: "PATH")
        let count = try Stores.writeDataset(DatasetGenerator(spec), to: target, malformed: malformed > 0) { done in bar.update(done: Int64(done), total: Int64(size)) }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        if output.json {
            JSONOutput.print(["path": .string(target), "events": .int(Int64(count)), "aggregates": .int(Int64(aggregates)), "seed": .int(Int64(seed)), "seconds": .double(seconds)])
        } else {
            print("Wrote \(count) events for \(aggregates) aggregates to \(target) in \(String(format: "%.1f", seconds)) s (seed \(seed)).")
        }
    }
}
