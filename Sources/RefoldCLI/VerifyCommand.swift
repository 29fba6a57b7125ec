import ArgumentParser
import Foundation
import RefoldRunner

/// `refold verify PROJECTION --events PATH`
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Refold every event in memory and diff with the stored read model; exit 1 on drift."
    )

    @Argument(help: "The projection to verify.")
    var projection: String

    @OptionGroup var locations: LocationOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let projection = try Projections.named(self.projection)
        let report = try Verifier.run(projection: projection, locations: try locations.resolved())
        if output.json {
            JSONOutput.print(.object([
                ("projection", .string(report.projection)), ("ok", .bool(report.ok)),
                ("missing", .int(Int64(report.missing))), ("extra", .int(Int64(report.extra))),
                ("wrong", .int(Int64(report.wrong))), ("lagging", .int(Int64(report.lagging))),
                ("expected_rows", .int(Int64(report.expectedRows))), ("stored_rows", .int(Int64(report.storedRows))),
                ("quarantined", .int(Int64(report.quarantined))), ("head_position", .int(report.headPosition)),
                ("ahead", .int(Int64(report.ahead))), ("events_after_checkpoint", .int(report.eventsAfterCheckpoint)),
                ("seconds", .double(report.seconds)),
                ("examples", .array(report.examples.map { example in
                    .object([
                        ("aggregate", .string(example.aggregate)), ("kind", .string(example.kind)),
                        ("stored_version", example.storedVersion.map { .int($0) } ?? .null),
                        ("expected_version", example.expectedVersion.map { .int($0) } ?? .null),
                    ])
                })),
            ]))
        } else {
            let behind = report.eventsAfterCheckpoint > 0
                ? "; \(report.eventsAfterCheckpoint) events after it are not applied yet — run `refold catchup \(report.projection)`"
                : ""
            print(report.ok
                ? "\(report.projection) is consistent up to position \(report.headPosition)\(behind): \(report.expectedRows) rows checked (\(report.quarantined) quarantined aggregates\(report.ahead > 0 ? ", \(report.ahead) rows ahead of the checkpoint and right" : ""))."
                : "\(report.projection) has drifted from its events (up to position \(report.headPosition)): \(report.missing) missing, \(report.extra) extra, \(report.wrong) wrong, \(report.lagging) lagging\(behind).")
            for example in report.examples {
                print("  \(example.kind) \(example.aggregate) stored v\(example.storedVersion.map(String.init) ?? "-") expected v\(example.expectedVersion.map(String.init) ?? "-")")
            }
        }
        if !report.ok { throw ExitCode(CLIError.ExitCode.notClean.rawValue) }
    }
}
