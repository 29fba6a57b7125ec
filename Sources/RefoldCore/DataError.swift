/// Why an aggregate was quarantined: the contract's codes, checked in this order.
public enum QuarantineCode: String, Sendable, Equatable, CaseIterable {
    /// The next event's version is not `version + 1` (NULL, duplicate, or skipped).
    case versionGap = "version_gap"
    /// A handled event's payload is malformed, not an object, or lacks/mistypes a field.
    case badPayload = "bad_payload"
    /// A handled event other than the creating one before the aggregate has state.
    case beforePlaced = "before_placed"
    /// A second creating event.
    case duplicatePlaced = "duplicate_placed"
    /// 64-bit arithmetic overflow.
    case overflow = "overflow"
}

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

/// A read-model row produced by the fold: `data` reflects the aggregate's events 1…version.
public struct FoldedRow: Sendable, Equatable {
    public let aggregate: [UInt8]
    /// The row's JSON.
    public let data: [UInt8]
    public let version: Int64

    public init(aggregate: [UInt8], data: [UInt8], version: Int64) {
        self.aggregate = aggregate
        self.data = data
        self.version = version
    }
}
