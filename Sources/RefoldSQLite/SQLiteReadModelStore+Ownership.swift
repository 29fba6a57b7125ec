import Foundation

/// Refold never drops, replaces or writes a table it did not create. It recognises its own
/// live tables by two marks together: the exact read-model columns, and the projection's row
/// in `refold_checkpoints` (written in the same transaction as the swap that created it).
extension SQLiteReadModelStore {
    public func objectKind(_ name: String) throws(StoreError) -> String? { try objectType(named: name) }

    public func columnNames(of table: String) throws(StoreError) -> [String] { try columns(of: table) }

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
        return try SQLiteReadModelStore(readOnlyPath: path).rebuildTargetChecks(projection: projection, replaceForeign: replaceForeign, ownLock: ownLock)
    }
}
