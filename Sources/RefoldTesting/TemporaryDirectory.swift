import Foundation
import Synchronization

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
