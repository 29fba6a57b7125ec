import RefoldCore

/// Why a baseline file could not be read.
public struct BenchBaselineError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
