/// Where a Redis server is and how to log in, parsed from a URL.
///
/// Accepted forms:
/// - `redis://[[user]:password@]host[:port][/db]` — TCP; host may be a name, IPv4, or `[IPv6]`; port 6379 by default.
/// - `redis://[[user]:password@]host:port,host:port,…[/db]` — several seed nodes of one Redis Cluster
///   (any one that answers is enough to discover the others).
/// - `unix:///path/to/redis.sock[?db=N]` — a Unix socket.
///
/// The password is kept out of `description`, so printing a URL never leaks it.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// How to reach the server.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    /// More seed nodes of the same cluster, after the first (`host:port,host:port`).
    public var seeds: [Endpoint] = []
    /// The ACL user name, if the URL has one.
    public var user: String?
    /// The password; never part of `description` or any error message.
    public var password: String?
    /// The logical database selected after connecting.
    public var database: Int

    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    /// The first endpoint and the other seeds.
    public var endpoints: [Endpoint] { [endpoint] + seeds }

    /// `host:port` or the socket path: what messages print (every seed, comma-separated).
    public var endpointDescription: String {
        ([endpoint] + seeds).map(Self.describe).joined(separator: ",")
    }

    /// One endpoint as `host:port` or the socket path.
    public static func describe(_ endpoint: Endpoint) -> String {
        switch endpoint {
        case .tcp(let host, let port):
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path):
            return path
        }
    }

    /// The URL with the password masked.
    public var description: String {
        let auth: String
        switch (user, password) {
        case (nil, nil): auth = ""
        case (let user?, nil): auth = "\(user)@"
        case (let user, _?): auth = "\(user ?? ""):***@"
        }
        switch endpoint {
        case .tcp:
            return "redis://\(auth)\(endpointDescription)/\(database)"
        case .unixSocket(let path):
            return "unix://\(auth)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// Parses a Redis URL, throwing an `.invalidURL` error that says what is wrong and shows a valid example.
    public init(parsing text: String) throws(RedisError) {
        func invalid(_ problem: String) -> RedisError {
            RedisError(
                .invalidURL,
                "invalid Redis URL \"\(RedisURL.masked(text))\": \(problem) (expected redis://[:password@]host:port[/db] or unix:///path/to/socket)"
            )
        }
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw invalid("the URL is empty") }
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw invalid("it has no scheme")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(trimmed[schemeEnd.upperBound...])

        switch scheme {
        case "redis":
            break
        case "rediss":
            throw invalid("TLS (rediss://) is not supported; use redis:// on a trusted network or a unix socket")
        case "unix":
            break
        default:
            throw invalid("the scheme \"\(scheme)\" is not redis:// or unix://")
        }

        // Credentials: everything before the last "@" of the authority part.
        var user: String?
        var password: String?
        let authorityEnd = scheme == "unix" ? rest.endIndex : (rest.firstIndex(of: "/") ?? rest.endIndex)
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = String(credentials[..<colon])
                user = name.isEmpty ? nil : try RedisURL.percentDecoded(name, invalid)
                password = try RedisURL.percentDecoded(String(credentials[credentials.index(after: colon)...]), invalid)
            } else if !credentials.isEmpty {
                // "redis://secret@host" — treat a lone credential as the password (what redis-cli does).
                password = try RedisURL.percentDecoded(String(credentials), invalid)
            }
            if password == "" { password = nil }
        }

        if scheme == "unix" {
            var path = rest
            var database = 0
            if let question = path.firstIndex(of: "?") {
                let query = path[path.index(after: question)...]
                path = path[..<question]
                for pair in query.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0] == "db" else {
                        throw invalid("unknown query parameter \"\(pair)\" (only db=N is allowed)")
                    }
                    database = try RedisURL.parseDatabase(String(parts[1]), invalid)
                }
            }
            guard path.hasPrefix("/"), path.count > 1 else {
                throw invalid("a unix socket URL needs an absolute path, like unix:///run/redis.sock")
            }
            self.init(endpoint: .unixSocket(path: String(path)), user: user, password: password, database: database)
            return
        }

        // TCP: host[:port][/db]
        var hostPort = rest
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty { database = try RedisURL.parseDatabase(String(dbText), invalid) }
        }
        var endpoints: [Endpoint] = []
        for one in hostPort.split(separator: ",", omittingEmptySubsequences: false) {
            endpoints.append(try RedisURL.parseHostPort(one, invalid))
        }
        self.init(endpoint: endpoints[0], user: user, password: password, database: database)
        seeds = Array(endpoints.dropFirst())
    }

    private static func parseHostPort(_ hostPort: Substring, _ invalid: (String) -> RedisError) throws(RedisError) -> Endpoint {
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("the IPv6 address has no closing \"]\"") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        guard !host.contains(where: { $0 == " " || $0 == "?" || $0 == "#" }) else {
            throw invalid("the host \"\(host)\" contains characters a host name cannot have")
        }
        var port = 6379
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw invalid("the port \"\(portText)\" is not a number between 1 and 65535")
            }
            port = value
        }
        return .tcp(host: String(host), port: port)
    }

    private static func parseDatabase(_ text: String, _ invalid: (String) -> RedisError) throws(RedisError) -> Int {
        guard let value = Int(text), value >= 0 else {
            throw invalid("the database \"\(text)\" is not a number ≥ 0")
        }
        return value
    }

    private static func percentDecoded(_ text: String, _ invalid: (String) -> RedisError) throws(RedisError) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { throw invalid("a credential has a bad %-escape") }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The URL text with anything between "://" and "@" replaced, so it can be echoed safely.
    static func masked(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].lastIndex(of: "@") else {
            return text
        }
        return String(text[..<schemeEnd.upperBound]) + "***" + String(text[at...])
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
