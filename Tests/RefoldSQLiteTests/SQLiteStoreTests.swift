import Foundation
import RefoldCore
import RefoldSQLite
import RefoldTestSupport
import Testing

/// Event source and read-model store against real SQLite files.
@Suite struct SQLiteStoreTests {
    func dataset(_ spec: DatasetSpec) throws -> String {
        let path = try TemporaryDirectory.make().appendingPathComponent("events.db").path
        try SQLiteDatasetWriter.write(DatasetGenerator(spec), to: path)
        return path
    }

    /// Events per aggregate, straight from SQL (the reference for the planner's ranges).
    func countsByAggregate(_ path: String) throws -> [([UInt8], Int64)] {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        let statement = try connection.prepare("SELECT aggregate_uuid, count(*) FROM stored_events WHERE aggregate_uuid IS NOT NULL GROUP BY aggregate_uuid ORDER BY aggregate_uuid")
        var out: [([UInt8], Int64)] = []
        while try statement.step() { out.append((statement.copyBytes(0), statement.int64(1))) }
        return out
    }

    @Test(arguments: [0.0, 0.6, 1.0])
    func plannerCoversTheIdSpaceOnceWithBalancedCounts(skew: Double) throws {
        let path = try dataset(DatasetSpec(size: 60_000, aggregates: 3_000, seed: 11, skew: skew, nullAggregates: 50))
        let source = try SQLiteEventSource(path: path)
        let plan = try source.plan(tasks: 12)
        let counts = try countsByAggregate(path)
        #expect(plan.totalEvents == 60_000 - 50)
        var perRange = Array(repeating: Int64(0), count: plan.ranges.count)
        for (id, count) in counts {
            let holders = plan.ranges.indices.filter { plan.ranges[$0].contains(id) }
            #expect(holders.count == 1)
            if let index = holders.first { perRange[index] += count }
        }
        #expect(perRange.reduce(0, +) == plan.totalEvents)
        // Balanced: no range much above its share. One aggregate cannot be split (its order
        // must hold), so under heavy skew the bound is its own size plus one share.
        let ideal = Double(plan.totalEvents) / 12
        let largest = Double(counts.map(\.1).max() ?? 0)
        let bound = largest < ideal ? ideal * 1.5 : largest + ideal
        #expect(plan.ranges.count >= (largest < ideal ? 10 : 6))
        #expect(Double(perRange.max() ?? 0) <= bound, "per range: \(perRange), largest aggregate \(largest)")
        #expect(zip(perRange, plan.ranges.map(\.estimatedEvents)).allSatisfy { abs($0 - $1) <= Int64(ideal) })
    }

    /// The plan's counts are exact (every range's count is what the reader folds), and the
    /// aggregates it estimates from its samples add tasks so no range holds too many of them.
    @Test(arguments: [0.0, 1.2])
    func planCountsAreExactAndTheAggregateCapAddsTasks(skew: Double) throws {
        let path = try dataset(DatasetSpec(size: 60_000, aggregates: 3_000, seed: 12, skew: skew, nullAggregates: 40))
        let source = try SQLiteEventSource(path: path)
        let plan = try source.plan(tasks: 2, aggregatesPerTask: 400)
        let counts = try countsByAggregate(path)
        #expect(plan.countsAreExact)
        #expect(plan.totalEvents == 60_000 - 40)
        // Estimated from 256 samples: near the real number, whatever the skew.
        let estimate = Double(try #require(plan.aggregates))
        #expect(abs(estimate - Double(counts.count)) <= 0.3 * Double(counts.count), "estimated \(estimate), counted \(counts.count)")
        #expect(plan.ranges.count >= counts.count / 400 - 1, "\(plan.ranges.count) ranges for \(counts.count) aggregates")
        for range in plan.ranges {
            #expect(range.estimatedEvents == (try source.countEvents(range: range, head: .max)))
        }
        #expect(plan.ranges.map(\.estimatedEvents).reduce(0, +) == plan.totalEvents)
    }

    @Test func chunkBoundariesNeverSplitAnAggregateAndHeadIsRespected() throws {
        let path = try dataset(DatasetSpec(size: 5_000, aggregates: 97, seed: 5, skew: 0.8, malformed: 10, gaps: 3))
        let source = try SQLiteEventSource(path: path)
        let whole = AggregateRange(lower: nil, upper: nil, estimatedEvents: 0)
        func run(chunk: Int, head: Int64) throws -> ([FoldedRow], [QuarantineRecord], Int) {
            let fold = AggregateFold(OrderSummaryProjection())
            var rows: [FoldedRow] = []
            var quarantined: [QuarantineRecord] = []
            let events = try source.read(range: whole, head: head, into: fold, chunkEvents: chunk, afterChunk: { () throws(StoreError) in
                let drained = fold.drain()
                rows += drained.rows
                quarantined += drained.quarantined
            })
            return (rows, quarantined, events)
        }
        let big = try run(chunk: 1_000_000, head: 5_000)
        let tiny = try run(chunk: 7, head: 5_000)
        #expect(big.0 == tiny.0)
        #expect(big.1 == tiny.1)
        #expect(big.2 == 5_000)
        let capped = try run(chunk: 50, head: 2_500)
        #expect(capped.2 == 2_500)
        #expect(capped.0.map(\.version).reduce(0, +) <= big.0.map(\.version).reduce(0, +))
    }

    @Test func eventSourceNeverWritesTheFile() throws {
        let path = try dataset(DatasetSpec(size: 2_000, aggregates: 50, seed: 2))
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let source = try SQLiteEventSource(path: path)
        _ = try source.plan(tasks: 4)
        _ = try source.read(range: AggregateRange(lower: nil, upper: nil, estimatedEvents: 0), head: 2_000, into: AggregateFold(OrderSummaryProjection()))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-journal"))
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func badInputIsNamed() throws {
        let directory = try TemporaryDirectory.make()
        let missing = directory.appendingPathComponent("nope.db").path
        #expect { try SQLiteEventSource(path: missing) } throws: { ($0 as? StoreError)?.code == .badInput }
        #expect(!FileManager.default.fileExists(atPath: missing))
        let other = directory.appendingPathComponent("other.db").path
        try SQLiteConnection(path: other, readOnly: false, create: true).execute("CREATE TABLE stored_events (id INTEGER PRIMARY KEY, aggregate_uuid TEXT)")
        let error = #expect(throws: StoreError.self) { try SQLiteEventSource(path: other) }
        #expect(error?.message.contains("is not an event table") == true)
        #expect(error?.message.contains("\"aggregate_version\"") == true)
        let table = #expect(throws: StoreError.self) { try SQLiteEventSource(path: other, layout: EventTableLayout(table: "events")) }
        #expect(table?.message == "table \"events\" not found in other.db (set --events-table).")
    }

    @Test func writesNeverLowerAVersionAndTheSwapIsAtomic() throws {
        let path = try TemporaryDirectory.make().appendingPathComponent("models.db").path
        let store = try SQLiteReadModelStore(path: path)
        try store.createShadow(projection: "m")
        let table = SQLiteReadModelStore.shadowTable("m")
        try store.write(rows: [FoldedRow(aggregate: Array("a".utf8), data: Array(#"{"v":5}"#.utf8), version: 5)], quarantined: [], table: table, projection: "m", job: "j1")
        try store.write(rows: [FoldedRow(aggregate: Array("a".utf8), data: Array(#"{"v":3}"#.utf8), version: 3)], quarantined: [], table: table, projection: "m", job: "j1")
        try store.write(rows: [FoldedRow(aggregate: Array("a".utf8), data: Array(#"{"v":5}"#.utf8), version: 5)], quarantined: [
            QuarantineRecord(aggregate: "q", version: 2, position: 9, code: .versionGap, reason: "r"),
        ], table: table, projection: "m", job: "j1")
        #expect(try store.count("SELECT version FROM \"m__refold_shadow\" WHERE id = 'a'") == 5)
        #expect(try !store.hasModel(projection: "m"))
        try store.swapIn(projection: "m", job: "j1", head: 42, projectionVersion: 1)
        #expect(try store.hasModel(projection: "m"))
        #expect(try !store.hasShadow(projection: "m"))
        #expect(try store.checkpoint(projection: "m")?.position == 42)
        #expect(try store.quarantined(projection: "m").map(\.aggregate) == ["q"])
        // The next rebuild's quarantines replace the old ones only when it swaps in.
        try store.createShadow(projection: "m")
        try store.write(rows: [], quarantined: [QuarantineRecord(aggregate: "z", version: 1, position: 1, code: .badPayload, reason: "r")], table: SQLiteReadModelStore.shadowTable("m"), projection: "m", job: "j2")
        #expect(try store.quarantined(projection: "m").map(\.aggregate) == ["q"])
        try store.swapIn(projection: "m", job: "j2", head: 50, projectionVersion: 1)
        #expect(try store.quarantined(projection: "m").map(\.aggregate) == ["z"])
    }

    @Test func oneRebuildPerModelUntilTheLockExpires() throws {
        let path = try TemporaryDirectory.make().appendingPathComponent("models.db").path
        let first = try SQLiteReadModelStore(path: path)
        let second = try SQLiteReadModelStore(path: path)
        #expect(try first.acquireLock(projection: "m", job: "j1", owner: "one", seconds: 60) == nil)
        let refused = #expect(throws: StoreError.self) { try second.acquireLock(projection: "m", job: "j2", owner: "two", seconds: 60) }
        #expect(refused?.code == .locked)
        #expect(refused?.message.contains("refold cancel j1") == true)
        // An expired lock is taken over, and the orphan is reported for clean-up.
        try first.execute("UPDATE refold_locks SET expires_at = 0")
        #expect(try second.acquireLock(projection: "m", job: "j2", owner: "two", seconds: 60)?.job == "j1")
        #expect(throws: StoreError.self) { try first.renewLock(projection: "m", job: "j1", seconds: 60) }
        try second.releaseLock(projection: "m", job: "j2")
        #expect(try first.lockHolder(projection: "m") == nil)
    }
}
