import ArgumentParser
import Foundation
import RefoldCoordination
import RefoldRedis

/// `refold ping`: one round trip to Redis, with the scripts loaded: the quickest check that a
/// worker host can reach the coordination server.
struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Check that Redis is reachable and the protocol scripts load."
    )

    @OptionGroup var redis: RedisOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let configuration = try redis.configuration(command: "ping")
        let start = Date()
        let client = try CoordinationClient(configuration: configuration)
        let reply = try client.redis.send(RedisCommand("PING"))
        let milliseconds = Date().timeIntervalSince(start) * 1000
        let version = (try client.redis.send(RedisCommand("INFO", "server"))).string?
            .split(whereSeparator: \.isNewline).first { $0.hasPrefix("redis_version:") }?
            .dropFirst("redis_version:".count) ?? "?"
        if output.json {
            JSONOutput.print([
                "redis": .string(configuration.url.description), "reply": .string(reply.string ?? ""),
                "server_version": .string(String(version)), "scripts": .int(Int64(LuaScripts.all.count)),
                "milliseconds": .double(milliseconds),
            ])
        } else {
            print("Redis \(version) at \(configuration.url.endpointDescription): \(reply.string ?? "?") in \(String(format: "%.1f", milliseconds)) ms, \(LuaScripts.all.count) protocol scripts loaded.")
        }
    }
}
