/// Gives each distinct aggregate id a small dense number (0, 1, 2 …), looked up from the
/// reader's borrowed bytes without allocating: the ids live end to end in one byte arena and
/// an open-addressing table of slots points into it. The table-order fold looks up one id per
/// event, so this is on the hottest path of a rebuild.
public struct AggregateInterner {
    /// Every id's bytes, end to end.
    @usableFromInline var arena: [UInt8] = []
    /// Where id n starts in `arena` (`starts[n + 1]` is where it ends).
    @usableFromInline var starts: [Int]
    /// Open addressing, linear probing. A slot keeps the id's hash, where its bytes start and
    /// how many there are, so a probe that finds its id reads one slot and the arena (and one
    /// that does not, only the slot).
    @usableFromInline struct Slot {
        @usableFromInline var hash: UInt64
        @usableFromInline var start: Int
        /// id + 1 (0 = empty).
        @usableFromInline var entry: Int32
        @usableFromInline var length: Int32

        @inlinable init(hash: UInt64, start: Int, entry: Int32, length: Int32) {
            self.hash = hash
            self.start = start
            self.entry = entry
            self.length = length
        }
    }
    @usableFromInline var slots: [Slot]
    @usableFromInline var mask: Int

    @inlinable
    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(hash: 0, start: 0, entry: 0, length: 0), count: size)
        mask = size - 1
        starts = [0]
    }

    /// An empty stand-in that allocates nothing, to hold a fold's place while its interner is
    /// moved out for a batch. Not for interning.
    @inlinable
    public static var placeholder: AggregateInterner { AggregateInterner(slots: [], mask: 0) }

    @inlinable
    init(slots: [Slot], mask: Int) {
        self.slots = slots
        self.mask = mask
        starts = []
    }

    /// Distinct ids seen.
    @inlinable
    public var count: Int { starts.count - 1 }

    /// The number of `bytes`, and whether it is new.
    @inlinable
    public mutating func intern(_ bytes: UnsafeRawBufferPointer) -> (id: Int, isNew: Bool) {
        let hash = Self.hash(bytes)
        var slot = Int(truncatingIfNeeded: hash) & mask
        let found: Int? = slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBytes { arena in
                while true {
                    let candidate = slots[slot]
                    if candidate.entry == 0 { return nil }
                    if candidate.hash == hash, Int(candidate.length) == bytes.count,
                       bytes.count == 0 || memcmp(arena.baseAddress! + candidate.start, bytes.baseAddress!, bytes.count) == 0 {
                        return Int(candidate.entry) - 1
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
        if let found { return (found, false) }
        let id = count
        let start = arena.count
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        slots[slot] = Slot(hash: hash, start: start, entry: Int32(id + 1), length: Int32(truncatingIfNeeded: bytes.count))
        if count * 2 > mask { grow() }
        return (id, true)
    }

    /// The bytes of id `id`.
    @inlinable
    public func bytes(_ id: Int) -> [UInt8] {
        Array(arena[starts[id]..<starts[id + 1]])
    }

    @usableFromInline
    mutating func grow() {
        let size = (mask + 1) * 2
        var newSlots = [Slot](repeating: Slot(hash: 0, start: 0, entry: 0, length: 0), count: size)
        let newMask = size - 1
        for slot in slots where slot.entry != 0 {
            var target = Int(truncatingIfNeeded: slot.hash) & newMask
            while newSlots[target].entry != 0 { target = (target + 1) & newMask }
            newSlots[target] = slot
        }
        slots = newSlots
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
        if index < count, count >= 8 {
            // The last 8 bytes in one load (overlapping the last word read).
            tail = bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else {
            var shift: UInt64 = 0
            while index < count {
                tail |= UInt64(bytes[index]) << shift
                shift += 8
                index += 1
            }
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        return h
    }
}

#if canImport(Glibc)
import Glibc
#endif
