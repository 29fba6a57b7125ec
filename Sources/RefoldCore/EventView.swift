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
    public var type: UnsafeRawBufferPointer {
        var index = eventClass.count
        while index > 0 {
            if eventClass[index - 1] == UInt8(ascii: "\\") { break }
            index -= 1
        }
        return UnsafeRawBufferPointer(rebasing: eventClass[index...])
    }

    /// The event type as text (for messages).
    public var typeName: String { String(decoding: type, as: UTF8.self) }

    /// The aggregate id as text (for messages and reports).
    public var aggregateID: String { String(decoding: aggregate, as: UTF8.self) }
}

extension Array where Element == UInt8 {
    /// Byte-for-byte equality with a borrowed buffer (aggregate ids are compared this way).
    @inline(__always) public func equals(_ view: UnsafeRawBufferPointer) -> Bool {
        guard count == view.count else { return false }
        return withUnsafeBytes { mine in
            guard let a = mine.baseAddress, let b = view.baseAddress else { return true }
            return memcmp(a, b, view.count) == 0
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Byte-for-byte equality with a static ASCII string (case-sensitive).
    @inline(__always) public func equals(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        guard let base = baseAddress else { return count == 0 }
        return memcmp(base, text.utf8Start, count) == 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
