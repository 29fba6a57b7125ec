import Foundation
import RefoldCore

/// The live table, written row by row after a rebuild (catch-up, the live service): the
/// version rule and the checkpoint of `live.md`.
extension SQLiteReadModelStore {
    /// The live row of `aggregate`: its data and version, or nil.
    public func row(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64)? {
        let statement = try connection.prepare("SELECT data, version FROM \(quoteIdentifier(projection)) WHERE id = ?1")
        try statement.bind([.bytes(aggregate)])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return (statement.copyBytes(0), statement.int64(1))
    }

    public func liveRow(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64, updatedAt: String)? {
        let statement = try connection.prepare("SELECT data, version, updated_at FROM \(quoteIdentifier(projection)) WHERE id = ?1")
        try statement.bind([.bytes(aggregate)])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return (statement.copyBytes(0), statement.int64(1), statement.text(2))
    }

    /// Live rows' versions, for many aggregates at once (missing ids have no row).
    public func versions(projection: String, aggregates: [[UInt8]]) throws(StoreError) -> [[UInt8]: Int64] {
        let statement = try connection.prepare("SELECT version FROM \(quoteIdentifier(projection)) WHERE id = ?1")
        var out: [[UInt8]: Int64] = [:]
        for aggregate in aggregates {
            try statement.bind([.bytes(aggregate)])
            if try statement.step() { out[aggregate] = statement.int64(0) }
            statement.reset()
        }
        return out
    }

    /// The live model's quarantine record of one aggregate, or nil.
    public func quarantineRecord(projection: String, aggregate: String) throws(StoreError) -> QuarantineRecord? {
        guard let job = try checkpoint(projection: projection)?.job else { return nil }
        let statement = try connection.prepare("""
            SELECT aggregate, version, position, code, reason FROM refold_quarantine WHERE projection = ?1 AND job = ?2 AND aggregate = ?3
            """)
        try statement.bind([.text(projection), .text(job), .text(aggregate)])
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return QuarantineRecord(
            aggregate: statement.text(0), version: statement.isNull(1) ? nil : statement.int64(1),
            position: statement.int64(2), code: QuarantineCode(rawValue: statement.text(3)), reason: statement.text(4))
    }

    public typealias LiveWrite = RefoldStore.LiveWrite

    /// Applies rows, new quarantines and healed aggregates to the live table in one short
    /// transaction, and moves the checkpoint from `from` to `to` when given.
    ///
    /// - A row replaces the stored one only with a higher version: a write never lowers a
    ///   version, so a stale or repeated writer's update is a no-op.
    /// - The checkpoint moves only forward and only from the position this writer started
    ///   from; if someone else moved it meanwhile, nothing is written (`.locked`).
    /// - `fence`: the job that must still hold the model's lock (the live service's leader);
    ///   if another holds it now, nothing is written (`.locked`).
    @discardableResult
    public func applyLive(
        projection: String, rows: [FoldedRow], quarantined: [QuarantineRecord], healed: [String],
        checkpoint: (from: Int64, to: Int64)?, fence: String?
    ) throws(StoreError) -> LiveWrite {
        guard let model = try self.checkpoint(projection: projection) else {
            throw StoreError(.badInput, "\(projection) has no checkpoint in \(path): rebuild it first (refold rebuild \(projection) --events …).")
        }
        var result = LiveWrite()
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            if let fence, try lockHolder(projection: projection)?.job != fence {
                throw StoreError(.locked, "the live lock of \(projection) was taken over by another runner; this one stops writing.")
            }
            let now = Self.timestamp()
            if !rows.isEmpty {
                let name = quoteIdentifier(projection)
                let upsert = try connection.prepare("""
                    INSERT INTO \(name) (id, data, version, updated_at) VALUES (?1, ?2, ?3, ?4)
                    ON CONFLICT(id) DO UPDATE SET data = excluded.data, version = excluded.version, updated_at = excluded.updated_at
                    WHERE excluded.version > \(name).version
                    """)
                try upsert.bind([.null, .null, .null, .text(now)])
                for row in rows {
                    row.aggregate.withUnsafeBytes { upsert.bindText(1, $0) }
                    row.data.withUnsafeBytes { upsert.bindText(2, $0) }
                    upsert.bindInt(3, row.version)
                    while try upsert.step() {}
                    upsert.reset()
                    if connection.changes > 0 { result.advanced.append((row.aggregate, row.version)) }
                }
            }
            if !quarantined.isEmpty {
                let insert = try connection.prepare("""
                    INSERT OR REPLACE INTO refold_quarantine (projection, aggregate, version, position, code, reason, job, recorded_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    """)
                for record in quarantined {
                    try insert.run([
                        .text(projection), .text(record.aggregate), record.version.map { .int($0) } ?? .null, .int(record.position),
                        .text(record.code.rawValue), .text(record.reason), .text(model.job), .text(now),
                    ])
                }
            }
            if !healed.isEmpty {
                let delete = try connection.prepare("DELETE FROM refold_quarantine WHERE projection = ?1 AND job = ?2 AND aggregate = ?3")
                for aggregate in healed { try delete.run([.text(projection), .text(model.job), .text(aggregate)]) }
            }
            if let checkpoint, checkpoint.to > checkpoint.from {
                try connection.prepare("UPDATE refold_checkpoints SET position = ?1, updated_at = ?2 WHERE projection = ?3 AND position = ?4")
                    .run([.int(checkpoint.to), .text(now), .text(projection), .int(checkpoint.from)])
                guard connection.changes == 1 else {
                    throw StoreError(.locked, "the checkpoint of \(projection) moved while this run applied events (another catch-up or live runner?); nothing was written.")
                }
                result.checkpointMoved = true
            }
            try connection.execute("COMMIT")
            return result
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
