import Foundation
import RefoldPostgres
import RefoldStore

/// The harness's private PostgreSQL server (`REFOLD_TEST_POSTGRES_URL` and
/// `REFOLD_TEST_POSTGRES_PASSWORD`, set by `scripts/test.sh`). Each test gets a database of its
/// own, dropped when it is done. Without the harness (`swift test` by hand) the PostgreSQL
/// tests are skipped: `available` is false.
public enum TestPostgres {
    public static var available: Bool {
        !(ProcessInfo.processInfo.environment["REFOLD_TEST_POSTGRES_URL"] ?? "").isEmpty
    }

    /// The server's admin URL (database `postgres`, no password).
    public static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["REFOLD_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw TestSupportError("REFOLD_TEST_POSTGRES_URL is not set: run the tests with ./refold.sh test")
        }
        // This process and every refold it starts log in with the harness's password.
        if let password = ProcessInfo.processInfo.environment["REFOLD_TEST_POSTGRES_PASSWORD"] {
            setenv("PGPASSWORD", password, 1)
        }
        return url
    }

    public static var password: String { ProcessInfo.processInfo.environment["REFOLD_TEST_POSTGRES_PASSWORD"] ?? "" }

    /// A fresh, empty database on the test server.
    public final class Database: @unchecked Sendable {
        public let name: String
        /// `postgres://user@host:port/name`, no password (it is in `PGPASSWORD`).
        public let url: String
        private let admin: DatabaseLocation

        public init(_ label: String = #function) throws {
            let adminText = try TestPostgres.adminURL()
            admin = try DatabaseLocation(parsing: adminText)
            let clean = label.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(24)
            name = "t_\(clean)_\(UUID().uuidString.prefix(8).lowercased())"
            let connection = try PostgresConnection(admin)
            try connection.execute("CREATE DATABASE \(quotePostgresIdentifier(name))")
            var location = admin
            location.database = name
            location.password = nil
            url = location.description
        }

        /// A connection to this database (for setting up tables, reading results).
        public func connect() throws -> PostgresConnection {
            var location = try DatabaseLocation(parsing: url)
            location.password = TestPostgres.password
            return try PostgresConnection(location)
        }

        deinit {
            // Other sessions (a killed worker's) may still be closing: drop with FORCE.
            if let connection = try? PostgresConnection(admin) {
                try? connection.execute("DROP DATABASE IF EXISTS \(quotePostgresIdentifier(name)) WITH (FORCE)")
            }
        }
    }
}
