/// Everything a `RedisConnection` needs: where, who, and how long to wait.
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    /// The server and credentials.
    public var url: RedisURL
    /// How long to wait for a TCP or socket connection, in seconds.
    public var connectTimeout: Double
    /// How long to wait for any one reply, in seconds (blocking commands add their own wait).
    public var commandTimeout: Double

    public init(url: RedisURL, connectTimeout: Double = 2, commandTimeout: Double = 5) {
        self.url = url
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Parses `urlText` and applies `REFOLD_REDIS_PASSWORD` when the URL carries no password.
    public init(
        urlText: String,
        environment: [String: String],
        connectTimeout: Double = 2,
        commandTimeout: Double = 5
    ) throws(RedisError) {
        var url = try RedisURL(parsing: urlText)
        if url.password == nil, let password = environment["REFOLD_REDIS_PASSWORD"], !password.isEmpty {
            url.password = password
        }
        self.init(url: url, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }

    public var description: String { url.description }
}
