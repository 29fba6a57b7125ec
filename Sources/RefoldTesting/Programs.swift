import Foundation

/// Finds installed programs (`redis-server`, `redis-cli`, …) on PATH and the usual places.
public enum Programs {
    public static func find(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw TestingError("\(name) is not installed or not on PATH (./refold.sh test installs it; else apt-get install it)")
    }
}
