import Foundation
import RefoldCoordination
import Testing

/// The binary's embedded scripts (flattened from lua/src and lua/include at build time) are
/// exactly the committed files of lua/ that other languages load; shared code lives in
/// includes, not copies.
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
            #expect(onDisk == script.source, "lua/\(script.name).lua is not the flattened lua/src/\(script.name).lua: run scripts/flatten-lua.sh")
        }
    }

    /// Scripts that are not about one job: their own keys, checked by each (written: the
    /// aggregate's; leader: the projection's lease; request*: the projection's queue).
    static let otherScripts: Set<String> = ["written", "leader", "request", "request_take", "request_finish"]

    @Test func sourcesNameTheirKeysAndShareCodeThroughIncludes() throws {
        let sources = Self.luaDirectory.appendingPathComponent("src")
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".lua") && !Self.otherScripts.contains(String(file.dropLast(4))) {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            #expect(text.contains("--- @include \"prelude\""), "\(file) does not start from the prelude")
            // Keys are named once, in the prelude (key.job, key.ready, …), never KEYS[n] in a script.
            #expect(text.range(of: #"KEYS\[[0-9]+\]"#, options: .regularExpression) == nil, "\(file) uses a bare KEYS[n]")
            #expect(!text.contains("BEGIN shared"), "\(file) still carries a copied block")
        }
        for script in LuaScripts.all {
            #expect(!script.source.contains("--- @include"), "\(script.name).lua has an unresolved include")
            if !Self.otherScripts.contains(script.name) {
                #expect(script.source.contains("local key = {"), "\(script.name).lua lacks the named keys")
            }
        }
    }

    @Test func everyScriptTakesTheJobKeysAndValidatesThem() {
        for script in LuaScripts.all where !Self.otherScripts.contains(script.name) {
            #expect(script.source.contains("#KEYS ~= 14"), "\(script.name).lua does not check its KEYS")
        }
        for name in Self.otherScripts {
            let script = LuaScripts.all.first { $0.name == name }
            #expect(script?.source.contains("#KEYS ~=") == true, "\(name).lua does not check its KEYS")
        }
    }
}
