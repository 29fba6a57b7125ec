import Foundation
import RefoldCore
import RefoldMySQL
import RefoldPostgres
import RefoldRunner
import RefoldSQLite
import RefoldStore

/// The seed's way of keeping a read model, measured on the same database: one event at a
/// time in position order, each loading its aggregate's row, folding the event, and writing
/// the row back with an `updateOrInsert` (a select, then an update or an insert, each its own
/// autocommitted statement) — what a Laravel projector does per event. Run over the first
/// `limit` positions and extrapolated to the whole table (it is linear in events).
public enum SeedReplayBenchmark {
    public struct Figure: Sendable {
        public let events: Int
        public let seconds: Double
        public var eventsPerSecond: Double { Double(events) / max(seconds, 1e-9) }
    }

    /// Replays positions 1…`limit` into a scratch table `refold_seed_replay` of `readModels`
    /// (created and dropped here; never a table Refold did not create: an existing table of that
    /// name is refused).
    public static func run(
        projection: AnyProjection, events: String, layout: EventTableLayout, readModels: String, limit: Int,
        stop: () throws -> Void = {}
    ) throws -> Figure {
        let source = try Stores.events(events, layout: layout)
        let head = min(try source.headPosition(), Int64(limit))
        let batch = try source.events(after: 0, through: head)
        let target = try DatabaseLocation(parsing: readModels)
        let writer: any RowWriter
        switch target.kind {
        case .sqlite: writer = try SQLiteRowWriter(path: target.path)
        case .postgres: writer = try PostgresRowWriter(target)
        case .mysql: writer = try MySQLRowWriter(target)
        }
        defer { writer.drop() }
        let start = Date()
        for (index, event) in batch.enumerated() {
            if index & 1023 == 0 { try stop() }
            let stored = try writer.load(event.aggregate)
            let stepper: any AggregateStepper
            if let stored, let resumed = projection.stepper(aggregate: event.aggregate, resumingFrom: stored.data, version: stored.version) {
                stepper = resumed
            } else {
                stepper = projection.stepper(aggregate: event.aggregate)
            }
            try event.withView { try stepper.apply($0) }
            guard stepper.quarantine == nil, let row = stepper.row() else { continue }
            try writer.store(row, exists: stored != nil)
        }
        return Figure(events: batch.count, seconds: Date().timeIntervalSince(start))
    }
}

protocol RowWriter: AnyObject {
    func load(_ aggregate: [UInt8]) throws -> (data: [UInt8], version: Int64)?
    func store(_ row: FoldedRow, exists: Bool) throws
    func drop()
}

final class SQLiteRowWriter: RowWriter {
    let connection: SQLiteConnection
    init(path: String) throws {
        connection = try SQLiteConnection(path: path, readOnly: false, create: true)
        if try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'refold_seed_replay'") != 0 {
            throw StoreError(.badInput, "\(path) already has a table refold_seed_replay; the benchmark will not touch it.")
        }
        try connection.execute("CREATE TABLE refold_seed_replay (id TEXT PRIMARY KEY, data TEXT NOT NULL, version INTEGER NOT NULL)")
    }
    func load(_ aggregate: [UInt8]) throws -> (data: [UInt8], version: Int64)? {
        let statement = try connection.prepare("SELECT data, version FROM refold_seed_replay WHERE id = ?1")
        try statement.bind([.bytes(aggregate)])
        defer { statement.reset() }
        return try statement.step() ? (statement.copyBytes(0), statement.int64(1)) : nil
    }
    func store(_ row: FoldedRow, exists: Bool) throws {
        if exists {
            try connection.prepare("UPDATE refold_seed_replay SET data = ?2, version = ?3 WHERE id = ?1").run([.bytes(row.aggregate), .bytes(row.data), .int(row.version)])
        } else {
            try connection.prepare("INSERT INTO refold_seed_replay (id, data, version) VALUES (?1, ?2, ?3)").run([.bytes(row.aggregate), .bytes(row.data), .int(row.version)])
        }
    }
    func drop() { try? connection.execute("DROP TABLE IF EXISTS refold_seed_replay") }
}

final class PostgresRowWriter: RowWriter {
    let connection: PostgresConnection
    init(_ location: DatabaseLocation) throws {
        connection = try PostgresConnection(location)
        if try connection.scalar("SELECT to_regclass('refold_seed_replay')::text") != nil {
            throw StoreError(.badInput, "\(location) already has a table refold_seed_replay; the benchmark will not touch it.")
        }
        try connection.execute("CREATE TABLE refold_seed_replay (id text COLLATE \"C\" PRIMARY KEY, data jsonb NOT NULL, version bigint NOT NULL)")
    }
    func load(_ aggregate: [UInt8]) throws -> (data: [UInt8], version: Int64)? {
        guard let row = try connection.query("SELECT data::text, version FROM refold_seed_replay WHERE id = $1", [String(decoding: aggregate, as: UTF8.self)]).values.first,
              let data = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
        return (Array(data.utf8), version)
    }
    func store(_ row: FoldedRow, exists: Bool) throws {
        let values = [String(decoding: row.aggregate, as: UTF8.self), String(decoding: row.data, as: UTF8.self), String(row.version)]
        if exists {
            try connection.execute("UPDATE refold_seed_replay SET data = $2::jsonb, version = $3 WHERE id = $1", values)
        } else {
            try connection.execute("INSERT INTO refold_seed_replay (id, data, version) VALUES ($1, $2::jsonb, $3)", values)
        }
    }
    func drop() { try? connection.execute("DROP TABLE IF EXISTS refold_seed_replay") }
}

final class MySQLRowWriter: RowWriter {
    let connection: MySQLConnection
    init(_ location: DatabaseLocation) throws {
        connection = try MySQLConnection(location)
        if try connection.scalar("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'refold_seed_replay'") != nil {
            throw StoreError(.badInput, "\(location) already has a table refold_seed_replay; the benchmark will not touch it.")
        }
        try connection.execute("CREATE TABLE refold_seed_replay (id varchar(255) NOT NULL PRIMARY KEY, data json NOT NULL, version bigint NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
    }
    func load(_ aggregate: [UInt8]) throws -> (data: [UInt8], version: Int64)? {
        guard let row = try connection.query("SELECT data, version FROM refold_seed_replay WHERE id = ?", [String(decoding: aggregate, as: UTF8.self)]).values.first,
              let data = row[0], let version = row[1].flatMap({ Int64($0) }) else { return nil }
        return (Array(data.utf8), version)
    }
    func store(_ row: FoldedRow, exists: Bool) throws {
        let values = [String(decoding: row.aggregate, as: UTF8.self), String(decoding: row.data, as: UTF8.self), String(row.version)]
        if exists {
            try connection.execute("UPDATE refold_seed_replay SET data = ?, version = ? WHERE id = ?", [values[1], values[2], values[0]])
        } else {
            try connection.execute("INSERT INTO refold_seed_replay (id, data, version) VALUES (?, ?, ?)", values)
        }
    }
    func drop() { try? connection.execute("DROP TABLE IF EXISTS refold_seed_replay") }
}
