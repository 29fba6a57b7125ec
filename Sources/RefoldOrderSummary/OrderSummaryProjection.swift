import RefoldCore
import RefoldJSON
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        /// sorted anyway). A slot is plain data: a sku of up to 16 bytes lives in its packed key,
        /// so adding, finding, updating and dropping lines allocates nothing per sku; only longer
        /// skus keep their bytes in a side array.
        public struct Lines: Sendable, Equatable, Sequence {
            public typealias Entry = (sku: SKU, line: Line)
            struct Slot: Sendable {
                var key: SortKey
                /// Where a sku longer than 16 bytes keeps its bytes in `longSkus`, or -1.
                var long: Int32
                var line: Line
            }
            private var slots: [Slot] = []
            private var longSkus: [[UInt8]] = []

            public init() {}

            public var count: Int { slots.count }
            public var isEmpty: Bool { slots.isEmpty }
            /// The lines in sku order.
            public var entries: [Entry] { Array(self) }

            public subscript(sku: SKU) -> Line? {
                get {
                    sku.bytes.withUnsafeBytes { bytes in
                        let (index, found) = position(of: SortKey(bytes), bytes)
                        return found ? slots[index].line : nil
                    }
                }
                set {
                    sku.bytes.withUnsafeBytes { bytes in
                        let key = SortKey(bytes)
                        let (index, found) = position(of: key, bytes)
                        switch (found, newValue) {
                        case (true, let line?): slots[index].line = line
                        case (true, nil): remove(at: index)
                        case (false, let line?): insert(bytes, key, line, at: index)
                        case (false, nil): break
                        }
                    }
                }
            }

            public struct Iterator: IteratorProtocol {
                let lines: Lines
                var index = 0
                public mutating func next() -> Entry? {
                    guard index < lines.slots.count else { return nil }
                    defer { index += 1 }
                    let line = lines.slots[index].line
                    return lines.withSku(at: index) { (SKU(Array($0)), line) }
                }
            }

            public func makeIterator() -> Iterator { Iterator(lines: self) }

            public static func == (lhs: Lines, rhs: Lines) -> Bool {
                guard lhs.slots.count == rhs.slots.count else { return false }
                for index in lhs.slots.indices {
                    guard lhs.slots[index].line == rhs.slots[index].line,
                          lhs.withSku(at: index, { a in rhs.withSku(at: index) { b in a.elementsEqual(b) } })
                    else { return false }
                }
                return true
            }

            /// Calls `body` with the bytes of the sku at `index`.
            @inline(__always)
            func withSku<R>(at index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
                let slot = slots[index]
                if slot.long >= 0 { return longSkus[Int(slot.long)].withUnsafeBytes(body) }
                var words = (UInt64(bigEndian: slot.key.high), UInt64(bigEndian: slot.key.low))
                return withUnsafeBytes(of: &words) { body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(slot.key.count)])) }
            }

            /// Calls `body` with each line's sku bytes and line, in sku order.
            func forEachLine(_ body: (UnsafeRawBufferPointer, Line) -> Void) {
                for index in slots.indices {
                    let line = slots[index].line
                    withSku(at: index) { body($0, line) }
                }
            }

            func line(at index: Int) -> Line { slots[index].line }

            /// The most bytes `encode` writes for the lines: each sku fully escaped, two integers
            /// and the punctuation (`,` `:{"qty":` `,"price_cents":` `}`: 25 bytes).
            var encodedBound: Int {
                var bound = 0
                for slot in slots {
                    let length = slot.long >= 0 ? longSkus[Int(slot.long)].count : Int(slot.key.count)
                    bound += JSONWriter.stringBound(length) + 2 * JSONWriter.integerBound + 32
                }
                return bound
            }

            mutating func setLine(_ line: Line, at index: Int) { slots[index].line = line }

            mutating func insert(_ bytes: UnsafeRawBufferPointer, _ key: SortKey, _ line: Line, at index: Int) {
                var long: Int32 = -1
                if bytes.count > 16 {
                    long = Int32(longSkus.count)
                    longSkus.append(Array(bytes))
                }
                // Most orders have several lines: start at eight instead of growing 1, 2, 4, 8.
                if slots.capacity == 0 { slots.reserveCapacity(8) }
                slots.insert(Slot(key: key, long: long, line: line), at: index)
            }

            /// Drops a line (a long sku's bytes stay in the side array until the order goes).
            mutating func remove(at index: Int) {
                slots.remove(at: index)
            }

            /// Where the sku `bytes` (packed as `key`) is, or would be inserted: a binary search
            /// on the packed keys, which decide every comparison of skus up to 16 bytes.
            func position(of key: SortKey, _ bytes: UnsafeRawBufferPointer) -> (Int, Bool) {
                slots.withUnsafeBufferPointer { slots in
                    var low = 0
                    var high = slots.count
                    while low < high {
                        let middle = (low + high) / 2
                        var order = slots[middle].key.compare(key)
                        if order == 0, slots[middle].key.count > 16 || key.count > 16 {
                            order = longSkus[Int(slots[middle].long)].withUnsafeBytes { Self.compareBytes($0, bytes) }
                        }
                        if order == 0 { return (middle, true) }
                        if order < 0 { low = middle + 1 } else { high = middle }
                    }
                    return (low, false)
                }
            }

            private static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
                let common = Swift.min(a.count, b.count)
                if common > 0 {
                    let order = memcmp(a.baseAddress!, b.baseAddress!, common)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
            }
        }

        /// The first 16 bytes of a sku as two big-endian words (zero padded) and its length:
        /// integer comparisons give the byte order, and for skus of at most 16 bytes, equality.
        struct SortKey: Sendable {
            let high: UInt64
            let low: UInt64
            let count: Int32

            @inline(__always)
            init(_ bytes: UnsafeRawBufferPointer) {
                var words: (UInt64, UInt64) = (0, 0)
                let n = Swift.min(16, bytes.count)
                if n > 0 {
                    withUnsafeMutableBytes(of: &words) { raw in
                        raw.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: n)
                    }
                }
                high = UInt64(bigEndian: words.0)
                low = UInt64(bigEndian: words.1)
                count = Int32(truncatingIfNeeded: Swift.min(bytes.count, Int(Int32.max)))
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

    /// The handled event types.
    enum Kind { case placed, added, removed, paid, shipped, cancelled, other }

    @inline(__always)
    static func kind(_ type: UnsafeRawBufferPointer) -> Kind {
        switch type.count {
        case 9: return type.equals("ItemAdded") ? .added : (type.equals("OrderPaid") ? .paid : .other)
        case 11: return type.equals("OrderPlaced") ? .placed : (type.equals("ItemRemoved") ? .removed : .other)
        case 12: return type.equals("OrderShipped") ? .shipped : .other
        case 14: return type.equals("OrderCancelled") ? .cancelled : .other
        default: return .other
        }
    }

    /// The fold step, in place. Every check runs before the first change, so a thrown
    /// `DataError` leaves `state` exactly as it was (the contract's "last good event").
    func step(_ state: inout State?, _ event: EventView) throws(DataError) {
        // Decided by type and whether state exists, before the payload is read.
        let kind = Self.kind(event.type)
        if case .placed = kind {
            if case .some = state { throw DataError(.duplicatePlaced, "the order was already placed") }
            let fields = try Self.fields(event, Self.placedFields)
            state = State(
                status: .placed,
                customerID: try Self.string(fields[0], "customer_id").decoded(),
                currency: try Self.string(fields[1], "currency").decoded(),
                lines: State.Lines(), itemCount: 0, totalCents: 0, paidCents: 0)
            return
        }
        if case .other = kind { return }  // unknown types: not read; the engine advances the version
        // `state == nil` would copy the state (and retain its arrays) on every event.
        if case .none = state { throw DataError(.beforePlaced, "the order has not been placed yet") }
        // In place (`&state!` is the stored value itself, never a copy of the order's lines).
        try Self.applyToPlaced(&state!, kind, event)
    }

    /// The handled types other than `OrderPlaced`, on an order that exists.
    static func applyToPlaced(_ current: inout State, _ kind: Kind, _ event: EventView) throws(DataError) {
        switch kind {
        case .added:
            let fields = try Self.fields(event, Self.addedFields)
            let sku = try Self.string(fields[0], "sku")
            let qty = try Self.integer(fields[1], "qty", minimum: 1)
            let price = try Self.integer(fields[2], "price_cents", minimum: 0)
            try sku.withDecoded { (bytes) throws(DataError) in
                let key = State.SortKey(bytes)
                let (index, found) = current.lines.position(of: key, bytes)
                let lineQty0 = found ? current.lines.line(at: index).qty : 0
                let (lineQty, o1) = lineQty0.addingReportingOverflow(qty)
                let (count, o2) = current.itemCount.addingReportingOverflow(qty)
                let (amount, o3) = qty.multipliedReportingOverflow(by: price)
                let (total, o4) = current.totalCents.addingReportingOverflow(amount)
                if o1 || o2 || o3 || o4 { throw DataError(.overflow, "adding \(qty) × \(price) cents overflows 64-bit arithmetic") }
                let line = State.Line(qty: lineQty, priceCents: price)
                if found { current.lines.setLine(line, at: index) } else { current.lines.insert(bytes, key, line, at: index) }
                current.itemCount = count
                current.totalCents = total
            }
        case .removed:
            let fields = try Self.fields(event, Self.removedFields)
            let sku = try Self.string(fields[0], "sku")
            let qty = try Self.integer(fields[1], "qty", minimum: 1)
            try sku.withDecoded { (bytes) throws(DataError) in
                let (index, found) = current.lines.position(of: State.SortKey(bytes), bytes)
                guard found else { return }  // no such line: nothing happens
                let line = current.lines.line(at: index)
                let removed = min(qty, line.qty)
                let (amount, o1) = removed.multipliedReportingOverflow(by: line.priceCents)
                let (total, o2) = current.totalCents.subtractingReportingOverflow(amount)
                let (count, o3) = current.itemCount.subtractingReportingOverflow(removed)
                if o1 || o2 || o3 { throw DataError(.overflow, "removing \(removed) × \(line.priceCents) cents overflows 64-bit arithmetic") }
                let left = line.qty - removed
                if left == 0 {
                    current.lines.remove(at: index)
                } else {
                    current.lines.setLine(State.Line(qty: left, priceCents: line.priceCents), at: index)
                }
                current.itemCount = count
                current.totalCents = total
            }
        case .paid:
            let fields = try Self.fields(event, Self.paidFields)
            let amount = try Self.integer(fields[0], "amount_cents", minimum: 0)
            let (paid, overflow) = current.paidCents.addingReportingOverflow(amount)
            if overflow { throw DataError(.overflow, "paying \(amount) cents overflows 64-bit arithmetic") }
            current.status = .paid
            current.paidCents = paid
        case .shipped:
            _ = try Self.fields(event, Self.noFields)
            current.status = .shipped
        case .cancelled:
            let fields = try Self.fields(event, Self.cancelledFields)
            if let reason = fields[0], case .string = reason {} else if fields[0] != nil {
                throw DataError(.badPayload, "\"reason\" must be a string")
            }
            current.status = .cancelled
        case .placed, .other:
            return
        }
    }

    public func encode(_ state: State, into data: inout [UInt8]) {
        // Written straight into memory sized for the worst case (every string byte escaped).
        let bound = 160 + JSONWriter.stringBound(state.customerID.count) + JSONWriter.stringBound(state.currency.count)
            + 3 * JSONWriter.integerBound + state.lines.encodedBound
        JSONWriter.append(to: &data, atMost: bound) { out in
            out.raw("{\"status\":")
            switch state.status {
            case .placed: out.raw("\"placed\"")
            case .paid: out.raw("\"paid\"")
            case .shipped: out.raw("\"shipped\"")
            case .cancelled: out.raw("\"cancelled\"")
            }
            out.raw(",\"customer_id\":")
            state.customerID.withUnsafeBytes { out.string($0) }
            out.raw(",\"currency\":")
            state.currency.withUnsafeBytes { out.string($0) }
            out.raw(",\"lines\":{")
            // Lines sorted by sku bytes: the same state always gives the same text.
            var first = true
            state.lines.forEachLine { sku, line in
                if !first { out.byte(UInt8(ascii: ",")) }
                first = false
                out.string(sku)
                out.raw(":{\"qty\":")
                out.integer(line.qty)
                out.raw(",\"price_cents\":")
                out.integer(line.priceCents)
                out.byte(UInt8(ascii: "}"))
            }
            out.raw("},\"item_count\":")
            out.integer(state.itemCount)
            out.raw(",\"total_cents\":")
            out.integer(state.totalCents)
            out.raw(",\"paid_cents\":")
            out.integer(state.paidCents)
            out.byte(UInt8(ascii: "}"))
        }
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

    static func fields(_ event: EventView, _ wanted: [StaticString]) throws(DataError) -> JSONScanner.FieldViews {
        do {
            return try JSONScanner.fieldViews(of: event.payload, wanted: wanted)
        } catch .notAnObject {
            throw DataError(.badPayload, "the payload is not a JSON object")
        } catch {
            throw DataError(.badPayload, "the payload is not valid JSON")
        }
    }

    static func string(_ field: JSONScanner.FieldView?, _ name: String) throws(DataError) -> JSONScanner.StringView {
        guard let field else { throw DataError(.badPayload, "\"\(name)\" is missing") }
        guard case .string(let value) = field else { throw DataError(.badPayload, "\"\(name)\" must be a string") }
        return value
    }

    static func integer(_ field: JSONScanner.FieldView?, _ name: String, minimum: Int64) throws(DataError) -> Int64 {
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
