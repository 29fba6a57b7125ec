import Foundation
import RefoldCore

/// Where read models live: SQLite (`SQLiteReadModelStore`) or PostgreSQL
/// (`PostgresReadModelStore`). One table per projection (`id`, `data`, `version`,
/// `updated_at`) beside Refold's support tables `refold_checkpoints`, `refold_quarantine` and
/// `refold_locks`; a rebuild writes `<projection>__refold_shadow` and swaps it in with one
/// transaction that also records the checkpoint and the quarantine list.
///
/// Refold never drops, replaces or writes a table it did not create: a live table is Refold's
/// only with exactly the read-model columns and the projection's row in `refold_checkpoints`.
public protocol ReadModelStore: AnyObject {
    /// A path, or a URL without its password: for messages and job payloads.
    var location: String { get }
    /// True when opened read-only: nothing is created or written.
    var isReadOnly: Bool { get }

    // Rebuilds: the shadow table and the swap.
    func createShadow(projection: String) throws(StoreError)
    func hasShadow(projection: String) throws(StoreError) -> Bool
    func dropShadow(projection: String) throws(StoreError)
    /// Rows of the shadow and quarantine records of `job` whose aggregate falls in `range`.
    func shadowCounts(projection: String, job: String, range: AggregateRange) throws(StoreError) -> (rows: Int64, quarantined: Int64)
    /// Rows and quarantines in one transaction; a row is replaced only by a higher version.
    func write(rows: [FoldedRow], quarantined: [QuarantineRecord], table: String, projection: String, job: String) throws(StoreError)
    /// The shadow becomes the live table in one transaction with the checkpoint and the
    /// quarantine list; a foreign table is kept as `keepForeignAs` or the swap is refused.
    @discardableResult
    func swapIn(projection: String, job: String, head: Int64, projectionVersion: Int, keepForeignAs: String?) throws(StoreError) -> String?

    // What is there.
    func checkpoint(projection: String) throws(StoreError) -> (position: Int64, job: String, projectionVersion: Int)?
    func checkpoints() throws(StoreError) -> [(projection: String, position: Int64, job: String, updatedAt: String)]
    func quarantined(projection: String, job: String?) throws(StoreError) -> [QuarantineRecord]
    func hasModel(projection: String) throws(StoreError) -> Bool
    /// What has this name in the database: nil (nothing), `"table"`, or the name of another
    /// kind of object (`"view"`, `"index"`, …), for messages.
    func objectKind(_ name: String) throws(StoreError) -> String?
    /// The column names of a table (empty when there is none).
    func columnNames(of table: String) throws(StoreError) -> [String]
    /// The live rows in id (byte) order, one at a time.
    func cursor(projection: String) throws(StoreError) -> any ReadModelCursor

    // The live table, row by row (catch-up, the live service).
    func row(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64)?
    /// The live row with its `updated_at` (UTC, `yyyy-MM-dd HH:mm:ss`), for readers.
    func liveRow(projection: String, aggregate: [UInt8]) throws(StoreError) -> (data: [UInt8], version: Int64, updatedAt: String)?
    func versions(projection: String, aggregates: [[UInt8]]) throws(StoreError) -> [[UInt8]: Int64]
    func quarantineRecord(projection: String, aggregate: String) throws(StoreError) -> QuarantineRecord?
    @discardableResult
    func applyLive(
        projection: String, rows: [FoldedRow], quarantined: [QuarantineRecord], healed: [String],
        checkpoint: (from: Int64, to: Int64)?, fence: String?
    ) throws(StoreError) -> LiveWrite

    // One writer per model.
    @discardableResult
    func acquireLock(projection: String, job: String, owner: String, seconds: Int64, redis: String) throws(StoreError) -> LockHolder?
    func renewLock(projection: String, job: String, seconds: Int64) throws(StoreError)
    func releaseLock(projection: String, job: String) throws(StoreError)
    func lockHolder(projection: String) throws(StoreError) -> LockHolder?
    func locks() throws(StoreError) -> [(projection: String, holder: LockHolder)]
    func discardQuarantine(projection: String, job: String) throws(StoreError)

    /// Runs raw SQL (tests and operators' tools).
    func execute(_ sql: String) throws(StoreError)
    /// A count query (tests and reports).
    func count(_ sql: String) throws(StoreError) -> Int64
}

/// Whose table is whose, the same on every engine: Refold never drops, replaces or writes a
/// table it did not create, and recognises its own live tables by two marks together — the
/// exact read-model columns, and the projection's row in `refold_checkpoints`.
extension ReadModelStore {
    /// Absent, or a table with exactly Refold's read-model columns (`.refolds`), or foreign.
    public func objectState(_ name: String) throws(StoreError) -> ModelTableState {
        guard let kind = try objectKind(name) else { return .absent }
        guard kind == "table" else { return .foreign("is a \(kind), not a table") }
        let present = try columnNames(of: name)
        guard Set(present) == Set(ReadModelNames.modelColumns), present.count == ReadModelNames.modelColumns.count else {
            return .foreign("has columns (\(present.joined(separator: ", "))) that are not Refold's (\(ReadModelNames.modelColumns.joined(separator: ", ")))")
        }
        return .refolds
    }

    /// Whether `projection`'s live table is absent, Refold's, or someone else's.
    public func modelTableState(projection: String) throws(StoreError) -> ModelTableState {
        if case .foreign(let why) = try objectState(projection) { return .foreign(why) }
        guard try objectKind(projection) != nil else { return .absent }
        guard try checkpoint(projection: projection) != nil else {
            return .foreign("was not built by Refold (it has no row in refold_checkpoints)")
        }
        return .refolds
    }

    /// "the live table of X was kept", or that there was none to keep.
    public func untouched(projection: String) -> String {
        ReadModelNames.untouched((try? modelTableState(projection: projection)) ?? .absent, projection: projection)
    }

    /// The checks a rebuild makes on its target before writing anything, on a read-only store:
    /// the projection's table is Refold's or absent (or `replaceForeign` and it is a table),
    /// no foreign object squats the shadow's name, and no other run holds the lock. Returns the
    /// name a foreign table will be kept under, when there is one to keep.
    public func rebuildTargetChecks(projection: String, replaceForeign: Bool, ownLock: String?) throws(StoreError) -> String? {
        var backup: String?
        switch try modelTableState(projection: projection) {
        case .absent, .refolds:
            break
        case .foreign(let why):
            guard replaceForeign else {
                throw StoreError(.badInput, ReadModelNames.foreignTableMessage(projection, location: location, why: why))
            }
            guard try objectKind(projection) == "table" else {
                throw StoreError(.badInput, "\(projection) in \(location) \(why); --replace-table keeps only tables as backups — rename or drop it yourself, or keep the read models in another database (--read-models). Nothing was written.")
            }
            backup = ReadModelNames.backupTable(projection)
        }
        let shadow = ReadModelNames.shadowTable(projection)
        if case .foreign(let why) = try objectState(shadow) {
            throw StoreError(.badInput, ReadModelNames.foreignShadowMessage(shadow, location: location, why: why))
        }
        if let holder = try lockHolder(projection: projection), holder.blocks(job: ownLock ?? "") {
            throw StoreError(.locked, holder.busyMessage(projection: projection))
        }
        return backup
    }

    @discardableResult
    public func swapIn(projection: String, job: String, head: Int64, projectionVersion: Int) throws(StoreError) -> String? {
        try swapIn(projection: projection, job: job, head: head, projectionVersion: projectionVersion, keepForeignAs: nil)
    }

    public func quarantined(projection: String) throws(StoreError) -> [QuarantineRecord] {
        try quarantined(projection: projection, job: nil)
    }

    @discardableResult
    public func applyLive(
        projection: String, rows: [FoldedRow], quarantined: [QuarantineRecord], healed: [String], checkpoint: (from: Int64, to: Int64)?
    ) throws(StoreError) -> LiveWrite {
        try applyLive(projection: projection, rows: rows, quarantined: quarantined, healed: healed, checkpoint: checkpoint, fence: nil)
    }

    @discardableResult
    public func acquireLock(projection: String, job: String, owner: String, seconds: Int64) throws(StoreError) -> LockHolder? {
        try acquireLock(projection: projection, job: job, owner: owner, seconds: seconds, redis: "")
    }
}

/// Steps through a model's rows in id (byte) order.
public protocol ReadModelCursor: AnyObject {
    /// The next row, or nil at the end.
    func next() throws(StoreError) -> (id: [UInt8], data: [UInt8], version: Int64)?
}

/// What one `applyLive` changed.
public struct LiveWrite: Sendable {
    /// The rows that advanced (a row whose stored version was already as high is not here).
    public var advanced: [(aggregate: [UInt8], version: Int64)] = []
    /// Whether the checkpoint moved.
    public var checkpointMoved = false
    public init() {}
}

/// Whose table carries a projection's name in the read-model database.
public enum ModelTableState: Sendable, Equatable {
    /// No table, view or index of that name.
    case absent
    /// A table Refold built: Refold's columns and a row in `refold_checkpoints`.
    case refolds
    /// Something else of that name; the text says why it is not Refold's.
    case foreign(String)
}

/// Names and words every read-model store shares.
public enum ReadModelNames {
    /// Checks a projection name is usable as a table name: letters, digits and `_`.
    public static func validate(projection: String) throws(StoreError) {
        guard !projection.isEmpty, projection.utf8.count <= 60,
              projection.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") })
        else { throw StoreError(.badInput, "projection name \"\(projection)\" cannot be a table name (use letters, digits and _).") }
    }

    public static func shadowTable(_ projection: String) -> String { "\(projection)__refold_shadow" }

    /// The columns of every read-model table Refold creates, in order.
    public static let modelColumns = ["id", "data", "version", "updated_at"]

    /// The name a replaced foreign table is kept under: `<projection>__refold_backup_<UTC time>`.
    public static func backupTable(_ projection: String, at date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        return "\(projection)__refold_backup_\(formatter.string(from: date))"
    }

    /// The one clear line for a foreign table in the way of a rebuild.
    public static func foreignTableMessage(_ projection: String, location: String, why: String) -> String {
        "table \(projection) in \(location) \(why); Refold never replaces a table it did not build — keep the read models in another database (--read-models other.db), or pass --replace-table to keep that table as \(projection)__refold_backup_<time> and build the model in its place. Nothing was written."
    }

    /// The one clear line for a foreign object squatting the shadow table's name.
    public static func foreignShadowMessage(_ shadow: String, location: String, why: String) -> String {
        "\(shadow) in \(location) \(why); Refold will not drop it — rename it, or keep read models in another database (--read-models)."
    }

    /// UTC `yyyy-MM-dd HH:mm:ss`.
    public static func timestamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// What a run that did not swap left in place, in words.
    public static func untouched(_ state: ModelTableState, projection: String) -> String {
        switch state {
        case .refolds: return "the live table of \(projection) was kept"
        case .absent: return "\(projection) has no live table yet, and none was created"
        case .foreign: return "the table \(projection) was left as it was"
        }
    }
}
