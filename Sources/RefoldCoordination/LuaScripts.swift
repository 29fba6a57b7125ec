import RefoldRedis

/// The protocol's Lua scripts, embedded from `lua/*.lua` at build time (EmbedLuaPlugin).
public enum LuaScripts {
    /// The protocol version these scripts speak; fork.lua refuses any other.
    public static let protocolVersion = "1"

    /// Every script, by file name without `.lua`.
    public static var all: [RedisScript] { EmbeddedLuaScripts.all }

    /// One script's text, or nil.
    public static func source(named name: String) -> String? {
        all.first { $0.name == name }?.source
    }
}
