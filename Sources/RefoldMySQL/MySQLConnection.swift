import CMariaDB
import Foundation
import RefoldStore

/// One MySQL or MariaDB connection over MariaDB Connector/C; the only owner of a `MYSQL*` and
/// of every result. All of Refold's pointer code for MySQL is in this file. Blocking: use it
/// from a thread of its own, never from the cooperative pool. Not shareable between threads.
///
/// Statements take `?` placeholders, filled client-side with escaped literals
/// (`mysql_real_escape_string`, in the connection's character set, utf8mb4).
public final class MySQLConnection {
    private var handle: UnsafeMutablePointer<MYSQL>?
    /// Connector/C's functions (loaded on first use: `LibMariaDB`).
    private let my: refold_my_api
    public let location: DatabaseLocation

    public static let connectTimeout: UInt32 = 5
    /// Seconds within which a connection failing for a transient reason (a time-out, a lost
    /// handshake, too many connections) is attempted again.
    public static let connectBudget = 30.0

    /// Connector/C failures worth another attempt: too many connections (1040), the server
    /// gone or lost during the handshake (2006, 2013), a connect that timed out (2003, errno 110).
    public static func isTransientConnectFailure(code: UInt32, _ message: String) -> Bool {
        switch code {
        case 1040, 2006, 2013: return true
        case 2003: return message.contains("(110)")
        default: return false
        }
    }

    public init(_ location: DatabaseLocation) throws(StoreError) {
        my = try LibMariaDB.load()
        self.location = location
        handle = my.mysql_init(nil)
        guard let handle else { throw StoreError(.infrastructure, "out of memory opening a MySQL connection.") }
        var timeout = Self.connectTimeout
        my.mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
        my.mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        var local: UInt32 = 0
        my.mysql_options(handle, MYSQL_OPT_LOCAL_INFILE, &local)
        // The URL names a host and a port: always TCP (Connector/C would take "localhost" to
        // mean the default Unix socket, which may be another server).
        var protocolTCP = UInt32(MYSQL_PROTOCOL_TCP.rawValue)
        my.mysql_options(handle, MYSQL_OPT_PROTOCOL, &protocolTCP)
        // A server that is busy, starting, or slow to answer the handshake is waited for within
        // `connectBudget`; a refusal, a wrong password or database fails at once.
        let deadline = Date().addingTimeInterval(Self.connectBudget)
        var pause = 0.2
        while my.mysql_real_connect(handle, location.host, location.user ?? "root", location.password, location.database,
                                 UInt32(location.port), nil, 0) == nil {
            let code = my.mysql_errno(handle)
            let message = String(cString: my.mysql_error(handle)!)
            guard Self.isTransientConnectFailure(code: code, message), Date().addingTimeInterval(pause) < deadline else {
                my.mysql_close(handle)
                self.handle = nil
                throw Self.connectFailure(code: code, message, location: location)
            }
            Thread.sleep(forTimeInterval: pause)
            pause = min(2, pause * 2)
        }
        try execute("SET time_zone = '+00:00'")
        try execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    }

    deinit {
        if let handle { my.mysql_close(handle) }
    }

    static func connectFailure(code: UInt32, _ raw: String, location: DatabaseLocation) -> StoreError {
        let message = location.masking(raw)
        let place = "MySQL at \(location.host):\(location.port)"
        switch Int32(code) {
        case ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR:
            if Int32(code) == ER_DBACCESS_DENIED_ERROR {
                return StoreError(.badInput, "\(place): user \(location.user ?? "root") may not use database \(location.database) (grant access, or check the database in the URL).")
            }
            return StoreError(.badInput, "\(place) refused the login of user \(location.user ?? "root"): wrong or missing password (give it in the URL or in MYSQL_PWD; it is never printed).")
        case ER_BAD_DB_ERROR:
            return StoreError(.badInput, "\(place): database \(location.database) does not exist (check the database in the URL).")
        default:
            return StoreError(.infrastructure, "cannot reach \(place) (database \(location.database)): \(message) — is the server running and the URL right?")
        }
    }

    private func failure(sql: String) -> StoreError {
        let code = my.mysql_errno(handle)
        let message = location.masking(String(cString: my.mysql_error(handle)!))
        let place = "MySQL \(location.host):\(location.port)/\(location.database)"
        switch Int32(code) {
        case ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT:
            return StoreError(.busy, "\(place): \(message) (error \(code)).")
        case ER_NO_SUCH_TABLE, ER_BAD_FIELD_ERROR, ER_PARSE_ERROR, ER_DUP_ENTRY, ER_DUP_KEY, ER_TABLE_EXISTS_ERROR,
             ER_BAD_NULL_ERROR, ER_TRUNCATED_WRONG_VALUE, ER_WRONG_VALUE_COUNT_ON_ROW, ER_CONSTRAINT_FAILED:
            return StoreError(.badInput, "\(place): \(message) (error \(code)).")
        case CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR:
            return StoreError(.infrastructure, "lost the connection to \(place): \(message).")
        default:
            return StoreError(.infrastructure, "\(place): \(message) (error \(code)).")
        }
    }

    /// The server's error number in a `StoreError` from this connection (1062 duplicate key …).
    public static func errorCode(of error: StoreError) -> Int? {
        guard let open = error.message.range(of: "(error ", options: .backwards) else { return nil }
        return Int(error.message[open.upperBound...].prefix { $0.isNumber })
    }

    /// `'text'` escaped for this connection.
    public func literal(_ text: String) -> String {
        var source = Array(text.utf8)
        var buffer = [CChar](repeating: 0, count: source.count * 2 + 1)
        let length = source.withUnsafeMutableBytes { raw in
            my.mysql_real_escape_string(handle, &buffer, raw.baseAddress?.assumingMemoryBound(to: CChar.self), UInt(raw.count))
        }
        source = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return "'" + String(decoding: source, as: UTF8.self) + "'"
    }

    /// `sql` with each `?` (outside quotes) replaced by the next value as a literal (nil: NULL).
    public func bind(_ sql: String, _ parameters: [String?]) -> String {
        guard !parameters.isEmpty else { return sql }
        var out = ""
        var index = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                out.append(character)
            } else if character == "'" || character == "`" || character == "\"" {
                quote = character
                out.append(character)
            } else if character == "?", index < parameters.count {
                out += parameters[index].map(literal) ?? "NULL"
                index += 1
            } else {
                out.append(character)
            }
        }
        return out
    }

    private func run(_ sql: String) throws(StoreError) {
        let status = sql.utf8CString.withUnsafeBufferPointer { buffer in
            my.mysql_real_query(handle, buffer.baseAddress, UInt(buffer.count - 1))
        }
        if status != 0 { throw failure(sql: sql) }
    }

    /// Runs one statement and returns its rows as text (none for statements without a result).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> MySQLRows {
        let text = bind(sql, parameters)
        try run(text)
        var rows = MySQLRows(affected: 0)
        guard let result = my.mysql_store_result(handle) else {
            if my.mysql_field_count(handle) != 0 { throw failure(sql: text) }
            rows.affected = Int(my.mysql_affected_rows(handle))
            return rows
        }
        defer { my.mysql_free_result(result) }
        let columns = Int(my.mysql_num_fields(result))
        while let row = my.mysql_fetch_row(result) {
            let lengths = my.mysql_fetch_lengths(result)
            var values: [String?] = []
            values.reserveCapacity(columns)
            for column in 0..<columns {
                if let field = row[column], let lengths {
                    values.append(String(decoding: UnsafeRawBufferPointer(start: field, count: Int(lengths[column])), as: UTF8.self))
                } else {
                    values.append(nil)
                }
            }
            rows.values.append(values)
        }
        return rows
    }

    public func execute(_ sql: String, _ parameters: [String?] = []) throws(StoreError) {
        try query(sql, parameters)
    }

    public func scalar(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> String? {
        try query(sql, parameters).values.first?.first ?? nil
    }

    public func scalarInt(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> Int64? {
        try scalar(sql, parameters).flatMap { Int64($0) }
    }

    /// The id the last `INSERT` generated on this connection.
    public var lastInsertID: Int64 { Int64(my.mysql_insert_id(handle)) }

    /// Streams a result row by row (`mysql_use_result`: nothing is buffered), handing each row's
    /// fields (nil for NULL) to `row`, pointing into the client's buffer: valid only during the
    /// call. `row` returning false (or throwing) stops the query on the server (`KILL QUERY`
    /// from a second connection) and discards the rest.
    public func stream(_ sql: String, _ parameters: [String?] = [], row: ([UnsafeRawBufferPointer?]) throws -> Bool) throws {
        let text = bind(sql, parameters)
        try run(text)
        guard let result = my.mysql_use_result(handle) else { throw failure(sql: text) }
        let columns = Int(my.mysql_num_fields(result))
        var stopped = false
        var thrown: (any Error)?
        var fields = [UnsafeRawBufferPointer?](repeating: nil, count: columns)
        while let values = my.mysql_fetch_row(result) {
            guard let lengths = my.mysql_fetch_lengths(result) else { break }
            for column in 0..<columns {
                fields[column] = values[column].map { UnsafeRawBufferPointer(start: $0, count: Int(lengths[column])) }
            }
            do {
                if try !row(fields) {
                    stopped = true
                }
            } catch {
                thrown = error
                stopped = true
            }
            if stopped {
                killRunningQuery()
                break
            }
        }
        let failed = !stopped && my.mysql_errno(handle) != 0 ? failure(sql: text) : nil
        my.mysql_free_result(result)
        if let thrown { throw thrown }
        if let failed { throw failed }
    }

    /// Stops this connection's running statement from a second connection.
    private func killRunningQuery() {
        let id = my.mysql_thread_id(handle)
        guard let other = try? MySQLConnection(location) else { return }
        try? other.execute("KILL QUERY \(id)")
    }
}

/// Rows of a text result.
public struct MySQLRows: Sendable {
    public var values: [[String?]] = []
    public var affected: Int
    public init(affected: Int) { self.affected = affected }
}

/// `` `name` `` with backticks doubled: a MySQL identifier.
public func quoteMySQLIdentifier(_ name: String) -> String {
    "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
}

/// A field's text as an integer (MySQL's text protocol sends numbers as digits).
func mysqlInteger(_ bytes: UnsafeRawBufferPointer) -> Int64 {
    var value: Int64 = 0
    var negative = false
    for byte in bytes {
        if byte == UInt8(ascii: "-") { negative = true; continue }
        value = value &* 10 &+ Int64(byte &- UInt8(ascii: "0"))
    }
    return negative ? -value : value
}

/// MariaDB Connector/C, loaded the first time a MySQL connection is opened rather than linked
/// (see `LibPQ`: a linked client library costs every refold process part of its start-up).
enum LibMariaDB {
    private static let loaded = LoadedLibrary(refold_my_load)

    static func load() throws(StoreError) -> refold_my_api {
        try loaded.api(for: "MySQL/MariaDB", library: "MariaDB Connector/C", package: "libmariadb3", variable: "REFOLD_LIBMARIADB")
    }
}
