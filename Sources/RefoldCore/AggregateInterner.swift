/// Gives each distinct aggregate id a small dense number (0, 1, 2 …), looked up from the
/// reader's borrowed bytes without allocating: the ids live end to end in one byte arena and
/// an open-addressing table of slots points into it. The table-order fold looks up one id per
/// event, so this is on the hottest path of a rebuild.
public struct AggregateInterner {
    /// Every id's bytes, end to end.
    @usableFromInline var arena: [UInt8] = []
    /// Where id n starts in `arena` (`starts[n + 1]` is where it ends).
    @usableFromInline var starts: [Int] = [0]
    /// Open addressing, linear probing: slot → id + 1 (0 = empty).
    @usableFromInline var slots: [Int32]
    /// The hash of each slot's id, so a probe compares bytes only when hashes match.
    @usableFromInline var slotHashes: [UInt64]
    @usableFromInline var mask: Int

    @inlinable
    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        slotHashes = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// Distinct ids seen.
    @inlinable
    public var count: Int { starts.count - 1 }

    /// The number of `bytes`, and whether it is new.
    @inlinable
    public mutating func intern(_ bytes: UnsafeRawBufferPointer) -> (id: Int, isNew: Bool) {
        let hash = Self.hash(bytes)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            if slotHashes[slot] == hash, equals(Int(entry) - 1, bytes) { return (Int(entry) - 1, false) }
            slot = (slot + 1) & mask
        }
        let id = count
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        slots[slot] = Int32(id + 1)
        slotHashes[slot] = hash
        if count * 2 > mask { grow() }
        return (id, true)
    }

    /// The bytes of id `id`.
    @inlinable
    public func bytes(_ id: Int) -> [UInt8] {
        Array(arena[starts[id]..<starts[id + 1]])
    }

    @inlinable
    func equals(_ id: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let start = starts[id]
        let length = starts[id + 1] - start
        guard length == bytes.count else { return false }
        if length == 0 { return true }
        return arena.withUnsafeBytes { memcmp($0.baseAddress! + start, bytes.baseAddress!, length) == 0 }
    }

    @usableFromInline
    mutating func grow() {
        let size = (mask + 1) * 2
        var newSlots = [Int32](repeating: 0, count: size)
        var newHashes = [UInt64](repeating: 0, count: size)
        let newMask = size - 1
        for (slot, entry) in slots.enumerated() where entry != 0 {
            var target = Int(truncatingIfNeeded: slotHashes[slot]) & newMask
            while newSlots[target] != 0 { target = (target + 1) & newMask }
            newSlots[target] = entry
            newHashes[target] = slotHashes[slot]
        }
        slots = newSlots
        slotHashes = newHashes
        mask = newMask
    }

    /// A fast non-cryptographic hash of 8-byte words (ids are short and not chosen by an
    /// attacker who could profit: a collision only costs a longer probe).
    @inlinable
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(bytes.count &+ 1)
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            index += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while index < count {
            tail |= UInt64(bytes[index]) << shift
            shift += 8
            index += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        return h
    }
}

#if canImport(Glibc)
import Glibc
#endif
