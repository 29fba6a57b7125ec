import RefoldCore
import Testing

/// The checkpoint's rule for holes in positions (live.md), without a database or a clock.
@Suite struct PositionTrackerTests {
    @Test func noHolesMovesTheCheckpointToTheLastRead() {
        var tracker = PositionTracker(checkpoint: 100, grace: 3)
        tracker.read(through: 105, present: [101, 102, 103, 104, 105], now: 0)
        #expect(tracker.advance(now: 0) == 105)
        #expect(tracker.watched.isEmpty)
    }

    @Test func aYoungHoleHoldsTheCheckpointBelowItUntilGraceThenIsPassed() {
        var tracker = PositionTracker(checkpoint: 100, grace: 3, watch: 60)
        tracker.read(through: 105, present: [101, 102, 104, 105], now: 10)
        #expect(tracker.advance(now: 10) == 102)
        #expect(tracker.watched == [103])
        #expect(tracker.advance(now: 12.9) == 102)
        // Past the grace it is a hole for good: passed, but still watched for late commits.
        #expect(tracker.advance(now: 13) == 105)
        #expect(tracker.watched == [103])
        #expect(tracker.advance(now: 70) == 105)
        #expect(tracker.watched.isEmpty)
    }

    @Test func aHoleThatFillsLetsTheCheckpointMoveOn() {
        var tracker = PositionTracker(checkpoint: 0, grace: 3)
        tracker.read(through: 4, present: [1, 3, 4], now: 0)
        #expect(tracker.advance(now: 1) == 1)
        tracker.appeared([2])
        #expect(tracker.advance(now: 1) == 4)
    }

    @Test func theCheckpointNeverMovesBackwards() {
        var tracker = PositionTracker(checkpoint: 50, grace: 3)
        tracker.read(through: 60, present: Array(51...60), now: 0)
        #expect(tracker.advance(now: 0) == 60)
        tracker.read(through: 70, present: Array(62...70), now: 1)
        #expect(tracker.advance(now: 1) == 60)
        tracker.read(through: 60, present: [], now: 2)
        #expect(tracker.lastRead == 70)
    }

    @Test func severalHolesHoldTheCheckpointBelowTheOldestYoungOne() {
        var tracker = PositionTracker(checkpoint: 0, grace: 3)
        tracker.read(through: 10, present: [1, 2, 4, 5, 7, 8, 9, 10], now: 0)
        tracker.read(through: 12, present: [12], now: 2)
        #expect(tracker.advance(now: 2) == 2)
        #expect(tracker.advance(now: 3) == 10, "3 and 6 expired; 11 is still young")
        #expect(tracker.advance(now: 5) == 12)
    }
}
