/// One Lua script of the protocol: its name (the file name without `.lua`) and its exact text.
public struct RedisScript: Sendable, Equatable {
    public let name: String
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}
