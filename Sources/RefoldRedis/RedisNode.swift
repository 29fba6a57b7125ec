import CHiredis
import Foundation

/// A synchronous connection to one Redis server over hiredis; the only owner of a `redisContext`.
/// `RedisConnection` uses one for a single server, and one per node for a cluster.
///
/// All calls block the calling thread, so call them from a dedicated thread or process —
/// never from Swift's cooperative pool (the CLI runs them on the main thread and on
/// threads it starts for heartbeats).
///
/// The connection reconnects by itself: before each command it checks whether the server
/// closed the socket (a restart, `CLIENT KILL`, an idle timeout) and dials again, re-running
/// AUTH, SELECT and `SCRIPT LOAD` for every registered script. A failure *during* a command
/// is reported as `.connectionLost` (the command may have run), and the next call dials again.
///
/// ```swift
/// let redis = try RedisNode(RedisConfiguration(url: RedisURL(parsing: "redis://127.0.0.1:6379")))
/// try redis.send(RedisCommand("SET", "k", [0, 255, 0] as [UInt8]))
/// ```
final class RedisNode: @unchecked Sendable {
    // @unchecked Sendable is safe: the C handle and the script table are only touched
    // while `lock` is held, so two threads can share a connection (they take turns).
    private let lock = NSLock()
    private var context: UnsafeMutablePointer<redisContext>?
    private var scriptHashes: [String: String] = [:]
    /// Channels of subscriber mode (empty: a normal connection).
    private var subscriptions: [String] = []
    private let scripts: [String: RedisScript]

    /// Where this connection goes; the password inside is never printed.
    public let configuration: RedisConfiguration

    /// How many times this connection has dialed the server (1 after `init`).
    public var connectCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return dials
    }
    private var dials = 0

    /// Connects now, so a wrong address fails here with a clear `.unreachable` error.
    public init(_ configuration: RedisConfiguration, scripts: [RedisScript] = []) throws(RedisError) {
        self.configuration = configuration
        var table: [String: RedisScript] = [:]
        for script in scripts { table[script.name] = script }
        self.scripts = table
        lock.lock()
        defer { lock.unlock() }
        try connectLocked()
    }

    deinit {
        if let context { redisFree(context) }
    }

    // MARK: Commands

    /// Sends one command and waits for its reply; an error reply is thrown as `.server`.
    ///
    /// - Parameter extraWait: seconds to add to the command timeout, for blocking commands (`BLPOP … 5`).
    /// - Parameter asking: send `ASKING` first (a cluster's `ASK` redirect: this node is importing the slot).
    @discardableResult
    public func send(_ command: RedisCommand, extraWait: Double = 0, asking: Bool = false) throws(RedisError) -> RedisReply {
        lock.lock()
        defer { lock.unlock() }
        if asking { try askingLocked() }
        let reply = try sendLocked(command, extraWait: extraWait)
        if case .error(let text) = reply { throw serverError(text, command: command) }
        return reply
    }

    /// Sends many commands in one write and reads their replies in order.
    ///
    /// Error replies are returned in place (as `.error`), so one failing command does not hide
    /// the others' replies. A broken connection throws and drops the socket.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        lock.lock()
        defer { lock.unlock() }
        let context = try readyContextLocked()
        // One argv layout for the whole batch: three allocations per pipeline, not per command.
        let failed = withArgv(commands.flatMap(\.arguments)) { _, argv, lengths -> RedisCommand? in
            var offset = 0
            for command in commands {
                let count = command.arguments.count
                if redisAppendCommandArgv(context, Int32(count), argv + offset, lengths + offset) != REDIS_OK { return command }
                offset += count
            }
            return nil
        }
        if let failed { throw ioErrorLocked(context, command: failed) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for command in commands {
            var raw: UnsafeMutableRawPointer?
            if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                throw ioErrorLocked(context, command: command)
            }
            replies.append(Self.copyAndFree(raw))
        }
        return replies
    }

    // MARK: Scripts

    /// Runs a registered script with `EVALSHA`; reloads it and retries once on `NOSCRIPT`
    /// (after a `SCRIPT FLUSH` or a failover to a server that never saw it).
    ///
    /// - Parameter readOnly: send `EVALSHA_RO` (Redis 7): for scripts flagged `no-writes`, so a
    ///   user with read-only key permissions may run them, and replicas accept them.
    @discardableResult
    public func evalScript(_ name: String, keys: [String], arguments: [any RedisArgument], readOnly: Bool = false, asking: Bool = false) throws(RedisError) -> RedisReply {
        lock.lock()
        defer { lock.unlock() }
        guard let script = scripts[name] else {
            throw RedisError(.unknownScript, "the Lua script \"\(name)\" is not registered with this connection (known: \(scripts.keys.sorted().joined(separator: ", "))).")
        }
        // NOSCRIPT means the cache was flushed (or a failover reached a server that never saw
        // the script): reload and retry, a few times in case a flush lands in between.
        let attempts = 4
        for attempt in 0..<attempts {
            // Connecting (re)loads every script, so the hash is known after this call.
            _ = try readyContextLocked()
            guard let sha = scriptHashes[name] else { try loadScriptLocked(script); continue }
            var args: [any RedisArgument] = [sha, keys.count]
            args.append(contentsOf: keys as [any RedisArgument])
            args.append(contentsOf: arguments)
            let command = RedisCommand(readOnly ? "EVALSHA_RO" : "EVALSHA", arguments: args)
            if asking { try askingLocked() }
            let reply = try sendLocked(command, extraWait: 0)
            if case .error(let text) = reply {
                if text.hasPrefix("NOSCRIPT"), attempt < attempts - 1 {
                    try loadScriptLocked(script)
                    continue
                }
                throw serverError(text, what: "EVALSHA of \(name).lua")
            }
            return reply
        }
        throw RedisError(.server, "Redis at \(configuration.url.endpointDescription) kept answering NOSCRIPT for \(name).lua after SCRIPT LOAD; is something flushing scripts in a loop?")
    }

    // MARK: Subscriber mode

    /// Puts this connection in subscriber mode on `channels`: from now on it only reads the
    /// messages published there (`nextMessage`). A dropped connection is dialed again and
    /// subscribed again by the next `nextMessage` (messages published meanwhile are lost, as
    /// with any pub/sub subscriber).
    public func subscribe(_ channels: [String]) throws(RedisError) {
        lock.lock()
        defer { lock.unlock() }
        subscriptions = channels
        try subscribeLocked()
    }

    private func subscribeLocked() throws(RedisError) {
        let context = try readyContextLocked()
        let command = RedisCommand("SUBSCRIBE", arguments: subscriptions)
        let status = withArgv(command.arguments) { argc, argv, lengths in redisAppendCommandArgv(context, argc, argv, lengths) }
        guard status == REDIS_OK else { throw ioErrorLocked(context, command: command) }
        // One confirmation per channel.
        for _ in subscriptions {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, raw != nil else { throw ioErrorLocked(context, command: command) }
            let reply = Self.copyAndFree(raw)
            if case .error(let text) = reply { throw serverError(text, command: command) }
        }
    }

    /// The next message published on a subscribed channel, or nil when none arrives within
    /// `timeout` seconds. Blocks the calling thread: give the subscriber a thread of its own.
    public func nextMessage(timeout: Double) throws(RedisError) -> (channel: String, payload: [UInt8])? {
        lock.lock()
        defer { lock.unlock() }
        if context == nil { try subscribeLocked() }
        guard let context else { return nil }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, timeout) * 1e9)
        while true {
            // Replies hiredis has already read come first.
            var raw: UnsafeMutableRawPointer?
            guard redisGetReplyFromReader(context, &raw) == REDIS_OK else {
                throw ioErrorLocked(context, command: RedisCommand("SUBSCRIBE"))
            }
            if raw != nil {
                let reply = Self.copyAndFree(raw)
                if let parts = reply.array, parts.count == 3, parts[0].string == "message", let channel = parts[1].string {
                    return (channel, parts[2].bytes ?? [])
                }
                continue
            }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return nil }
            var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(1000, max(1, (deadline - now) / 1_000_000))))
            if ready == 0 { continue }
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0, redisBufferRead(context) == REDIS_OK else {
                throw ioErrorLocked(context, command: RedisCommand("SUBSCRIBE"))
            }
        }
    }

    // MARK: Internals (lock held)

    /// `ASKING`: the next command on this connection may touch a slot being imported here.
    private func askingLocked() throws(RedisError) {
        let reply = try sendLocked(RedisCommand("ASKING"), extraWait: 0)
        if case .error(let text) = reply { throw serverError(text, command: RedisCommand("ASKING")) }
    }

    private func loadScriptLocked(_ script: RedisScript) throws(RedisError) {
        let command = RedisCommand("SCRIPT", "LOAD", script.source)
        let reply = try sendLocked(command, extraWait: 0)
        guard let sha = reply.string, case .bulk = reply else {
            throw serverError(reply.errorText ?? "unexpected reply to SCRIPT LOAD", what: "SCRIPT LOAD of \(script.name).lua")
        }
        scriptHashes[script.name] = sha
    }

    private func sendLocked(_ command: RedisCommand, extraWait: Double) throws(RedisError) -> RedisReply {
        let context = try readyContextLocked()
        if extraWait > 0 { setTimeout(context, configuration.commandTimeout + extraWait) }
        let raw = withArgv(command.arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw ioErrorLocked(context, command: command) }
        if extraWait > 0 { setTimeout(context, configuration.commandTimeout) }
        return Self.copyAndFree(raw)
    }

    /// The live context, dialing again when there is none or the server closed the socket.
    private func readyContextLocked() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if let context, !peerHasClosed(context) { return context }
        dropLocked()
        try connectLocked()
        guard let context else {
            throw RedisError(.unreachable, "could not reach Redis at \(configuration.url.endpointDescription) — is redis-server running there?")
        }
        return context
    }

    /// True when the idle socket is readable or hung up: with no command in flight that can
    /// only mean the server closed it (or sent an error before closing).
    private func peerHasClosed(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        return ready != 0
    }

    private func connectLocked() throws(RedisError) {
        let where_ = configuration.url.endpointDescription
        let timeout = Self.timeval(configuration.connectTimeout)
        let made: UnsafeMutablePointer<redisContext>?
        switch configuration.url.endpoint {
        case .tcp(let host, let port):
            made = redisConnectWithTimeout(host, Int32(port), timeout)
        case .unixSocket(let path):
            made = redisConnectUnixWithTimeout(path, timeout)
        }
        guard let made else {
            throw RedisError(.unreachable, "could not reach Redis at \(where_): out of memory while connecting.")
        }
        if made.pointee.err != 0 {
            let reason = Self.errorString(made).lowercased()
            redisFree(made)
            throw RedisError(.unreachable, "could not reach Redis at \(where_): \(reason) — is redis-server running there?")
        }
        setTimeout(made, configuration.commandTimeout)
        // TCP keepalive is TCP's: on a Unix socket hiredis's call fails (TCP_KEEPIDLE, "operation
        // not supported") and leaves the context in error, so every command after it failed.
        if case .tcp = configuration.url.endpoint { _ = redisEnableKeepAlive(made) }
        context = made
        dials += 1
        // Whatever fails from here on, the next command dials again from scratch.
        do {
            try handshakeLocked(made)
        } catch {
            dropLocked()
            throw error
        }
    }

    /// AUTH, SELECT and the scripts, on a freshly dialed context.
    private func handshakeLocked(_ made: UnsafeMutablePointer<redisContext>) throws(RedisError) {
        let where_ = configuration.url.endpointDescription

        let url = configuration.url
        if let password = url.password {
            var args: [any RedisArgument] = []
            if let user = url.user { args.append(user) }
            args.append(password)
            let reply = try sendLocked(RedisCommand("AUTH", arguments: args), extraWait: 0)
            if case .error(let text) = reply {
                // The server's text never contains the password; ours neither.
                throw RedisError(.authentication, "Redis at \(where_) refused the password: \(Self.sentence(text))")
            }
        }
        if url.database != 0 {
            let reply = try sendLocked(RedisCommand("SELECT", url.database), extraWait: 0)
            if case .error(let text) = reply {
                if text.lowercased().contains("cluster") {
                    throw RedisError(.authentication, "Redis at \(where_) is a Redis Cluster node, which has only database 0: drop /\(url.database) from the URL (a cluster keeps applications apart by server, not by database).")
                }
                throw RedisError(.authentication, "Redis at \(where_) refused database \(url.database): \(text) (use a database number the server has: 0 to its databases setting − 1).")
            }
        }
        // Load every script on every (re)connect, so EVALSHA normally never sees NOSCRIPT.
        if !scripts.isEmpty {
            let names = scripts.keys.sorted()
            let context = made
            for name in names {
                let status = withArgv(RedisCommand("SCRIPT", "LOAD", scripts[name]!.source).arguments) { argc, argv, lengths in
                    redisAppendCommandArgv(context, argc, argv, lengths)
                }
                if status != REDIS_OK { throw ioErrorLocked(context, command: RedisCommand("SCRIPT", "LOAD")) }
            }
            for name in names {
                var raw: UnsafeMutableRawPointer?
                if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                    throw ioErrorLocked(context, command: RedisCommand("SCRIPT", "LOAD"))
                }
                let reply = Self.copyAndFree(raw)
                guard case .bulk = reply, let sha = reply.string else {
                    throw serverError(reply.errorText ?? "unexpected reply", what: "SCRIPT LOAD of \(name).lua")
                }
                scriptHashes[name] = sha
            }
        }
    }

    private func dropLocked() {
        if let context { redisFree(context) }
        context = nil
        scriptHashes.removeAll()
    }

    /// Turns a hiredis I/O failure into a typed error and drops the broken context.
    private func ioErrorLocked(_ context: UnsafeMutablePointer<redisContext>, command: RedisCommand) -> RedisError {
        let where_ = configuration.url.endpointDescription
        let text = Self.errorString(context)
        let protocolError = context.pointee.err == REDIS_ERR_PROTOCOL
        let timedOut = context.pointee.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK || text.contains("temporarily unavailable"))
        dropLocked()
        if protocolError {
            return RedisError(.notRedis, "the server at \(where_) does not speak the Redis protocol (it answered \(command.name) with something else: is it an HTTP or other server? Point to a redis-server).")
        }
        if timedOut {
            return RedisError(.timeout, "Redis at \(where_) did not answer \(command.name) within \(Self.seconds(configuration.commandTimeout)); the connection was closed and will be reopened on the next command.")
        }
        return RedisError(.connectionLost, "lost the connection to Redis at \(where_) during \(command.name): \(text.isEmpty ? "connection closed" : text.lowercased()); it will be reopened on the next command.")
    }

    private func serverError(_ text: String, command: RedisCommand) -> RedisError {
        serverError(text, what: command.name)
    }

    private func serverError(_ text: String, what: String) -> RedisError {
        let where_ = configuration.url.endpointDescription
        // A server that wants a password we did not give is the user's input to fix, not the server's failure.
        if text.hasPrefix("NOAUTH") {
            return RedisError(.authentication, "Redis at \(where_) requires a password and none was given (\(Self.sentence(text)))", serverMessage: text)
        }
        return RedisError(.server, "Redis at \(where_) rejected \(what): \(Self.sentence(text))", serverMessage: text)
    }

    /// A server's error text as the end of a sentence: one final period.
    static func sentence(_ text: String) -> String {
        var trimmed = Substring(text)
        while trimmed.last == "." { trimmed.removeLast() }
        return trimmed + "."
    }

    private func setTimeout(_ context: UnsafeMutablePointer<redisContext>, _ seconds: Double) {
        _ = redisSetTimeout(context, Self.timeval(seconds))
    }

    private static func timeval(_ seconds: Double) -> Glibc.timeval {
        let whole = seconds.rounded(.down)
        return Glibc.timeval(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1_000_000))
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(Int(value * 1000))ms"
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }

    // MARK: C memory

    /// Copies a reply tree into Swift values and frees it: the one place hiredis memory is released.
    private static func copyAndFree(_ raw: UnsafeMutableRawPointer?) -> RedisReply {
        guard let raw else { return .null }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return copy(reply)
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(copy(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// Lays out an argument vector in one buffer for the hiredis `*Argv` calls, which copy it.
private func withArgv<R>(
    _ arguments: [[UInt8]],
    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
) -> R {
    let total = arguments.reduce(0) { $0 + $1.count }
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
    let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(arguments.count, 1))
    let lengths = UnsafeMutablePointer<Int>.allocate(capacity: max(arguments.count, 1))
    defer {
        storage.deallocate()
        argv.deallocate()
        lengths.deallocate()
    }
    var offset = 0
    for (index, argument) in arguments.enumerated() {
        argument.withUnsafeBytes { source in
            if let base = source.baseAddress {
                UnsafeMutableRawPointer(storage + offset).copyMemory(from: base, byteCount: source.count)
            }
        }
        argv[index] = UnsafePointer(storage + offset)
        lengths[index] = argument.count
        offset += argument.count
    }
    return body(Int32(arguments.count), argv, lengths)
}

extension RedisReply {
    /// The text of an error reply, or nil.
    public var errorText: String? {
        if case .error(let text) = self { return text }
        return nil
    }
}
