import RefoldRedis
import Testing

@Suite struct RedisURLTests {
    struct Valid: Sendable, CustomStringConvertible {
        let text: String
        let endpoint: RedisURL.Endpoint
        let user: String?
        let password: String?
        let database: Int
        var description: String { text }
    }

    static let valid: [Valid] = [
        Valid(text: "redis://127.0.0.1:6379", endpoint: .tcp(host: "127.0.0.1", port: 6379), user: nil, password: nil, database: 0),
        Valid(text: "redis://localhost", endpoint: .tcp(host: "localhost", port: 6379), user: nil, password: nil, database: 0),
        Valid(text: "redis://localhost:7000/3", endpoint: .tcp(host: "localhost", port: 7000), user: nil, password: nil, database: 3),
        Valid(text: "redis://:s3cret@10.0.0.1:6380/1", endpoint: .tcp(host: "10.0.0.1", port: 6380), user: nil, password: "s3cret", database: 1),
        Valid(text: "redis://alice:pw@host:1", endpoint: .tcp(host: "host", port: 1), user: "alice", password: "pw", database: 0),
        Valid(text: "redis://:p%40ss@host", endpoint: .tcp(host: "host", port: 6379), user: nil, password: "p@ss", database: 0),
        Valid(text: "redis://[::1]:6390/2", endpoint: .tcp(host: "::1", port: 6390), user: nil, password: nil, database: 2),
        Valid(text: "REDIS://Host:5/", endpoint: .tcp(host: "Host", port: 5), user: nil, password: nil, database: 0),
        Valid(text: "unix:///run/redis.sock", endpoint: .unixSocket(path: "/run/redis.sock"), user: nil, password: nil, database: 0),
        Valid(text: "unix:///tmp/r.sock?db=4", endpoint: .unixSocket(path: "/tmp/r.sock"), user: nil, password: nil, database: 4),
        Valid(text: "unix://:pw@/tmp/r.sock", endpoint: .unixSocket(path: "/tmp/r.sock"), user: nil, password: "pw", database: 0),
    ]

    @Test(arguments: valid)
    func parsesValidURL(_ case_: Valid) throws {
        let url = try RedisURL(parsing: case_.text)
        #expect(url.endpoint == case_.endpoint)
        #expect(url.user == case_.user)
        #expect(url.password == case_.password)
        #expect(url.database == case_.database)
    }

    struct Invalid: Sendable, CustomStringConvertible {
        let text: String
        let problem: String
        var description: String { text }
    }

    static let invalid: [Invalid] = [
        Invalid(text: "", problem: "the URL is empty"),
        Invalid(text: "localhost:6379", problem: "it has no scheme"),
        Invalid(text: "http://localhost", problem: "the scheme \"http\" is not redis:// or unix://"),
        Invalid(text: "rediss://localhost", problem: "TLS (rediss://) is not supported"),
        Invalid(text: "redis://localhost:abc", problem: "the port \"abc\" is not a number between 1 and 65535"),
        Invalid(text: "redis://localhost:0", problem: "the port \"0\" is not a number between 1 and 65535"),
        Invalid(text: "redis://localhost:70000", problem: "the port \"70000\" is not a number between 1 and 65535"),
        Invalid(text: "redis://:6379", problem: "the host is missing"),
        Invalid(text: "redis://host/-1", problem: "the database \"-1\" is not a number ≥ 0"),
        Invalid(text: "redis://host/x", problem: "the database \"x\" is not a number ≥ 0"),
        Invalid(text: "redis://[::1:6379", problem: "the IPv6 address has no closing \"]\""),
        Invalid(text: "unix://", problem: "a unix socket URL needs an absolute path"),
        Invalid(text: "unix:///tmp/s?foo=1", problem: "unknown query parameter \"foo=1\""),
        Invalid(text: "redis://:%zz@host", problem: "a credential has a bad %-escape"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidURLWithReason(_ case_: Invalid) {
        do {
            _ = try RedisURL(parsing: case_.text)
            Issue.record("\(case_.text) was accepted")
        } catch {
            #expect(error.code == .invalidURL)
            #expect(error.message.contains(case_.problem), "message was: \(error.message)")
            #expect(error.message.contains("expected redis://"))
        }
    }

    @Test func descriptionAndErrorsNeverShowThePassword() throws {
        let url = try RedisURL(parsing: "redis://bob:hunter2@db.example:6380/2")
        #expect(!url.description.contains("hunter2"))
        #expect(url.description == "redis://bob:***@db.example:6380/2")
        do {
            _ = try RedisURL(parsing: "redis://:hunter2@host:notaport")
        } catch {
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test func passwordComesFromEnvironmentWhenURLHasNone() throws {
        let fromEnvironment = try RedisConfiguration(urlText: "redis://h:1", environment: ["REFOLD_REDIS_PASSWORD": "envpw"])
        #expect(fromEnvironment.url.password == "envpw")
        let fromURL = try RedisConfiguration(urlText: "redis://:urlpw@h:1", environment: ["REFOLD_REDIS_PASSWORD": "envpw"])
        #expect(fromURL.url.password == "urlpw")
        #expect(!fromURL.description.contains("urlpw"))
    }
}
