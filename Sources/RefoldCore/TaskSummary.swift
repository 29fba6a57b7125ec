/// What one task of a rebuild did; stored as the task's result (JSON) in the protocol.
public struct TaskSummary: Sendable, Equatable {
    public var events: Int
    public var aggregates: Int
    public var rows: Int
    public var quarantined: [QuarantineRecord]
    public var seconds: Double
    /// The worker process's peak resident memory when it finished the task, in KiB.
    public var peakRSSKilobytes: Int64?

    public init(events: Int = 0, aggregates: Int = 0, rows: Int = 0, quarantined: [QuarantineRecord] = [], seconds: Double = 0, peakRSSKilobytes: Int64? = nil) {
        self.events = events
        self.aggregates = aggregates
        self.rows = rows
        self.quarantined = quarantined
        self.seconds = seconds
        self.peakRSSKilobytes = peakRSSKilobytes
    }
}
