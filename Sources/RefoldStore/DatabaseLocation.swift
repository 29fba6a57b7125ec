import Foundation

/// Where a database is: a SQLite file, or a PostgreSQL or MySQL/MariaDB server.
///
/// Accepted forms (`--events`, `--read-models`):
/// - a path (`app.db`, `/srv/app/database.sqlite`): SQLite;
/// - `postgres://[user[:password]@]host[:port]/db[?param=value&…]` (also `postgresql://`);
/// - `mysql://[user[:password]@]host[:port]/db` (MySQL and MariaDB alike).
///
/// The password comes from the URL or the environment (`PGPASSWORD`, `MYSQL_PWD`). It is never
/// part of `description`, never stored for other processes (`stored` drops it: workers on other
/// hosts take it from their own environment) and is masked in every message.
public struct DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case sqlite, postgres, mysql
    }

    public var kind: Kind
    /// SQLite: the absolute path.
    public var path: String
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var database: String
    /// Extra connection parameters, in order (`sslmode=disable`, …).
    public var parameters: [(String, String)]

    public static func == (a: DatabaseLocation, b: DatabaseLocation) -> Bool {
        a.kind == b.kind && a.path == b.path && a.host == b.host && a.port == b.port && a.user == b.user
            && a.password == b.password && a.database == b.database
            && a.parameters.map { "\($0.0)=\($0.1)" } == b.parameters.map { "\($0.0)=\($0.1)" }
    }

    public init(kind: Kind, path: String, host: String, port: Int, user: String?, password: String?, database: String, parameters: [(String, String)]) {
        self.kind = kind
        self.path = path
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.parameters = parameters
    }

    public static func sqlite(_ path: String) -> DatabaseLocation {
        DatabaseLocation(kind: .sqlite, path: path, host: "", port: 0, user: nil, password: nil, database: "", parameters: [])
    }

    public var isServer: Bool { kind != .sqlite }

    /// The location as printed and as stored for other processes: a path, or the URL without
    /// its password.
    public var description: String { render(password: false) }

    /// The URL without the password: what a job payload carries.
    public var stored: String { render(password: false) }

    private func render(password withPassword: Bool) -> String {
        switch kind {
        case .sqlite:
            return path
        case .postgres, .mysql:
            var auth = ""
            if let user {
                auth = Self.escape(user)
                if withPassword, let password { auth += ":" + Self.escape(password) }
                auth += "@"
            }
            let hostText = host.contains(":") ? "[\(host)]" : host
            let query = parameters.isEmpty ? "" : "?" + parameters.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
            return "\(kind == .postgres ? "postgres" : "mysql")://\(auth)\(hostText):\(port)/\(Self.escape(database))\(query)"
        }
    }

    /// True when the text names a server database rather than a file.
    public static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") || lower.hasPrefix("mysql://") || lower.hasPrefix("mariadb://")
    }

    /// Parses `text`; a path becomes an absolute SQLite location (relative to the current
    /// folder). `environment` supplies `PGPASSWORD` / `MYSQL_PWD` when the URL has no password.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        guard Self.isURL(text) else {
            if let scheme = text.range(of: "://") {
                throw StoreError(.badInput, "\(Self.masked(text)) is not a database location Refold knows (\(text[..<scheme.lowerBound].prefix(20))://): give a SQLite path, postgres://user@host:port/db or mysql://user@host:port/db.")
            }
            self = .sqlite(Self.absolute(text))
            return
        }
        func invalid(_ problem: String) -> StoreError {
            StoreError(.badInput, "invalid database URL \(Self.masked(text)): \(problem) (expected postgres://user@host:port/db or mysql://user@host:port/db).")
        }
        let schemeEnd = text.range(of: "://")!
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        kind = scheme.hasPrefix("postgres") ? .postgres : .mysql
        path = ""
        var rest = Substring(text[schemeEnd.upperBound...])
        // The user part ends at the last "@" (an unescaped "/", "?" or "@" in a password must
        // not cut it short); the host, path and query follow it.
        var userPart: Substring?
        if let at = rest.lastIndex(of: "@") {
            userPart = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("it names no database (…/dbname)") }
        let authority = rest[..<slash]
        let name = Self.unescape(String(rest[rest.index(after: slash)...]))
        guard let name, !name.isEmpty, !name.contains("/") else { throw invalid("it names no database (…/dbname)") }
        database = name
        var hostPort = Substring(authority)
        user = nil
        password = nil
        if let auth = userPart {
            if let colon = auth.firstIndex(of: ":") {
                user = Self.unescape(String(auth[..<colon]))
                password = Self.unescape(String(auth[auth.index(after: colon)...]))
            } else {
                user = Self.unescape(String(auth))
            }
            if user?.isEmpty == true { user = nil }
        }
        let defaultPort = kind == .postgres ? 5432 : 3306
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("the IPv6 host has no closing ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.isEmpty { port = defaultPort } else {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else { throw invalid("the port is not a number from 1 to 65535") }
                port = value
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let value = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(value) else { throw invalid("the port is not a number from 1 to 65535") }
            port = value
        } else {
            host = String(hostPort)
            port = defaultPort
        }
        guard !host.isEmpty else { throw invalid("it has no host") }
        var parameters: [(String, String)] = []
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let key = Self.unescape(String(parts[0])), let value = Self.unescape(String(parts[1])),
                  key.allSatisfy({ $0.isLetter || $0 == "_" }) else { throw invalid("the parameter \"\(pair)\" is not key=value") }
            guard key.lowercased() != "password" else { throw invalid("pass the password in the URL's user part or in \(kind == .postgres ? "PGPASSWORD" : "MYSQL_PWD"), not as a parameter") }
            if kind == .mysql {
                throw invalid("MySQL URLs take no parameters (\(key) would be ignored; TLS is not supported yet)")
            }
            parameters.append((key, value))
        }
        self.parameters = parameters
        if password == nil {
            password = environment[kind == .postgres ? "PGPASSWORD" : "MYSQL_PWD"].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// The environment a child process needs to reach this database with the same password
    /// (the password never goes on a command line or into Redis).
    public var childEnvironment: [String: String] {
        guard let password else { return [:] }
        switch kind {
        case .sqlite: return [:]
        case .postgres: return ["PGPASSWORD": password]
        case .mysql: return ["MYSQL_PWD": password]
        }
    }

    /// `text` with any password in a URL replaced by `***`: for messages about text that may
    /// not even parse. Whatever lies between the scheme's `://` and the *last* `@` is the
    /// user part (a password may hold `/`, `?`, `:` or `@` unescaped); a `password=` parameter
    /// is masked too.
    public static func masked(_ text: String) -> String {
        var out = text
        if let scheme = out.range(of: "://"), let at = out[scheme.upperBound...].lastIndex(of: "@") {
            let user = out[scheme.upperBound..<at]
            if let colon = user.firstIndex(of: ":") {
                out = String(out[..<colon]) + ":***" + String(out[at...])
            }
        }
        if let parameter = out.range(of: "password=", options: .caseInsensitive) {
            let end = out[parameter.upperBound...].firstIndex(of: "&") ?? out.endIndex
            out = String(out[..<parameter.upperBound]) + "***" + String(out[end...])
        }
        return out
    }

    /// Masks `secret` wherever it appears in `text` (server messages may echo what they got).
    public func masking(_ text: String) -> String {
        guard let password, password.count >= 3 else { return text }
        return text.replacingOccurrences(of: password, with: "***")
    }

    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL.path
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func unescape(_ text: String) -> String? { text.removingPercentEncoding }
}
