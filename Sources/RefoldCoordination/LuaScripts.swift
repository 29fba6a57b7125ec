import RefoldRedis

/// The protocol's Lua scripts, embedded from `lua/*.lua` at build time (EmbedLuaPlugin).
public enum LuaScripts {
    /// The protocol version these scripts speak; fork.lua refuses any other.
    public static let protocolVersion = "1"

    /// Every script, by file name without `.lua`.
    public static var all: [RedisScript] { EmbeddedLuaScripts.all }
}
