/// A data error in one event: the aggregate stops there and is quarantined. Never guessed around.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: QuarantineCode
    /// A human-readable reason naming the field or rule.
    public let reason: String

    public init(_ code: QuarantineCode, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
