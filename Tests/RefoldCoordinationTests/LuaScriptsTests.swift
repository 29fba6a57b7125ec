import Foundation
import RefoldCoordination
import Testing

/// The binary's embedded scripts are exactly the files of lua/, and the helper blocks that
/// several scripts share (Lua has no includes in EVALSHA) are identical copies.
@Suite struct LuaScriptsTests {
    static let luaDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("lua")

    @Test func embeddedTextEqualsFilesOnDisk() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.luaDirectory.path).filter { $0.hasSuffix(".lua") }.sorted()
        #expect(files.count == LuaScripts.all.count)
        #expect(files.map { String($0.dropLast(4)) } == LuaScripts.all.map(\.name))
        for script in LuaScripts.all {
            let onDisk = try String(contentsOf: Self.luaDirectory.appendingPathComponent("\(script.name).lua"), encoding: .utf8)
            #expect(onDisk == script.source, "\(script.name).lua differs from the embedded copy")
        }
    }

    @Test(arguments: ["clock", "progress", "finalize", "settle", "bury"])
    func sharedBlocksAreIdentical(_ block: String) throws {
        var copies: [String: String] = [:]
        for script in LuaScripts.all {
            let lines = script.source.split(separator: "\n", omittingEmptySubsequences: false)
            guard let begin = lines.firstIndex(where: { $0.hasPrefix("-- BEGIN shared \(block)") }) else { continue }
            guard let end = lines[begin...].firstIndex(where: { $0 == "-- END shared \(block)" }) else {
                Issue.record("\(script.name).lua opens shared \(block) without closing it")
                continue
            }
            copies[script.name] = lines[begin...end].joined(separator: "\n")
        }
        #expect(copies.count >= 2, "shared \(block) should appear in at least two scripts")
        #expect(Set(copies.values).count == 1, "copies of shared \(block) differ: \(copies.keys.sorted())")
    }

    @Test func everyScriptTakesTheJobKeysAndValidatesThem() {
        for script in LuaScripts.all {
            #expect(script.source.contains("#KEYS ~= 14"), "\(script.name).lua does not check its KEYS")
        }
    }
}
