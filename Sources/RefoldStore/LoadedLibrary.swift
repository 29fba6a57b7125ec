/// A C client library loaded on first use instead of linked (libpq, MariaDB Connector/C: see
/// their `shim.h`): the table of its functions, or why it could not be loaded. Loaded once,
/// by the shim's `…_load` function, when the value is made.
public struct LoadedLibrary<API>: @unchecked Sendable {
    /// The shim's table (static storage, never freed), or nil.
    private let table: UnsafePointer<API>?
    private let problem: String

    public init(_ load: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> UnsafePointer<API>?) {
        var problem: UnsafePointer<CChar>?
        table = load(&problem)
        self.problem = problem.map { String(cString: $0) } ?? ""
    }

    /// The functions, or one line saying who needs which library, why it could not be loaded
    /// and how to get it (exit 3).
    public func api(for user: String, library: String, package: String, variable: String) throws(StoreError) -> API {
        guard let table else {
            throw StoreError(.infrastructure, "\(user) needs \(library), which could not be loaded (\(problem)): install it (Debian: apt-get install \(package)) or name the file in \(variable).")
        }
        return table.pointee
    }
}
