import Foundation

/// Refold never drops, replaces or writes a table it did not create. It recognises its own
/// live tables by two marks together: the exact read-model columns, and the projection's row
/// in `refold_checkpoints` (written in the same transaction as the swap that created it).
extension SQLiteReadModelStore {
    /// Whether `projection`'s live table is absent, Refold's, or someone else's.
    public func modelTableState(projection: String) throws(StoreError) -> ModelTableState {
        if case .foreign(let why) = try objectState(projection) { return .foreign(why) }
        guard try objectType(named: projection) != nil else { return .absent }
        guard try checkpoint(projection: projection) != nil else {
            return .foreign("was not built by Refold (it has no row in refold_checkpoints)")
        }
        return .refolds
    }

    /// Absent, or a table with exactly Refold's read-model columns (`.refolds`), or foreign.
    func objectState(_ name: String) throws(StoreError) -> ModelTableState {
        guard let type = try objectType(named: name) else { return .absent }
        guard type == "table" else { return .foreign("is a \(type), not a table") }
        let present = try columns(of: name)
        guard Set(present) == Set(Self.modelColumns), present.count == Self.modelColumns.count else {
            return .foreign("has columns (\(present.joined(separator: ", "))) that are not Refold's (\(Self.modelColumns.joined(separator: ", ")))")
        }
        return .refolds
    }

    /// What a run that did not swap left in place, in words.
    public func untouched(projection: String) -> String {
        ReadModelNames.untouched((try? modelTableState(projection: projection)) ?? .absent, projection: projection)
    }

    static func foreignTableMessage(_ projection: String, path: String, why: String) -> String {
        ReadModelNames.foreignTableMessage(projection, location: path, why: why)
    }

    public static func backupTable(_ projection: String, at date: Date = Date()) -> String {
        ReadModelNames.backupTable(projection, at: date)
    }

    /// Every check a rebuild makes on its target before writing anything, read-only: the folder
    /// exists, the `refold_*` tables (if any) are Refold's, the projection's table is Refold's
    /// or absent (or `replaceForeign` was given), no foreign table squats the shadow's name,
    /// and no other rebuild holds the model's lock. Returns the backup name a foreign table
    /// will be kept under, when there is one to keep.
    public static func preflight(path: String, projection: String, replaceForeign: Bool, ownLock: String? = nil) throws(StoreError) -> String? {
        try validate(projection: projection)
        guard FileManager.default.fileExists(atPath: path) else {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw StoreError(.badInput, "the folder of the read-model database \(path) does not exist (create it, or pass another --read-models path).")
            }
            guard FileManager.default.isWritableFile(atPath: folder) else {
                throw StoreError(.badInput, "cannot create the read-model database \(path): its folder is not writable (pass another --read-models path).")
            }
            return nil
        }
        let store = try SQLiteReadModelStore(readOnlyPath: path)
        var backup: String?
        switch try store.modelTableState(projection: projection) {
        case .absent, .refolds:
            break
        case .foreign(let why):
            guard replaceForeign else { throw StoreError(.badInput, foreignTableMessage(projection, path: path, why: why)) }
            guard try store.objectType(named: projection) == "table" else {
                throw StoreError(.badInput, "\(projection) in \(path) \(why); --replace-table keeps only tables as backups — rename or drop it yourself, or keep the read models in another database (--read-models). Nothing was written.")
            }
            backup = backupTable(projection)
        }
        let shadow = shadowTable(projection)
        if case .foreign(let why) = try store.objectState(shadow) {
            throw StoreError(.badInput, "\(shadow) in \(path) \(why); Refold will not drop it — rename it, or keep read models in another database (--read-models).")
        }
        if let holder = try store.lockHolder(projection: projection), holder.blocks(job: ownLock ?? "") {
            throw StoreError(.locked, holder.busyMessage(projection: projection))
        }
        return backup
    }
}
