/// A failure of the testing helpers themselves (a server that would not start, a deadline passed).
public struct TestingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
