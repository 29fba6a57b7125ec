import ArgumentParser

/// The `refold` command line.
///
/// Subcommands are synchronous `ParsableCommand`s on purpose: they drive blocking C calls
/// (hiredis, SQLite) from the main thread and from threads they start, never from Swift's
/// cooperative pool.
struct RefoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refold",
        abstract: "Rebuild and catch up CQRS read models from an event store, in parallel, in per-aggregate order.",
        version: RefoldVersion.text,
        subcommands: [DemoCommand.self, RebuildCommand.self, CatchupCommand.self, RunCommand.self, AppendCommand.self, LagCommand.self, WorkerCommand.self, VerifyCommand.self, GenerateCommand.self, QuarantineCommand.self, StatusCommand.self, CancelCommand.self, BenchCommand.self, PingCommand.self, TriggerCommand.self, ServeCommand.self]
    )

    /// `refold` alone is a usage error (exit 2): the help goes to standard error.
    func run() throws {
        StandardError.write(Self.helpMessage() + "\n")
        throw ExitCode(CLIError.ExitCode.badInput.rawValue)
    }
}

/// The release of this build.
public enum RefoldVersion {
    public static let text = "0.1.0"
}
