/// A quarantined aggregate, as the report and the quarantine table record it.
public struct QuarantineRecord: Sendable, Equatable {
    public let aggregate: String
    /// `aggregate_version` of the offending event (nil when NULL).
    public let version: Int64?
    /// Global position (`id`) of the offending event.
    public let position: Int64
    public let code: QuarantineCode
    public let reason: String

    public init(aggregate: String, version: Int64?, position: Int64, code: QuarantineCode, reason: String) {
        self.aggregate = aggregate
        self.version = version
        self.position = position
        self.code = code
        self.reason = reason
    }
}
