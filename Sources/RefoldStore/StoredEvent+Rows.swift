import RefoldCore

extension StoredEvent {
    /// An event from a text-protocol row `(id, aggregate, version, event_class, payload)`, as the
    /// server stores read them; nil for a row without a position or an aggregate.
    public init?(textRow row: [String?]) {
        guard row.count >= 5, let position = row[0].flatMap({ Int64($0) }), let aggregate = row[1] else { return nil }
        self.init(position: position, aggregate: Array(aggregate.utf8), version: row[2].flatMap { Int64($0) },
                  eventClass: Array((row[3] ?? "").utf8), payload: Array((row[4] ?? "").utf8))
    }

    /// Every event after `after`, read in pages of `chunk` by position (keyset): `page(cursor)`
    /// returns the next page after `cursor`.
    public static func paged(after: Int64, chunk: Int, page: (Int64) throws(StoreError) -> [StoredEvent]) throws(StoreError) -> [StoredEvent] {
        var out: [StoredEvent] = []
        var cursor = after
        while true {
            let events = try page(cursor)
            out += events
            guard events.count == chunk, let last = events.last else { return out }
            cursor = last.position
        }
    }
}
