/// Why an aggregate was quarantined: a short snake_case word stored with the record.
///
/// The engine's own codes are here; a projection adds its own as static members, as
/// `order_summary` does with `before_placed`, `duplicate_placed` and `overflow`:
///
/// ```swift
/// extension QuarantineCode {
///     /// A refund larger than what was paid.
///     static let overRefund: QuarantineCode = "over_refund"
/// }
/// throw DataError(.overRefund, "refund of 500 cents exceeds the 300 paid")
/// ```
public struct QuarantineCode: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }

    public var description: String { rawValue }

    /// The next event's version is not `version + 1` (NULL, duplicate, or skipped): the engine's own check.
    public static let versionGap: QuarantineCode = "version_gap"
    /// A handled event's payload is malformed, not an object, or lacks/mistypes a field.
    public static let badPayload: QuarantineCode = "bad_payload"
}
