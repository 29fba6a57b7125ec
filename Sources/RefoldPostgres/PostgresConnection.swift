import CLibpq
import Foundation
import RefoldStore

/// One PostgreSQL connection over libpq; the only owner of a `PGconn*` and of every
/// `PGresult*`. All of Refold's pointer code for PostgreSQL is in this file. Blocking: use it
/// from a thread of its own (a command's main thread, a worker's loop, a `BlockingPool`),
/// never from the cooperative pool. Not shareable between threads.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    /// libpq's functions (loaded on first use: `LibPQ`).
    private let pq: refold_pq_api
    public let location: DatabaseLocation

    /// Seconds to wait for the server to accept a connection, per attempt.
    public static let connectTimeout = 5
    /// Seconds within which a connection failing for a transient reason (a time-out, a server
    /// starting up or out of connection slots) is attempted again.
    public static let connectBudget = 30.0

    /// libpq's texts for failures worth another attempt.
    public static func isTransientConnectFailure(_ message: String) -> Bool {
        let lower = message.lowercased()
        return ["timeout expired", "the database system is starting up", "the database system is shutting down",
                "the database system is in recovery mode", "too many clients", "remaining connection slots are reserved",
                "server closed the connection unexpectedly", "could not receive data from server"].contains { lower.contains($0) }
    }

    /// Connects. An unreachable server is `.infrastructure` (exit 3); a wrong password, an
    /// unknown user or database is `.badInput` (exit 2). The password is never in a message.
    public init(_ location: DatabaseLocation) throws(StoreError) {
        pq = try LibPQ.load()
        self.location = location
        var parts = [
            ("host", location.host), ("port", String(location.port)), ("dbname", location.database),
            ("connect_timeout", String(Self.connectTimeout)), ("application_name", "refold"), ("client_encoding", "UTF8"),
        ]
        if let user = location.user { parts.append(("user", user)) }
        if let password = location.password { parts.append(("password", password)) }
        for (key, value) in location.parameters { parts.append((key, value)) }
        let info = parts.map { "\($0.0)='\($0.1.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'"))'" }.joined(separator: " ")
        // A server that is busy, starting, or slow to fork a backend is waited for within
        // `connectBudget`; a refusal, a wrong password or database fails at once.
        let deadline = Date().addingTimeInterval(Self.connectBudget)
        var pause = 0.2
        while true {
            handle = pq.PQconnectdb(info)
            if let handle, pq.PQstatus(handle) == CONNECTION_OK { break }
            let message = handle.map { String(cString: pq.PQerrorMessage($0)!) } ?? "out of memory"
            pq.PQfinish(handle)
            self.handle = nil
            guard Self.isTransientConnectFailure(message), Date().addingTimeInterval(pause) < deadline else {
                throw Self.connectFailure(message, location: location)
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(2, pause * 2)
        }
        guard let handle else { throw StoreError(.infrastructure, "lost the PostgreSQL connection while opening it.") }
        // Quiet notices (they would go to stderr); UTC timestamps; no statement timeout.
        _ = pq.PQsetNoticeProcessor(handle, { _, _ in }, nil)
        try execute("SET TIME ZONE 'UTC'")
    }

    deinit {
        pq.PQfinish(handle)
    }

    static func connectFailure(_ raw: String, location: DatabaseLocation) -> StoreError {
        // libpq's text: "connection to server at … failed: <reason>\n\t<hint>"; keep the reason.
        let firstLine = raw.split(separator: "\n").first.map(String.init) ?? raw
        let message = location.masking(firstLine.trimmingCharacters(in: .whitespacesAndNewlines))
        let lower = message.lowercased()
        let place = "PostgreSQL at \(location.host):\(location.port)"
        if lower.contains("password authentication failed") || lower.contains("no password supplied") || lower.contains("authentication failed") {
            return StoreError(.badInput, "\(place) refused the login of user \(location.user ?? "(default)"): wrong or missing password (give it in the URL or in PGPASSWORD; it is never printed).")
        }
        if lower.contains("does not exist") {
            return StoreError(.badInput, "\(place): \(Self.serverText(message)) (check the user and database in the URL).")
        }
        return StoreError(.infrastructure, "cannot reach \(place) (database \(location.database)): \(Self.serverText(message)) — is the server running and the URL right?")
    }

    /// libpq's message without its "connection to server at … failed:" preamble.
    static func serverText(_ message: String) -> String {
        var text = message
        if let range = text.range(of: "failed: ", options: .backwards) { text = String(text[range.upperBound...]) }
        if text.hasPrefix("FATAL:  ") { text = String(text.dropFirst(8)) }
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A failed result as a `StoreError`, classified by SQLSTATE.
    private func failure(_ result: OpaquePointer?, sql: String) -> StoreError {
        let state = result.flatMap { pq.PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        var message = result.flatMap { pq.PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
            ?? String(cString: pq.PQerrorMessage(handle)!).trimmingCharacters(in: .whitespacesAndNewlines)
        message = location.masking(message)
        let place = "PostgreSQL \(location.host):\(location.port)/\(location.database)"
        switch state {
        case "3F000", "3D000":
            return StoreError(.badInput, "\(place): \(message) (SQLSTATE \(state)); create the schema, or fix search_path in the URL's options.")
        case "40001", "40P01", "55P03", "57014":
            return StoreError(.busy, "\(place): \(message) (SQLSTATE \(state)).")
        case let code where code.hasPrefix("42") || code.hasPrefix("22") || code.hasPrefix("23"):
            return StoreError(.badInput, "\(place): \(message) (SQLSTATE \(state)).")
        default:
            if pq.PQstatus(handle) != CONNECTION_OK {
                return StoreError(.infrastructure, "lost the connection to \(place): \(message).")
            }
            return StoreError(.infrastructure, "\(place): \(message)\(state.isEmpty ? "" : " (SQLSTATE \(state))").")
        }
    }

    /// The SQLSTATE of the last failure (`42P01` undefined table …), for callers that branch on it.
    public static func sqlState(of error: StoreError) -> String? {
        guard let open = error.message.range(of: "(SQLSTATE ", options: .backwards) else { return nil }
        return String(error.message[open.upperBound...].prefix(5))
    }

    /// Runs SQL that returns no rows (several statements allowed when there are no parameters).
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(StoreError) {
        _ = try query(sql, parameters)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …) and returns its rows as text.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> PostgresRows {
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = pq.PQexec(handle, sql)
        } else {
            var pointers: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
            defer { for pointer in pointers { free(pointer) } }
            result = pointers.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { values in
                    pq.PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
                }
            }
        }
        defer { pq.PQclear(result) }
        let status = pq.PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure(result, sql: sql) }
        var rows = PostgresRows(affected: Int(String(cString: pq.PQcmdTuples(result)!)) ?? 0)
        let count = Int(pq.PQntuples(result))
        let columns = Int(pq.PQnfields(result))
        rows.values.reserveCapacity(count)
        for row in 0..<count {
            var values: [String?] = []
            values.reserveCapacity(columns)
            for column in 0..<columns {
                if pq.PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: pq.PQgetvalue(result, Int32(row), Int32(column))!))
                }
            }
            rows.values.append(values)
        }
        return rows
    }

    /// One value of the first row (nil: no row, or NULL).
    public func scalar(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> String? {
        try query(sql, parameters).values.first?.first ?? nil
    }

    public func scalarInt(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> Int64? {
        try scalar(sql, parameters).flatMap { Int64($0) }
    }

    /// A SQL string literal for `text` (for `COPY (query)`, which takes no parameters).
    public func literal(_ text: String) -> String {
        guard let escaped = pq.PQescapeLiteral(handle, text, text.utf8.count) else { return "NULL" }
        defer { pq.PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// Runs `COPY (…) TO STDOUT (FORMAT binary)` and hands each row to `row` as its fields
    /// (nil for NULL), pointing into libpq's buffer: valid only during the call. `row`
    /// returning false stops the copy (the rest is cancelled and discarded).
    public func copyOut(_ sql: String, row: (borrowing PostgresBinaryRow) throws -> Bool) throws {
        let start = pq.PQexec(handle, sql)
        let status = pq.PQresultStatus(start)
        guard status == PGRES_COPY_OUT else {
            defer { pq.PQclear(start) }
            throw failure(start, sql: sql)
        }
        pq.PQclear(start)
        var headerSkipped = false
        var stopped = false
        var thrown: (any Error)?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = pq.PQgetCopyData(handle, &buffer, 0)
            if length == -1 { break }
            if length == -2 {
                throw StoreError(.infrastructure, "lost the connection to PostgreSQL \(location.host):\(location.port) during a read: \(location.masking(String(cString: pq.PQerrorMessage(handle)!)).trimmingCharacters(in: .whitespacesAndNewlines)).")
            }
            guard let buffer else { continue }
            defer { pq.PQfreemem(buffer) }
            if stopped { continue }
            var bytes = UnsafeRawBufferPointer(start: buffer, count: Int(length))
            if !headerSkipped {
                // "PGCOPY\n\377\r\n\0", flags (int32), header extension length (int32) + extension.
                guard bytes.count >= 19 else { continue }
                let extensionLength = Int(bytes.loadUnaligned(fromByteOffset: 15, as: UInt32.self).bigEndian)
                bytes = UnsafeRawBufferPointer(rebasing: bytes[(19 + extensionLength)...])
                headerSkipped = true
                if bytes.isEmpty { continue }
            }
            let fields = Int(Int16(bigEndian: bytes.loadUnaligned(as: Int16.self)))
            if fields < 0 { continue }  // the trailer
            let parsed = PostgresBinaryRow(bytes: bytes, fields: fields)
            do {
                if try !row(parsed) {
                    stopped = true
                    cancel()
                }
            } catch {
                thrown = error
                stopped = true
                cancel()
            }
        }
        // Collect the COPY's final result (a cancelled copy ends in an error: expected).
        var failed: StoreError?
        while let result = pq.PQgetResult(handle) {
            if pq.PQresultStatus(result) != PGRES_COMMAND_OK, !stopped, failed == nil { failed = failure(result, sql: sql) }
            pq.PQclear(result)
        }
        if let thrown { throw thrown }
        if let failed { throw failed }
    }

    /// Asks the server to cancel the running statement.
    private func cancel() {
        guard let cancel = pq.PQgetCancel(handle) else { return }
        var message = [CChar](repeating: 0, count: 256)
        _ = pq.PQcancel(cancel, &message, Int32(message.count))
        pq.PQfreeCancel(cancel)
    }

    /// Runs `COPY … FROM STDIN (FORMAT binary)` with `data` (rows built by `PostgresBinaryWriter`).
    public func copyIn(_ sql: String, _ data: [UInt8]) throws(StoreError) {
        let start = pq.PQexec(handle, sql)
        guard pq.PQresultStatus(start) == PGRES_COPY_IN else {
            defer { pq.PQclear(start) }
            throw failure(start, sql: sql)
        }
        pq.PQclear(start)
        var offset = 0
        let chunk = 1 << 20
        var ok = true
        data.withUnsafeBytes { raw in
            while offset < raw.count, ok {
                let count = min(chunk, raw.count - offset)
                let base = raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                ok = pq.PQputCopyData(handle, base, Int32(count)) == 1
                offset += count
            }
        }
        _ = pq.PQputCopyEnd(handle, ok ? nil : "refold: the copy was aborted")
        var failed: StoreError?
        while let result = pq.PQgetResult(handle) {
            if pq.PQresultStatus(result) != PGRES_COMMAND_OK, failed == nil { failed = failure(result, sql: sql) }
            pq.PQclear(result)
        }
        if let failed { throw failed }
    }

    /// LISTEN on a channel, then `waitForNotification` returns when one arrives (or after `timeout`).
    public func listen(_ channel: String) throws(StoreError) {
        try execute("LISTEN \(quotePostgresIdentifier(channel))")
    }

    /// Waits up to `timeout` seconds for a notification; returns how many arrived.
    public func waitForNotification(timeout: Double) -> Int {
        var count = drainNotifications()
        if count > 0 { return count }
        let socket = pq.PQsocket(handle)
        guard socket >= 0 else { return 0 }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, Int32(max(0, timeout * 1000))) > 0 {
            _ = pq.PQconsumeInput(handle)
            count = drainNotifications()
        }
        return count
    }

    private func drainNotifications() -> Int {
        _ = pq.PQconsumeInput(handle)
        var count = 0
        while let note = pq.PQnotifies(handle) {
            count += 1
            pq.PQfreemem(note)
        }
        return count
    }
}

/// Rows of a text-format result.
public struct PostgresRows: Sendable {
    public var values: [[String?]] = []
    /// Rows the command affected (`INSERT`, `UPDATE`, `DELETE`).
    public var affected: Int
    public init(affected: Int) { self.affected = affected }
}

/// One row of a binary `COPY`: fields read in order, pointing into libpq's buffer.
public struct PostgresBinaryRow: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    public let fields: Int

    init(bytes: UnsafeRawBufferPointer, fields: Int) {
        self.bytes = bytes
        self.fields = fields
    }

    /// Each field's bytes (nil for NULL), in order.
    public func withFields<R>(_ body: ([UnsafeRawBufferPointer?]) throws -> R) rethrows -> R {
        var out: [UnsafeRawBufferPointer?] = []
        out.reserveCapacity(fields)
        var offset = 2
        for _ in 0..<fields {
            let length = Int(Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
            offset += 4
            if length < 0 {
                out.append(nil)
            } else {
                out.append(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))
                offset += length
            }
        }
        return try body(out)
    }
}

/// A binary `COPY … FROM STDIN` stream, built in memory.
public struct PostgresBinaryWriter {
    public private(set) var data: [UInt8]

    public init() {
        data = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    }

    public mutating func startRow(fields: Int) {
        append16(Int16(fields))
    }

    public mutating func text<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        append32(Int32(bytes.count))
        data.append(contentsOf: bytes)
    }

    public mutating func int64(_ value: Int64) {
        append32(8)
        withUnsafeBytes(of: value.bigEndian) { data.append(contentsOf: $0) }
    }

    public mutating func int16(_ value: Int16) {
        append32(2)
        append16(value)
    }

    /// A field's bytes as they are (binary send formats such as a uuid's 16 bytes).
    public mutating func raw(_ bytes: [UInt8]) {
        append32(Int32(bytes.count))
        data.append(contentsOf: bytes)
    }

    public mutating func null() { append32(-1) }

    public mutating func finish() { append16(-1) }

    public var isEmpty: Bool { data.count <= 19 }

    private mutating func append16(_ value: Int16) { withUnsafeBytes(of: value.bigEndian) { data.append(contentsOf: $0) } }
    private mutating func append32(_ value: Int32) { withUnsafeBytes(of: value.bigEndian) { data.append(contentsOf: $0) } }
}

/// `"name"` with quotes doubled: a PostgreSQL identifier.
public func quotePostgresIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// A field's bytes as a big-endian integer (int2, int4, int8).
public func postgresInteger(_ bytes: UnsafeRawBufferPointer) -> Int64 {
    switch bytes.count {
    case 8: return Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
    case 4: return Int64(Int32(bigEndian: bytes.loadUnaligned(as: Int32.self)))
    case 2: return Int64(Int16(bigEndian: bytes.loadUnaligned(as: Int16.self)))
    default: return 0
    }
}

/// libpq, loaded the first time a PostgreSQL connection is opened rather than linked: a linked
/// libpq and the twenty libraries it pulls in (Kerberos, LDAP, TLS) cost every refold process
/// about 8 ms of start-up, SQLite-only runs included. A machine without it gets one line.
enum LibPQ {
    private static let loaded = LoadedLibrary(refold_pq_load)

    static func load() throws(StoreError) -> refold_pq_api {
        try loaded.api(for: "PostgreSQL", library: "libpq", package: "libpq5", variable: "REFOLD_LIBPQ")
    }
}
