/// The one error type of the stores (SQLite, PostgreSQL).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// The file, table or column the user named is not there or not usable: exit 2.
        case badInput
        /// The database is full, corrupt, or the disk failed: exit 3.
        case infrastructure
        /// Another connection's transaction kept the database locked past the busy timeout
        /// (30 s), or a lock wait would have deadlocked: exit 3 for a command; a service
        /// (`refold run`) retries within its budget.
        case busy
        /// Another rebuild holds the model's lock: exit 2 (run later, or cancel the other).
        case locked
        /// The caller asked a long read to stop (lease lost, shutdown).
        case stopped
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
