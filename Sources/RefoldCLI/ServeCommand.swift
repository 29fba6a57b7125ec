import ArgumentParser
import Foundation
import Logging
import RefoldHTTP
import RefoldRunner
import RefoldThreads
import ServiceLifecycle

/// `refold serve`: the HTTP API (spec/http.md), with the live service in the same process
/// unless `--no-live`.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The HTTP API: version-checked reads, appends, replays, jobs, metrics, health, an operators' page."
    )

    @OptionGroup var locations: LocationOptions
    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("The address to listen on.", valueName: "host")) var host = "127.0.0.1"
    @Option(help: ArgumentHelp("The port to listen on.", valueName: "port")) var port = 8080
    @Option(name: .customLong("projection"), help: ArgumentHelp("A projection to serve (repeat; default: every projection this binary knows that is built).", valueName: "name"))
    var projections: [String] = []
    @Flag(name: .customLong("no-live"), help: "Serve only; keep the models current elsewhere (refold run).") var noLive = false

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535.") }
    }

    func run() async throws {
        let locations = try self.locations.resolved()
        let configuration = try redis.configuration(command: "serve")
        let names = projections.isEmpty ? Projections.current.names : projections
        var served: [String] = []
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let logger = Logger(label: "refold.serve")
        for name in names {
            let projection = try Projections.named(name)
            do {
                _ = try Verifier.openBuiltModel(projection: projection.name, path: locations.readModels)
            } catch {
                if !projections.isEmpty { throw error }
                continue  // not built here: not served
            }
            served.append(name)
            if !noLive {
                var options = LiveRunner.Options(projection: projection, locations: locations)
                options.poll = DatabaseLocationPolling.poll(for: locations.events)
                options.waitForRedis = true
                services.append(.init(service: LiveService(runner: LiveRunner(options: options, redis: configuration, logger: Logger(label: "refold.live")))))
            }
        }
        guard !served.isEmpty else {
            throw CLIError(.badInput, "no projection is built in \(locations.readModels): rebuild one first (refold rebuild order_summary --events …).")
        }
        let pool = BlockingPool(threads: 8, name: "refold-http")
        let waiters = RowWaiters()
        waiters.listen(redis: configuration, projections: served, logger: logger)
        defer { waiters.stop() }
        var options = RefoldServer.Options(locations: locations, redis: configuration, projections: served)
        options.host = host
        options.port = port
        let server = RefoldServer(options: options, pool: pool, waiters: waiters, metricsText: { RefoldMain.prometheusText() })
        services.insert(.init(service: server.application(logger: logger)), at: 0)
        // Shut down in reverse order: first the waits end (waiting reads answer at once), then
        // the live runners stop, last the HTTP server, which finishes its in-flight requests.
        services.append(.init(service: DrainWaiters(waiters: waiters)))
        logger.info("serving", metadata: ["refold.address": "http://\(host):\(port)", "refold.projections": "\(served.joined(separator: ","))", "refold.live": "\(!noLive)"])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Ends every version-checked wait when the graceful shutdown begins.
struct DrainWaiters: Service {
    let waiters: RowWaiters
    func run() async throws {
        try? await gracefulShutdown()
        waiters.drain()
    }
}

enum DatabaseLocationPolling {
    static func poll(for events: String) -> Double { events.contains("://") ? 0.005 : 0.001 }
}
