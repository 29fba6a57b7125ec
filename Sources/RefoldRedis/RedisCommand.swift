/// A value that can be sent as one binary-safe argument of a Redis command.
public protocol RedisArgument: Sendable {
    /// The exact bytes sent to the server.
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}

/// One Redis command as an argument vector; sent with `redisCommandArgv`, so any byte is allowed.
///
/// ```swift
/// let reply = try connection.send(RedisCommand("SET", "greeting", "hello"))
/// ```
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// The command name followed by its arguments, as raw bytes.
    public var arguments: [[UInt8]]

    /// A command from its name and arguments.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisBytes)
    }

    /// A command from a name and an argument list built at run time.
    public init(_ name: String, arguments: [any RedisArgument]) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisBytes)
    }

    /// The command's name, for messages (arguments are never printed: they may hold data).
    public var name: String {
        arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? "(empty)"
    }

    public var description: String { name }
}
