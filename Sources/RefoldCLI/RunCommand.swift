import ArgumentParser
import Foundation
import Logging
import RefoldRunner
import RefoldStore
import ServiceLifecycle

/// `refold run PROJECTION… --events LOC`: the live service.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Keep projections current within milliseconds of each commit; heal gaps; execute requests other services queue.",
        discussion: """
            One leader per projection holds a lease in Redis; run the same command on several hosts \
            for standbys that take over within --lease. SIGTERM/SIGINT finish the pass in hand and \
            exit 0. Each row advance is published on refold:rows:<projection> as "<id> <version>".
            """
    )

    @Argument(help: "The projections to keep current.")
    var projections: [String]

    @OptionGroup var locations: LocationOptions
    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("How long a missing position or version is waited for, e.g. 3s (0s: not at all).", valueName: "duration"), transform: DurationArgument.parseAllowingZero)
    var grace = DurationArgument(milliseconds: 3000)

    @Option(help: ArgumentHelp("The leadership lease; a standby takes over this long after the leader stops, e.g. 10s.", valueName: "duration"), transform: DurationArgument.parse)
    var lease = DurationArgument(milliseconds: 10_000)

    @Option(help: ArgumentHelp("How often to look for new commits while idle (default 1ms on SQLite, 5ms on a server database; a PostgreSQL table with Refold's trigger wakes the service on commit instead).", valueName: "duration"), transform: DurationArgument.parse)
    var poll: DurationArgument?

    func validate() throws {
        guard !projections.isEmpty else { throw ValidationError("name at least one projection to keep current.") }
        guard Set(projections).count == projections.count else { throw ValidationError("each projection once, please.") }
        try LeaseLimits.check(lease, flag: "--lease")
    }

    func run() async throws {
        let configuration = try redis.configuration(command: "run")
        let locations = try self.locations.resolved()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let logger = Logger(label: "refold.live")
        for name in projections {
            let projection = try Projections.named(name)
            // Check the model before starting anything: exit 2 with the reason.
            _ = try Verifier.openBuiltModel(projection: projection.name, path: locations.readModels)
            var options = LiveRunner.Options(projection: projection, locations: locations)
            options.grace = grace.seconds
            options.leaseMilliseconds = lease.milliseconds
            // On a server database a poll is a round trip to it and to Redis: idle, 1 ms polls cost
            // ~20% of a core (service and PostgreSQL together, measured), 5 ms ~8%.
            options.poll = poll?.seconds ?? (DatabaseLocation.isURL(locations.events) ? 0.005 : 0.001)
            let runner = LiveRunner(options: options, redis: configuration, logger: logger)
            services.append(.init(service: LiveService(runner: runner)))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
