import Foundation
import RefoldCore
import RefoldSQLite

/// The result of `refold verify`.
public struct VerifyReport: Sendable, Equatable {
    /// One example of drift.
    public struct Example: Sendable, Equatable {
        public let aggregate: String
        /// missing, extra, wrong or lagging.
        public let kind: String
        public let storedVersion: Int64?
        public let expectedVersion: Int64?
    }

    public var projection: String
    /// The position the fresh fold went up to (the model's checkpoint, or the head).
    public var headPosition: Int64
    public var expectedRows: Int = 0
    public var storedRows: Int = 0
    public var missing: Int = 0
    public var extra: Int = 0
    public var wrong: Int = 0
    public var lagging: Int = 0
    public var quarantined: Int = 0
    /// Rows ahead of the checkpoint (the live service applied later events) that match their own events.
    public var ahead: Int = 0
    /// Events after the checkpoint (not applied yet by its promise).
    public var eventsAfterCheckpoint: Int64 = 0
    public var examples: [Example] = []
    public var seconds: Double = 0

    public var ok: Bool { missing == 0 && extra == 0 && wrong == 0 && lagging == 0 }
}

/// Refolds every event and compares, row by row, with the stored model: a streaming merge
/// of two id-ordered sequences, so memory does not grow with the model.
///
/// The fold goes up to the model's checkpoint (the head it was built at) when there is one,
/// so a correct model that has not caught up with newer events is not called wrong; without
/// a checkpoint it goes to the current head.
public enum Verifier {
    public static func run(projection: AnyProjection, locations: RebuildLocations, maxExamples: Int = 10) throws -> VerifyReport {
        let start = Date()
        let source = try Stores.events(locations.events, layout: locations.layout)
        let store = try openBuiltModel(projection: projection.name, path: locations.readModels)
        let checkpoint = try store.checkpoint(projection: projection.name)
        let head = try checkpoint?.position ?? source.headPosition()
        var report = VerifyReport(projection: projection.name, headPosition: head)
        let cursor = try store.cursor(projection: projection.name)
        var stored = try cursor.next()
        var ahead: [(id: [UInt8], data: [UInt8], version: Int64)] = []

        func note(_ kind: String, _ aggregate: [UInt8], stored: Int64?, expected: Int64?) {
            if report.examples.count < maxExamples {
                report.examples.append(.init(aggregate: String(decoding: aggregate, as: UTF8.self), kind: kind, storedVersion: stored, expectedVersion: expected))
            }
        }

        let fold = projection.fold()
        _ = try source.read(range: AggregateRange(lower: nil, upper: nil, estimatedEvents: 0), head: head, into: fold, afterChunk: { () throws(StoreError) in
            let (rows, quarantined) = fold.drain()
            report.quarantined += quarantined.count
            for row in rows {
                report.expectedRows += 1
                while let current = stored, current.id.lexicographicallyPrecedes(row.aggregate) {
                    report.storedRows += 1
                    ahead.append(current)
                    stored = try cursor.next()
                }
                guard let current = stored, current.id == row.aggregate else {
                    report.missing += 1
                    note("missing", row.aggregate, stored: nil, expected: row.version)
                    continue
                }
                report.storedRows += 1
                if current.version < row.version {
                    report.lagging += 1
                    note("lagging", row.aggregate, stored: current.version, expected: row.version)
                } else if current.version > row.version {
                    ahead.append(current)
                } else if !sameJSON(current.data, row.data) {
                    report.wrong += 1
                    note("wrong", row.aggregate, stored: current.version, expected: row.version)
                }
                stored = try cursor.next()
            }
        })
        while let current = stored {
            report.storedRows += 1
            ahead.append(current)
            stored = try cursor.next()
        }
        // Rows ahead of the fold at the checkpoint, or with no row there: the live service
        // may have applied later events. Each must equal its own events folded to its version.
        for row in ahead {
            let expected = try refold(projection, source: source, aggregate: row.id, to: row.version)
            if let expected, sameJSON(row.data, expected.data) {
                report.ahead += 1
            } else if expected == nil, try source.events(ofAggregate: row.id).isEmpty {
                report.extra += 1
                note("extra", row.id, stored: row.version, expected: nil)
            } else {
                report.wrong += 1
                note("wrong", row.id, stored: row.version, expected: expected?.version)
            }
        }
        report.eventsAfterCheckpoint = try source.countEvents(after: head)
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// The row an aggregate's own events give at `version` (any positions), or nil when they
    /// do not reach it cleanly.
    static func refold(_ projection: AnyProjection, source: any EventSource, aggregate: [UInt8], to version: Int64) throws -> FoldedRow? {
        let stepper = projection.stepper(aggregate: aggregate)
        for event in try source.events(ofAggregate: aggregate) where stepper.version < version {
            guard let next = event.version, next == stepper.version + 1 else { continue }
            try event.withView { try stepper.apply($0) }
            if stepper.quarantine != nil { return nil }
        }
        return stepper.version == version ? stepper.row() : nil
    }

    /// Opens the read-model database read-only (nothing is created or written) and checks
    /// that Refold built `projection` there; otherwise a clear bad-input error.
    public static func openBuiltModel(projection: String, path: String) throws -> any ReadModelStore {
        try ReadModelNames.validate(projection: projection)
        guard let store = try Stores.readOnlyModels(path) else {
            throw RunnerError(.badInput, "read-model database \(path) does not exist (set --read-models, or rebuild first: refold rebuild \(projection) --events …).")
        }
        switch try store.modelTableState(projection: projection) {
        case .refolds:
            return store
        case .absent:
            throw RunnerError(.badInput, "\(projection) was never built in \(path) (if it was rebuilt with --read-models, pass the same --read-models here; else rebuild it first: refold rebuild \(projection) --events …).")
        case .foreign(let why):
            throw RunnerError(.badInput, "table \(projection) in \(path) \(why), so there is no Refold model to read (rebuild it into another database with --read-models).")
        }
    }

    /// Equal JSON values, whatever the key order and whitespace.
    static func sameJSON(_ stored: [UInt8], _ expected: [UInt8]) -> Bool {
        if stored == expected { return true }
        guard let a = try? JSONScanner.parse(stored), let b = try? JSONScanner.parse(expected) else { return false }
        return a == b
    }
}
