import Foundation
import Synchronization

@_exported import RefoldTesting

/// An error in the test harness itself.
public typealias TestSupportError = TestingError

/// Where the tests' shared Redis is: `REFOLD_TEST_REDIS_URL` from the harness (`make test`),
/// or — when a developer runs `swift test` by hand — a private server started for this process.
/// A test run never touches a Redis it did not start.
public enum TestRedis {
    private static let fallback = Mutex<RedisTestServer?>(nil)

    public static func url() throws -> String {
        if let url = ProcessInfo.processInfo.environment["REFOLD_TEST_REDIS_URL"], !url.isEmpty { return url }
        return try fallback.withLock { server in
            if let server { return server.url }
            let started = try RedisTestServer()
            server = started
            return started.url
        }
    }

    /// A key prefix no other test uses.
    public static func uniquePrefix(_ name: String = #function) -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        return "test:\(clean.prefix(30)):\(UUID().uuidString.prefix(8))"
    }
}

/// Finds programs on PATH, and the built `refold` binary.
public enum Executables {
    public static func find(_ name: String) throws -> URL {
        try Programs.find(name)
    }

    /// The test fixture binary (a user's binary in miniature), built beside `refold`.
    public static func fixture() throws -> URL {
        let path = try refold().deletingLastPathComponent().appendingPathComponent("refold-fixture")
        guard FileManager.default.isExecutableFile(atPath: path.path) else {
            throw TestSupportError("refold-fixture was not built next to refold (run swift build first)")
        }
        return path
    }

    /// The `refold` executable: `REFOLD_BIN`, or the one built beside the test bundle.
    public static func refold() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["REFOLD_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("refold")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestSupportError("the refold binary was not found; build it first (swift build) or set REFOLD_BIN")
    }
}
