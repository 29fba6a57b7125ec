/// The checkpoint's rule for positions (`live.md`, "Positions and the checkpoint"), apart from
/// any I/O: the live service tells it which positions it read, and it answers how far the
/// checkpoint may move.
///
/// - A position missing from what was read is a hole. While it is younger than `grace` it
///   may still appear (a transaction took the id and has not committed), so the checkpoint
///   stops below it.
/// - A hole older than `grace` is a hole for good and is passed. It is still watched for
///   `watch` seconds: an event committed into it late is handed over to be folded (by the gap
///   rules), so nothing is lost.
public struct PositionTracker: Sendable, Equatable {
    /// Every position up to here is reflected (folded, or its aggregate quarantined).
    public private(set) var checkpoint: Int64
    /// The highest position read so far.
    public private(set) var lastRead: Int64
    private var young: [Int64: Double] = [:]
    private var old: [Int64: Double] = [:]
    public let grace: Double
    public let watch: Double

    public init(checkpoint: Int64, grace: Double, watch: Double = 60) {
        self.checkpoint = checkpoint
        self.lastRead = checkpoint
        self.grace = grace
        self.watch = max(watch, grace)
    }

    /// Records a read of (`lastRead`, `head`] that found `present` positions there.
    public mutating func read(through head: Int64, present: [Int64], now: Double) {
        guard head > lastRead else { return }
        let seen = Set(present)
        var position = lastRead + 1
        while position <= head {
            if !seen.contains(position) { young[position] = now }
            position += 1
        }
        lastRead = head
    }

    /// The holes to look at again: any of them may appear.
    public var watched: [Int64] { (Array(young.keys) + Array(old.keys)).sorted() }

    /// Holes that turned out to hold an event now.
    public mutating func appeared(_ positions: some Sequence<Int64>) {
        for position in positions {
            young[position] = nil
            old[position] = nil
        }
    }

    /// Moves the checkpoint as far as the rule allows now and returns it: just below the
    /// oldest young hole, else to the last position read. Holes past `grace` become old;
    /// old holes past `watch` are forgotten.
    public mutating func advance(now: Double) -> Int64 {
        for (position, since) in young where now - since >= grace {
            young[position] = nil
            old[position] = since
        }
        for (position, since) in old where now - since >= watch { old[position] = nil }
        let target = young.keys.min().map { $0 - 1 } ?? lastRead
        checkpoint = max(checkpoint, target)
        return checkpoint
    }
}
