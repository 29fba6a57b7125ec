// A stand-in for a user's own package: it reuses the whole refold command line and adds its
// projections with one line. Tests use it for what the built-in projection never does.
import Foundation
import RefoldCLI
import RefoldCore
import RefoldOrderSummary

/// The README's second projection: how many items each order ever had added.
struct ItemCountProjection: Projection {
    let name = "item_count"
    let version = 1

    func apply(_ state: Int64?, _ event: EventView) throws -> Int64? {
        if event.type.equals("OrderPlaced") { return state ?? 0 }
        guard let count = state, event.type.equals("ItemAdded") else { return state }
        return count + 1
    }

    func encode(_ state: Int64, into data: inout [UInt8]) {
        JSONWriter.appendRaw("{\"items_added\":", to: &data)
        JSONWriter.appendInteger(state, to: &data)
        JSONWriter.appendRaw("}", to: &data)
    }
}

/// order_summary with a bug: it cannot handle "Poison" events (a non-data error), so the
/// partition holding one fails on every attempt.
struct PoisonSummaryProjection: Projection {
    struct Bug: Error, CustomStringConvertible {
        var description: String { "the projection cannot handle Poison events (a bug, not bad data)" }
    }

    let name = "poison_summary"
    let version = 1
    let inner = OrderSummaryProjection()

    func apply(_ state: OrderSummaryProjection.State?, _ event: EventView) throws -> OrderSummaryProjection.State? {
        if event.type.equals("Poison") { throw Bug() }
        return try inner.apply(state, event)
    }

    func encode(_ state: OrderSummaryProjection.State, into data: inout [UInt8]) {
        inner.encode(state, into: &data)
    }
}

/// order_summary under another version number, to test that workers refuse jobs of a
/// different projection version.
struct RenumberedOrderSummary: Projection {
    let name = "order_summary"
    let version: Int
    let inner = OrderSummaryProjection()

    func apply(_ state: OrderSummaryProjection.State?, _ event: EventView) throws -> OrderSummaryProjection.State? {
        try inner.apply(state, event)
    }

    func encode(_ state: OrderSummaryProjection.State, into data: inout [UInt8]) {
        inner.encode(state, into: &data)
    }
}

var projections = [AnyProjection(ItemCountProjection()), AnyProjection(PoisonSummaryProjection())]
if let version = ProcessInfo.processInfo.environment["REFOLD_FIXTURE_ORDER_SUMMARY_VERSION"].flatMap(Int.init) {
    projections.append(AnyProjection(RenumberedOrderSummary(version: version)))
}
RefoldMain.run(projections: projections)
