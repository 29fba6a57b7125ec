extension Array where Element == UInt8 {
    /// Byte-for-byte equality with a borrowed buffer (aggregate ids are compared this way).
    @inlinable @inline(__always) public func equals(_ view: UnsafeRawBufferPointer) -> Bool {
        guard count == view.count else { return false }
        return withUnsafeBytes { mine in
            guard let a = mine.baseAddress, let b = view.baseAddress else { return true }
            return memcmp(a, b, view.count) == 0
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Byte-for-byte equality with a static ASCII string (case-sensitive).
    @inlinable @inline(__always) public func equals(_ text: StaticString) -> Bool {
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
