import Foundation
import Synchronization

/// SQLite event files made by `refold generate`, once per test process for each set of
/// arguments; tests write only to copies.
public enum GeneratedEvents {
    private static let cache = Mutex<[[String]: String]>([:])

    /// The generated file for `arguments` (e.g. `["--size", "20000", "--seed", "5"]`). Read only.
    public static func original(_ arguments: [String]) throws -> String {
        try cache.withLock { files in
            if let path = files[arguments] { return path }
            let path = try TemporaryDirectory.make(prefix: "refold-generated").appendingPathComponent("events.db").path
            let generate = try RefoldRun.run(["generate", path] + arguments)
            guard generate.code == 0 else { throw TestSupportError("generate failed: \(generate.stderr)") }
            files[arguments] = path
            return path
        }
    }

    /// The generated file for `arguments` with `order_summary` rebuilt inline into it, once per
    /// process (a reference to compare other runs with). Read only.
    public static func rebuilt(_ arguments: [String]) throws -> String {
        try cache.withLock { files in
            let key = arguments + ["(rebuilt)"]
            if let path = files[key] { return path }
            let path = try TemporaryDirectory.make(prefix: "refold-reference").appendingPathComponent("events.db").path
            let generate = try RefoldRun.run(["generate", path] + arguments)
            guard generate.code == 0 else { throw TestSupportError("generate failed: \(generate.stderr)") }
            let rebuild = try RefoldRun.run(["rebuild", "order_summary", "--events", path, "--inline"])
            guard rebuild.code == 0 else { throw TestSupportError("rebuild failed: \(rebuild.stderr)") }
            files[key] = path
            return path
        }
    }

    /// A fresh copy of that file named `name` in a folder of its own.
    public static func copy(_ arguments: [String], name: String = "events.db") throws -> String {
        let copy = try TemporaryDirectory.make().appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: try original(arguments), toPath: copy)
        return copy
    }
}
