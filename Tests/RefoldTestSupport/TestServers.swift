import Foundation
import RefoldMySQL
import RefoldPostgres
import RefoldStore

/// The harness's private database servers: PostgreSQL (`REFOLD_TEST_POSTGRES_URL`,
/// `REFOLD_TEST_POSTGRES_PASSWORD`) and MariaDB (`REFOLD_TEST_MYSQL_URL`,
/// `REFOLD_TEST_MYSQL_PASSWORD`), set by `scripts/test.sh`. Each test gets a database of its
/// own, dropped when it is done. Without the harness (`swift test` by hand) those tests are
/// skipped.
public enum TestServer: String, Sendable, CaseIterable, CustomStringConvertible {
    case postgres, mysql

    public var description: String { self == .postgres ? "PostgreSQL" : "MariaDB" }

    var urlVariable: String { self == .postgres ? "REFOLD_TEST_POSTGRES_URL" : "REFOLD_TEST_MYSQL_URL" }
    var passwordVariable: String { self == .postgres ? "REFOLD_TEST_POSTGRES_PASSWORD" : "REFOLD_TEST_MYSQL_PASSWORD" }
    /// What the client libraries and refold read the password from.
    public var clientPasswordVariable: String { self == .postgres ? "PGPASSWORD" : "MYSQL_PWD" }

    public var available: Bool { !(ProcessInfo.processInfo.environment[urlVariable] ?? "").isEmpty }
    public static var anyAvailable: Bool { allCases.contains { $0.available } }
    public static var availableCases: [TestServer] { allCases.filter(\.available) }

    public var password: String { ProcessInfo.processInfo.environment[passwordVariable] ?? "" }

    /// The server's admin URL (no password; this process's environment gets it, so every refold
    /// started by a test logs in too).
    public func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[urlVariable], !url.isEmpty else {
            throw TestSupportError("\(urlVariable) is not set: run the tests with ./refold.sh test")
        }
        setenv(clientPasswordVariable, password, 1)
        return url
    }

    func connect(_ location: DatabaseLocation) throws -> any TestSQL {
        var location = location
        location.password = password
        switch self {
        case .postgres: return PostgresTestSQL(connection: try PostgresConnection(location))
        case .mysql: return MySQLTestSQL(connection: try MySQLConnection(location))
        }
    }
}

/// SQL on a test database, with `$1`-style parameters on both engines.
public protocol TestSQL: AnyObject {
    func query(_ sql: String, _ parameters: [String?]) throws -> [[String?]]
}

extension TestSQL {
    public func execute(_ sql: String, _ parameters: [String?] = []) throws { _ = try query(sql, parameters) }
    public func scalar(_ sql: String, _ parameters: [String?] = []) throws -> String? { try query(sql, parameters).first?.first ?? nil }
    public func scalarInt(_ sql: String, _ parameters: [String?] = []) throws -> Int64? { try scalar(sql, parameters).flatMap { Int64($0) } }
}

final class PostgresTestSQL: TestSQL {
    let connection: PostgresConnection
    init(connection: PostgresConnection) { self.connection = connection }
    func query(_ sql: String, _ parameters: [String?]) throws -> [[String?]] { try connection.query(sql, parameters).values }
}

final class MySQLTestSQL: TestSQL {
    let connection: MySQLConnection
    init(connection: MySQLConnection) { self.connection = connection }
    /// `$n` becomes `?`, with the parameters in the order they appear.
    func query(_ sql: String, _ parameters: [String?]) throws -> [[String?]] {
        var text = ""
        var ordered: [String?] = []
        var index = sql.startIndex
        while index < sql.endIndex {
            if sql[index] == "$", let digitsEnd = sql[sql.index(after: index)...].firstIndex(where: { !$0.isNumber }) ?? Optional(sql.endIndex),
               digitsEnd > sql.index(after: index), let number = Int(sql[sql.index(after: index)..<digitsEnd]) {
                text += "?"
                ordered.append(parameters[number - 1])
                index = digitsEnd
            } else {
                text.append(sql[index])
                index = sql.index(after: index)
            }
        }
        return try connection.query(text, ordered).values
    }
}

/// A fresh, empty database on a test server, dropped when released.
public final class TestServerDatabase: @unchecked Sendable {
    public let server: TestServer
    public let name: String
    /// `postgres://user@host:port/name` or `mysql://…`, no password.
    public let url: String
    private let admin: DatabaseLocation

    public init(_ server: TestServer, _ label: String = #function) throws {
        self.server = server
        admin = try DatabaseLocation(parsing: try server.adminURL())
        let clean = label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(24)
        name = "t_\(clean)_\(UUID().uuidString.prefix(8).lowercased())"
        try server.connect(admin).execute(server == .postgres ? "CREATE DATABASE \(quotePostgresIdentifier(name))" : "CREATE DATABASE \(quoteMySQLIdentifier(name))")
        var location = admin
        location.database = name
        location.password = nil
        url = location.description
    }

    /// A connection to this database (for setting up tables, reading results).
    public func connect() throws -> any TestSQL {
        try server.connect(try DatabaseLocation(parsing: url))
    }

    deinit {
        // Other sessions (a killed worker's) may still be closing: PostgreSQL drops with FORCE.
        if let connection = try? server.connect(admin) {
            try? connection.execute(server == .postgres
                ? "DROP DATABASE IF EXISTS \(quotePostgresIdentifier(name)) WITH (FORCE)"
                : "DROP DATABASE IF EXISTS \(quoteMySQLIdentifier(name))")
        }
    }
}
