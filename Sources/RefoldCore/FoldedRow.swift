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
