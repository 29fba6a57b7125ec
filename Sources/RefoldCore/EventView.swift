/// One stored event as the fold sees it: a borrowed view of the reader's current row.
///
/// The buffers point into the event source's memory and are valid only during the call that
/// received the view; a projection copies what it keeps.
public struct EventView {
    /// The global position (`id`).
    public let position: Int64
    /// The aggregate id's bytes (`aggregate_uuid`).
    public let aggregate: UnsafeRawBufferPointer
    /// `aggregate_version`, nil when NULL.
    public let version: Int64?
    /// `event_class`, e.g. `App\Events\ItemAdded`.
    public let eventClass: UnsafeRawBufferPointer
    /// `event_properties`, the JSON payload.
    public let payload: UnsafeRawBufferPointer

    public init(position: Int64, aggregate: UnsafeRawBufferPointer, version: Int64?, eventClass: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) {
        self.position = position
        self.aggregate = aggregate
        self.version = version
        self.eventClass = eventClass
        self.payload = payload
    }

    /// The event type: the text after the last `\` of the class, or the whole class.
    /// Inlinable: a projection asks for it once per event.
    @inlinable @inline(__always)
    public var type: UnsafeRawBufferPointer {
        var index = eventClass.count
        while index > 0, eventClass[index &- 1] != UInt8(ascii: "\\") { index &-= 1 }
        return UnsafeRawBufferPointer(rebasing: eventClass[index...])
    }

    /// The event type as text (for messages).
    public var typeName: String { String(decoding: type, as: UTF8.self) }

    /// The aggregate id as text (for messages and reports).
    public var aggregateID: String { String(decoding: aggregate, as: UTF8.self) }
}
