/// One event read from the store and kept (the engine's `EventView` borrows instead): what a
/// catch-up holds while it groups a delta by aggregate or waits for a missing version.
public struct StoredEvent: Sendable, Equatable {
    public let position: Int64
    public let aggregate: [UInt8]
    public let version: Int64?
    public let eventClass: [UInt8]
    public let payload: [UInt8]

    public init(position: Int64, aggregate: [UInt8], version: Int64?, eventClass: [UInt8], payload: [UInt8]) {
        self.position = position
        self.aggregate = aggregate
        self.version = version
        self.eventClass = eventClass
        self.payload = payload
    }

    /// Calls `body` with a view of this event (valid only inside `body`).
    public func withView<R>(_ body: (EventView) throws -> R) rethrows -> R {
        try aggregate.withUnsafeBytes { a in
            try eventClass.withUnsafeBytes { c in
                try payload.withUnsafeBytes { p in
                    try body(EventView(position: position, aggregate: a, version: version, eventClass: c, payload: p))
                }
            }
        }
    }

    /// Per-aggregate order: version (NULL first, as a gap), then position.
    public static func versionOrder(_ a: StoredEvent, _ b: StoredEvent) -> Bool {
        if a.version != b.version { return (a.version ?? .min) < (b.version ?? .min) }
        return a.position < b.position
    }
}
