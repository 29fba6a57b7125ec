import Foundation
import Synchronization

/// An error in the test harness itself.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where the tests' shared Redis is: `REFOLD_TEST_REDIS_URL` from the harness (`make test`),
/// or — when a developer runs `swift test` by hand — a private server started for this process.
/// A test run never touches a Redis it did not start.
public enum TestRedis {
    private static let fallback = Mutex<RedisServerProcess?>(nil)

    public static func url() throws -> String {
        if let url = ProcessInfo.processInfo.environment["REFOLD_TEST_REDIS_URL"], !url.isEmpty { return url }
        return try fallback.withLock { server in
            if let server { return server.url }
            let started = try RedisServerProcess()
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

/// Polls a condition until it holds or a deadline passes — never sleep-and-hope.
public enum Deadline {
    public static func wait(seconds: Double, _ what: String, poll: Double = 0.01, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        let pause = DispatchSemaphore(value: 0)  // never signalled: a timed wait between polls
        while Date() < end {
            if try condition() { return }
            _ = pause.wait(timeout: .now() + poll)
        }
        if try condition() { return }
        throw TestSupportError("timed out after \(seconds)s waiting for \(what)")
    }
}

/// Temporary folders that tests own. Every folder made here is removed when the test process
/// exits (normally or by `exit`), whether its test passed or failed; `./refold.sh test` also
/// gives the whole run a private TMPDIR that it removes at the end, which catches what child
/// processes leave behind even after a crash.
public enum TemporaryDirectory {
    private static let made = Mutex<[URL]>([])
    private static let installed = Mutex(false)

    public static func make(prefix: String = "refold-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        made.withLock { $0.append(url) }
        installed.withLock { done in
            guard !done else { return }
            done = true
            atexit { TemporaryDirectory.removeAll() }
        }
        return url
    }

    /// Removes a folder now (a test that wants its space back early).
    public static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
        made.withLock { $0.removeAll { $0 == url } }
    }

    static func removeAll() {
        for url in made.withLock({ $0 }) { try? FileManager.default.removeItem(at: url) }
    }
}

/// Finds programs on PATH, and the built `refold` binary.
public enum Executables {
    public static func find(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw TestSupportError("\(name) is not installed or not on PATH (make test installs it)")
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
