import RefoldCore

/// The reference projection (the `order_summary` contract): one row per order.
public struct OrderSummaryProjection: Projection {
    public let name = "order_summary"
    public let version = 1

    public init() {}

    /// An order's state.
    public struct State: Sendable, Equatable {
        public enum Status: Sendable, Equatable {
            case placed, paid, shipped, cancelled
        }

        /// A sku as its exact bytes, hashed in one pass.
        public struct SKU: Hashable, Sendable {
            public let bytes: [UInt8]

            public init(_ bytes: [UInt8]) {
                self.bytes = bytes
            }

            public func hash(into hasher: inout Hasher) {
                bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
            }
        }

        public struct Line: Sendable, Equatable {
            public var qty: Int64
            public var priceCents: Int64
        }

        /// An order's lines, kept sorted by sku bytes: orders have a few dozen lines at most, so a
        /// binary search over one small array beats hashing every sku (and `encode` needs them
        /// sorted anyway).
        public struct Lines: Sendable, Equatable, Sequence {
            public typealias Entry = (sku: SKU, line: Line)
            private var keys: [SortKey] = []
            public private(set) var entries: [Entry] = []

            public init() {}

            public var count: Int { entries.count }
            public var isEmpty: Bool { entries.isEmpty }

            public subscript(sku: SKU) -> Line? {
                get {
                    let (index, found) = position(of: sku)
                    return found ? entries[index].line : nil
                }
                set {
                    let (index, found) = position(of: sku)
                    switch (found, newValue) {
                    case (true, let line?): entries[index].line = line
                    case (true, nil):
                        entries.remove(at: index)
                        keys.remove(at: index)
                    case (false, let line?):
                        entries.insert((sku, line), at: index)
                        keys.insert(SortKey(sku.bytes), at: index)
                    case (false, nil): break
                    }
                }
            }

            public func makeIterator() -> IndexingIterator<[Entry]> {
                entries.makeIterator()
            }

            public static func == (lhs: Lines, rhs: Lines) -> Bool {
                lhs.entries.count == rhs.entries.count
                    && zip(lhs.entries, rhs.entries).allSatisfy { $0.sku == $1.sku && $0.line == $1.line }
            }

            /// Where `sku` is, or would be inserted: a binary search on the packed keys, which
            /// decide every comparison of skus up to 16 bytes without touching their arrays.
            private func position(of sku: SKU) -> (Int, Bool) {
                let key = SortKey(sku.bytes)
                var low = 0
                var high = keys.count
                while low < high {
                    let middle = (low + high) / 2
                    var order = keys[middle].compare(key)
                    if order == 0, keys[middle].count > 16 || key.count > 16 {
                        order = Self.compareBytes(entries[middle].sku.bytes, sku.bytes)
                    }
                    if order == 0 { return (middle, true) }
                    if order < 0 { low = middle + 1 } else { high = middle }
                }
                return (low, false)
            }

            private static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
                a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1)
            }
        }

        /// The first 16 bytes of a sku as two big-endian words (zero padded) and its length:
        /// integer comparisons give the byte order, and for skus of at most 16 bytes, equality.
        struct SortKey: Sendable {
            let high: UInt64
            let low: UInt64
            let count: Int

            init(_ bytes: [UInt8]) {
                var words: (UInt64, UInt64) = (0, 0)
                withUnsafeMutableBytes(of: &words) { raw in
                    bytes.withUnsafeBytes { source in
                        let n = Swift.min(16, source.count)
                        if n > 0 { raw.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: n) }
                    }
                }
                high = UInt64(bigEndian: words.0)
                low = UInt64(bigEndian: words.1)
                count = bytes.count
            }

            /// -1, 0, 1 by bytes; 0 for two longer keys with the same first 16 bytes (undecided).
            func compare(_ other: SortKey) -> Int {
                if high != other.high { return high < other.high ? -1 : 1 }
                if low != other.low { return low < other.low ? -1 : 1 }
                if count <= 16 || other.count <= 16 {
                    return count == other.count ? 0 : (count < other.count ? -1 : 1)
                }
                return 0
            }
        }

        public var status: Status
        public var customerID: [UInt8]
        public var currency: [UInt8]
        /// By sku bytes.
        public var lines: Lines
        public var itemCount: Int64
        public var totalCents: Int64
        public var paidCents: Int64
    }

    public func apply(_ state: State?, _ event: EventView) throws -> State? {
        var next = state
        try step(&next, event)
        return next
    }

    public func apply(_ state: inout State?, _ event: EventView) throws {
        try step(&state, event)
    }

    static let placedFields: [StaticString] = ["customer_id", "currency"]
    static let addedFields: [StaticString] = ["sku", "qty", "price_cents"]
    static let removedFields: [StaticString] = ["sku", "qty"]
    static let paidFields: [StaticString] = ["amount_cents"]
    static let cancelledFields: [StaticString] = ["reason"]
    static let noFields: [StaticString] = []

    /// The fold step, in place. Every check runs before the first change, so a thrown
    /// `DataError` leaves `state` exactly as it was (the contract's "last good event").
    func step(_ state: inout State?, _ event: EventView) throws(DataError) {
        let type = event.type
        // Decided by type and whether state exists, before the payload is read.
        if type.equals("OrderPlaced") {
            if case .some = state { throw DataError(.duplicatePlaced, "the order was already placed") }
            let fields = try Self.fields(event, Self.placedFields)
            state = State(
                status: .placed,
                customerID: try Self.string(fields[0], "customer_id"),
                currency: try Self.string(fields[1], "currency"),
                lines: State.Lines(), itemCount: 0, totalCents: 0, paidCents: 0)
            return
        }
        let handled = type.equals("ItemAdded") || type.equals("ItemRemoved") || type.equals("OrderPaid")
            || type.equals("OrderShipped") || type.equals("OrderCancelled")
        guard handled else { return }  // unknown types: not read; the engine advances the version
        // `state == nil` would copy the state (and retain its arrays) on every event.
        if case .none = state { throw DataError(.beforePlaced, "the order has not been placed yet") }
        // In place (`&state!` is the stored value itself, never a copy of the order's lines).
        try Self.applyToPlaced(&state!, type, event)
    }

    /// The handled types other than `OrderPlaced`, on an order that exists.
    static func applyToPlaced(_ current: inout State, _ type: UnsafeRawBufferPointer, _ event: EventView) throws(DataError) {

        if type.equals("ItemAdded") {
            let fields = try Self.fields(event, Self.addedFields)
            let sku = State.SKU(try Self.string(fields[0], "sku"))
            let qty = try Self.integer(fields[1], "qty", minimum: 1)
            let price = try Self.integer(fields[2], "price_cents", minimum: 0)
            let line = current.lines[sku] ?? State.Line(qty: 0, priceCents: 0)
            let (lineQty, o1) = line.qty.addingReportingOverflow(qty)
            let (count, o2) = current.itemCount.addingReportingOverflow(qty)
            let (amount, o3) = qty.multipliedReportingOverflow(by: price)
            let (total, o4) = current.totalCents.addingReportingOverflow(amount)
            if o1 || o2 || o3 || o4 { throw DataError(.overflow, "adding \(qty) × \(price) cents overflows 64-bit arithmetic") }
            current.lines[sku] = State.Line(qty: lineQty, priceCents: price)
            current.itemCount = count
            current.totalCents = total
        } else if type.equals("ItemRemoved") {
            let fields = try Self.fields(event, Self.removedFields)
            let sku = State.SKU(try Self.string(fields[0], "sku"))
            let qty = try Self.integer(fields[1], "qty", minimum: 1)
            guard let line = current.lines[sku] else { return }  // no such line: nothing happens
            let removed = min(qty, line.qty)
            let (amount, o1) = removed.multipliedReportingOverflow(by: line.priceCents)
            let (total, o2) = current.totalCents.subtractingReportingOverflow(amount)
            let (count, o3) = current.itemCount.subtractingReportingOverflow(removed)
            if o1 || o2 || o3 { throw DataError(.overflow, "removing \(removed) × \(line.priceCents) cents overflows 64-bit arithmetic") }
            let left = line.qty - removed
            current.lines[sku] = left == 0 ? nil : State.Line(qty: left, priceCents: line.priceCents)
            current.itemCount = count
            current.totalCents = total
        } else if type.equals("OrderPaid") {
            let fields = try Self.fields(event, Self.paidFields)
            let amount = try Self.integer(fields[0], "amount_cents", minimum: 0)
            let (paid, overflow) = current.paidCents.addingReportingOverflow(amount)
            if overflow { throw DataError(.overflow, "paying \(amount) cents overflows 64-bit arithmetic") }
            current.status = .paid
            current.paidCents = paid
        } else if type.equals("OrderShipped") {
            _ = try Self.fields(event, Self.noFields)
            current.status = .shipped
        } else {
            let fields = try Self.fields(event, Self.cancelledFields)
            if let reason = fields[0], case .string = reason {} else if fields[0] != nil {
                throw DataError(.badPayload, "\"reason\" must be a string")
            }
            current.status = .cancelled
        }
    }

    public func encode(_ state: State, into data: inout [UInt8]) {
        JSONWriter.appendRaw("{\"status\":", to: &data)
        switch state.status {
        case .placed: JSONWriter.appendString("placed", to: &data)
        case .paid: JSONWriter.appendString("paid", to: &data)
        case .shipped: JSONWriter.appendString("shipped", to: &data)
        case .cancelled: JSONWriter.appendString("cancelled", to: &data)
        }
        JSONWriter.appendRaw(",\"customer_id\":", to: &data)
        JSONWriter.appendString(state.customerID, to: &data)
        JSONWriter.appendRaw(",\"currency\":", to: &data)
        JSONWriter.appendString(state.currency, to: &data)
        JSONWriter.appendRaw(",\"lines\":{", to: &data)
        // Lines sorted by sku bytes: the same state always gives the same text.
        for (index, entry) in state.lines.enumerated() {
            if index > 0 { data.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(entry.sku.bytes, to: &data)
            JSONWriter.appendRaw(":{\"qty\":", to: &data)
            JSONWriter.appendInteger(entry.line.qty, to: &data)
            JSONWriter.appendRaw(",\"price_cents\":", to: &data)
            JSONWriter.appendInteger(entry.line.priceCents, to: &data)
            data.append(UInt8(ascii: "}"))
        }
        JSONWriter.appendRaw("},\"item_count\":", to: &data)
        JSONWriter.appendInteger(state.itemCount, to: &data)
        JSONWriter.appendRaw(",\"total_cents\":", to: &data)
        JSONWriter.appendInteger(state.totalCents, to: &data)
        JSONWriter.appendRaw(",\"paid_cents\":", to: &data)
        JSONWriter.appendInteger(state.paidCents, to: &data)
        data.append(UInt8(ascii: "}"))
    }

    /// Reads a row back into the state it was written from (the inverse of `encode`), so a
    /// catch-up continues an order from its row. nil for anything `encode` could not have written.
    public func decode(_ data: [UInt8]) -> State? {
        guard let tree = try? JSONScanner.parse(data), case .object = tree,
              let statusText = tree["status"]?.string, case .string(let customer)? = tree["customer_id"],
              case .string(let currency)? = tree["currency"], case .object(let lineMembers)? = tree["lines"],
              let itemCount = tree["item_count"]?.integer, let total = tree["total_cents"]?.integer,
              let paid = tree["paid_cents"]?.integer
        else { return nil }
        let status: State.Status
        switch statusText {
        case "placed": status = .placed
        case "paid": status = .paid
        case "shipped": status = .shipped
        case "cancelled": status = .cancelled
        default: return nil
        }
        var lines = State.Lines()
        for (sku, line) in lineMembers {
            guard let qty = line["qty"]?.integer, let price = line["price_cents"]?.integer else { return nil }
            lines[State.SKU(sku)] = State.Line(qty: qty, priceCents: price)
        }
        return State(status: status, customerID: customer, currency: currency, lines: lines, itemCount: itemCount, totalCents: total, paidCents: paid)
    }

    // MARK: Payload checks (each failure is bad_payload, with the field named)

    static func fields(_ event: EventView, _ wanted: [StaticString]) throws(DataError) -> JSONScanner.Fields {
        do {
            return try JSONScanner.fields(of: event.payload, wanted: wanted)
        } catch .notAnObject {
            throw DataError(.badPayload, "the payload is not a JSON object")
        } catch {
            throw DataError(.badPayload, "the payload is not valid JSON")
        }
    }

    static func string(_ field: JSONScanner.Field?, _ name: String) throws(DataError) -> [UInt8] {
        guard let field else { throw DataError(.badPayload, "\"\(name)\" is missing") }
        guard case .string(let value) = field else { throw DataError(.badPayload, "\"\(name)\" must be a string") }
        return value
    }

    static func integer(_ field: JSONScanner.Field?, _ name: String, minimum: Int64) throws(DataError) -> Int64 {
        guard let field else { throw DataError(.badPayload, "\"\(name)\" is missing") }
        guard case .integer(let value) = field else {
            throw DataError(.badPayload, "\"\(name)\" must be an integer that fits in 64 bits")
        }
        guard value >= minimum else { throw DataError(.badPayload, "\"\(name)\" must be ≥ \(minimum), found \(value)") }
        return value
    }
}

extension QuarantineCode {
    /// order_summary: a handled event other than `OrderPlaced` before the order exists.
    public static let beforePlaced: QuarantineCode = "before_placed"
    /// order_summary: a second `OrderPlaced`.
    public static let duplicatePlaced: QuarantineCode = "duplicate_placed"
    /// order_summary: 64-bit arithmetic overflow.
    public static let overflow: QuarantineCode = "overflow"
}
