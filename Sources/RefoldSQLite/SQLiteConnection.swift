import CSQLite
import Foundation

/// One SQLite connection; the only owner of a `sqlite3*` and of every statement made from it.
/// Not shareable between threads: each thread or process opens its own.
public final class SQLiteConnection {
    private var handle: OpaquePointer?
    /// The database file, for messages.
    public let path: String
    /// Seconds a statement waits for another connection's lock before failing with `.busy`.
    public let busyTimeout: Double

    /// The default wait for a lock: 30 s, or `REFOLD_SQLITE_BUSY_TIMEOUT_MS`.
    public static let busyTimeout: Double = {
        guard let text = ProcessInfo.processInfo.environment["REFOLD_SQLITE_BUSY_TIMEOUT_MS"], let milliseconds = Double(text), milliseconds >= 0 else { return 30 }
        return milliseconds / 1000
    }()

    /// Opens `path`. Read-only opens never create or change the file; `create` makes it if missing.
    public init(path: String, readOnly: Bool, create: Bool = false, busyTimeout: Double = SQLiteConnection.busyTimeout) throws(StoreError) {
        self.path = path
        self.busyTimeout = busyTimeout
        if readOnly || !create {
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreError(.badInput, "database file \(path) does not exist (check the path given to --events or --read-models).")
            }
        }
        // A read-only open is a `query_only` connection: SQLite refuses every write on it. It
        // is opened read-write when the file is writable because a SQLITE_OPEN_READONLY
        // connection to a WAL database creates the -wal and -shm files and, unable to
        // checkpoint, leaves them behind; read-write, the last connection to close removes them
        // as it found them. (The mode is not read from the file's header first: opening and
        // closing the file outside SQLite would drop this process's POSIX locks on it.)
        let queryOnly = readOnly && FileManager.default.isWritableFile(atPath: path)
        var flags = readOnly && !queryOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        handle = opened
        guard status == SQLITE_OK else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            handle = nil
            throw StoreError(.badInput, "cannot open database \(path): \(message) (is it an SQLite file you may \(readOnly ? "read" : "write")?).")
        }
        refold_sqlite_set_busy_timeout(opened, Int32(busyTimeout * 1000))
        sqlite3_extended_result_codes(opened, 1)
        // Fail now, not on the first query, if the file is not a database.
        do {
            if queryOnly { try execute("PRAGMA query_only = 1") }
            try execute("SELECT count(*) FROM sqlite_master")
        } catch {
            if (sqlite3_errcode(opened) & 0xFF) == SQLITE_NOTADB {
                throw StoreError(.badInput, "\(path) is not an SQLite database (check --events / --read-models).")
            }
            throw error
        }
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs SQL that returns no rows (several statements allowed).
    public func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &error)
        if status != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw failure(status, message, sql: sql)
        }
    }

    /// Compiles a statement.
    public func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw failure(status, String(cString: sqlite3_errmsg(handle)), sql: sql)
        }
        return SQLiteStatement(statement, connection: self)
    }

    /// The first column of the first row of a query, as an integer (nil for NULL or no row).
    public func scalarInt(_ sql: String, _ bindings: [SQLiteValue] = []) throws(StoreError) -> Int64? {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    /// The first column of the first row of a query, as text (nil for NULL or no row).
    public func scalarText(_ sql: String, _ bindings: [SQLiteValue] = []) throws(StoreError) -> String? {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.text(0)
    }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The journal mode in force (`wal`, `delete`, …).
    public func journalMode() throws(StoreError) -> String {
        let statement = try prepare("PRAGMA journal_mode")
        guard try statement.step() else { return "?" }
        return statement.text(0)
    }

    func failure(_ status: Int32, _ message: String, sql: String) -> StoreError {
        let primary = status & 0xFF
        if primary == SQLITE_BUSY || primary == SQLITE_LOCKED {
            return StoreError(.busy, "database \(path) stayed locked (\(message); busy timeout \(busyTimeout >= 1 ? "\(Int(busyTimeout)) s" : "\(Int(busyTimeout * 1000)) ms")): another connection holds a long transaction on it; retry once it has finished.")
        }
        if primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY {
            return StoreError(.infrastructure, "database \(path) failed: \(message).")
        }
        return StoreError(.infrastructure, "SQL failed on \(path): \(message) (statement: \(sql.prefix(120))).")
    }

    fileprivate var raw: OpaquePointer? { handle }
}

/// A value to bind to a statement parameter.
public enum SQLiteValue: Sendable {
    case int(Int64)
    case text(String)
    case bytes([UInt8])
    case null
}

/// A compiled statement; belongs to its connection's thread.
public final class SQLiteStatement {
    private let statement: OpaquePointer
    private let connection: SQLiteConnection

    fileprivate init(_ statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Binds values to ?1, ?2, … (text bound from bytes is copied by SQLite).
    public func bind(_ values: [SQLiteValue]) throws(StoreError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .int(let number): status = sqlite3_bind_int64(statement, index, number)
            case .text(let text): status = sqlite3_bind_text(statement, index, text, -1, refold_sqlite_transient())
            case .bytes(let bytes):
                status = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_text(statement, index, raw.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptyText, Int32(raw.count), refold_sqlite_transient())
                }
            case .null: status = sqlite3_bind_null(statement, index)
            }
            guard status == SQLITE_OK else {
                throw connection.failure(status, "cannot bind parameter \(index)", sql: String(cString: sqlite3_sql(statement)))
            }
        }
    }

    /// Binds text from raw bytes (no copy into a Swift array first).
    public func bindText(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        sqlite3_bind_text(statement, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? emptyText, Int32(bytes.count), refold_sqlite_transient())
    }

    public func bindInt(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(statement, index, value)
    }

    /// Advances; true while there is a row.
    public func step() throws(StoreError) -> Bool {
        let status = sqlite3_step(statement)
        if status == SQLITE_ROW { return true }
        if status == SQLITE_DONE { return false }
        let message = String(cString: sqlite3_errmsg(connection.raw))
        sqlite3_reset(statement)
        throw connection.failure(status, message, sql: String(cString: sqlite3_sql(statement)))
    }

    /// Runs to completion (for writes).
    public func run(_ values: [SQLiteValue] = []) throws(StoreError) {
        try bind(values)
        while try step() {}
        reset()
    }

    /// Resets for another run, ending its read transaction (bindings are kept).
    public func reset() {
        sqlite3_reset(statement)
    }

    public func clearBindings() {
        sqlite3_clear_bindings(statement)
    }

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(statement, column) == SQLITE_NULL
    }

    /// True when the column's value is stored as TEXT.
    public func isText(_ column: Int32) -> Bool {
        sqlite3_column_type(statement, column) == SQLITE_TEXT
    }

    public func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(statement, column)
    }

    /// The column's bytes, valid until the next step or reset.
    public func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_column_text(statement, column)
        let count = Int(sqlite3_column_bytes(statement, column))
        guard let pointer else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: pointer, count: count)
    }

    public func text(_ column: Int32) -> String {
        String(decoding: bytes(column), as: UTF8.self)
    }

    public func copyBytes(_ column: Int32) -> [UInt8] {
        Array(bytes(column))
    }
}

/// SQL identifier quoting: `"name"` with embedded quotes doubled.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// A valid pointer for empty text: a nil pointer would bind NULL instead of "".
private var emptyText: UnsafePointer<CChar> {
    UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
}
