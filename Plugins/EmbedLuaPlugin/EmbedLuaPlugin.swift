import Foundation
import PackagePlugin

/// Flattens every `lua/src/*.lua` script (resolving `--- @include` lines with `lua/include/`)
/// and embeds them into the target as Swift string literals, so the built binary carries its
/// scripts and runs from any directory.
@main
struct EmbedLuaPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let lua = context.package.directoryURL.appending(path: "lua")
        func files(_ folder: String) throws -> [URL] {
            try FileManager.default
                .contentsOfDirectory(at: lua.appending(path: folder), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "lua" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        let scripts = try files("src")
        let includes = try files("include")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedLuaScripts.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(scripts.count) Lua scripts from lua/src",
                executable: try context.tool(named: "EmbedLuaTool").url,
                arguments: ["embed", output.path, lua.appending(path: "include").path] + scripts.map(\.path),
                inputFiles: scripts + includes,
                outputFiles: [output]
            )
        ]
    }
}
