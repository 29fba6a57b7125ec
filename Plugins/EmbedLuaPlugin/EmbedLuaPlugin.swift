import Foundation
import PackagePlugin

/// Embeds every `lua/*.lua` file of the package into the target as Swift string literals,
/// so the built binary carries its scripts and runs from any directory.
@main
struct EmbedLuaPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let luaDirectory = context.package.directoryURL.appending(path: "lua")
        let files = try FileManager.default
            .contentsOfDirectory(at: luaDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "lua" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedLuaScripts.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) Lua scripts from lua/",
                executable: try context.tool(named: "EmbedLuaTool").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
