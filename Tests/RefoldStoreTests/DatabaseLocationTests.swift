import Foundation
import RefoldStore
import Testing

/// Parsing locations: paths, PostgreSQL and MySQL URLs, passwords kept out of every rendering.
struct DatabaseLocationTests {
    @Test func aPathIsAnAbsoluteSQLiteLocation() throws {
        let location = try DatabaseLocation(parsing: "/srv/app/db.sqlite", environment: [:])
        #expect(location.kind == .sqlite && location.path == "/srv/app/db.sqlite" && location.description == "/srv/app/db.sqlite")
        let relative = try DatabaseLocation(parsing: "app.db", environment: [:])
        #expect(relative.path.hasPrefix("/") && relative.path.hasSuffix("/app.db"))
    }

    @Test func postgresURLsParseWithDefaultsAndEscapes() throws {
        let full = try DatabaseLocation(parsing: "postgres://app:s%40cret@db.internal:6543/events?sslmode=disable", environment: [:])
        #expect(full.kind == .postgres && full.host == "db.internal" && full.port == 6543 && full.user == "app")
        #expect(full.password == "s@cret" && full.database == "events")
        #expect(full.parameters.map { "\($0.0)=\($0.1)" } == ["sslmode=disable"])
        #expect(full.description == "postgres://app@db.internal:6543/events?sslmode=disable")
        let short = try DatabaseLocation(parsing: "postgresql://localhost/app", environment: [:])
        #expect(short.port == 5432 && short.user == nil && short.password == nil)
        let v6 = try DatabaseLocation(parsing: "postgres://u@[::1]:5433/app", environment: [:])
        #expect(v6.host == "::1" && v6.port == 5433 && v6.description == "postgres://u@[::1]:5433/app")
    }

    @Test func mysqlURLsTakeThePasswordFromTheEnvironment() throws {
        let location = try DatabaseLocation(parsing: "mysql://app@127.0.0.1/shop", environment: ["MYSQL_PWD": "pw-from-env"])
        #expect(location.kind == .mysql && location.port == 3306 && location.password == "pw-from-env")
        #expect(location.childEnvironment == ["MYSQL_PWD": "pw-from-env"])
        #expect(!location.description.contains("pw-from-env") && !location.stored.contains("pw-from-env"))
        let pg = try DatabaseLocation(parsing: "postgres://app@h/db", environment: ["PGPASSWORD": "x1"])
        #expect(pg.childEnvironment == ["PGPASSWORD": "x1"])
    }

    @Test(arguments: ["Wr/ong", "Wr?ong", "Wr@ong", "Wr:ong"])
    func aPasswordWithURLCharactersNeverShows(_ password: String) throws {
        let text = "postgres://refold:\(password)Secr3t@127.0.0.1:5432/app"
        #expect(!DatabaseLocation.masked(text).contains("Secr3t"))
        let location = try DatabaseLocation(parsing: text, environment: [:])
        #expect(location.password == password + "Secr3t" && location.host == "127.0.0.1" && location.database == "app")
        #expect(!location.description.contains("Secr3t"))
    }

    @Test func mistypedSchemesAndParametersAreRefusedWithoutThePassword() {
        for text in ["pgsql://u:Secr3t@h/app", "mysq://u:Secr3t@h/app", "postgres://u@h/app?password=Secr3t", "mysql://u:Secr3t@h/app?ssl_mode=REQUIRED"] {
            do {
                _ = try DatabaseLocation(parsing: text, environment: [:])
                Issue.record("\(text) should be refused")
            } catch {
                #expect(error.code == .badInput && !error.message.contains("Secr3t"), "\(error.message)")
            }
        }
    }

    @Test func passwordsAreMaskedInTextThatDoesNotParse() {
        #expect(DatabaseLocation.masked("postgres://app:hunter2@host:5432") == "postgres://app:***@host:5432")
        #expect(DatabaseLocation.masked("mysql://app:p@ss:w@rd@host/db") == "mysql://app:***@host/db")
        #expect(DatabaseLocation.masked("/plain/path.db") == "/plain/path.db")
        let location = DatabaseLocation(kind: .postgres, path: "", host: "h", port: 1, user: "u", password: "hunter2", database: "d", parameters: [])
        #expect(location.masking("FATAL: password hunter2 was wrong") == "FATAL: password *** was wrong")
    }

    @Test(arguments: [
        ("postgres://host", "names no database"),
        ("postgres://host:99999/db", "port"),
        ("postgres://:5432/db", "no host"),
        ("mysql://u@host/db?password=x", "not as a parameter"),
        ("redis://host/0", "not a database location"),
    ])
    func badURLsSayWhatIsWrong(_ text: String, _ expected: String) {
        do {
            _ = try DatabaseLocation(parsing: text, environment: [:])
            Issue.record("\(text) should not parse")
        } catch {
            #expect(error.code == .badInput && error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains("x@"), "no password echoed")
        }
    }
}
