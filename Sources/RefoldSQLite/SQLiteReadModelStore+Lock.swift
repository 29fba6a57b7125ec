import Foundation

/// One rebuild per model at a time. The lock lives with the model (in the read-model
/// database), so every coordinator of that model sees it wherever it runs. It expires, so a
/// crashed coordinator's lock does not block the next run for long; and it records the
/// holder's host and pid, so a run on the same host takes over at once from a dead holder.
extension SQLiteReadModelStore {
    public typealias LockHolder = RefoldStore.LockHolder

    /// Takes the lock for `job`. Throws `.locked` if another job holds an unexpired lock.
    /// Returns the previous holder when its lock had expired (an orphan to clean up).
    @discardableResult
    public func acquireLock(projection: String, job: String, owner: String, seconds: Int64, redis: String) throws(StoreError) -> LockHolder? {
        let now = Int64(Date().timeIntervalSince1970)
        try connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let existing = try lockHolder(projection: projection)
            if let existing, existing.blocks(job: job, now: now) {
                throw StoreError(.locked, existing.busyMessage(projection: projection, now: now))
            }
            try connection.prepare("INSERT OR REPLACE INTO refold_locks (projection, owner, job, expires_at, host, pid, redis) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .run([.text(projection), .text(owner), .text(job), .int(now + seconds),
                      .text(ProcessInfo.processInfo.hostName), .int(Int64(getpid())), .text(redis)])
            try connection.execute("COMMIT")
            return existing.flatMap { $0.job == job ? nil : $0 }
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Extends the lock; throws `.locked` if it is no longer this job's.
    public func renewLock(projection: String, job: String, seconds: Int64) throws(StoreError) {
        let now = Int64(Date().timeIntervalSince1970)
        try connection.prepare("UPDATE refold_locks SET expires_at = ?1 WHERE projection = ?2 AND job = ?3")
            .run([.int(now + seconds), .text(projection), .text(job)])
        if connection.changes == 0 {
            throw StoreError(.locked, "the rebuild lock of \(projection) was taken over by another run.")
        }
    }

    /// Releases the lock if this job holds it.
    public func releaseLock(projection: String, job: String) throws(StoreError) {
        try connection.prepare("DELETE FROM refold_locks WHERE projection = ?1 AND job = ?2").run([.text(projection), .text(job)])
    }

    /// The current holder, expired or not.
    public func lockHolder(projection: String) throws(StoreError) -> LockHolder? {
        guard try hasSupportTable("refold_locks") else { return nil }
        let hasRedis = try columns(of: "refold_locks").contains("redis")
        let statement = try connection.prepare("SELECT job, owner, expires_at, host, pid, \(hasRedis ? "redis" : "''") FROM refold_locks WHERE projection = ?1")
        try statement.bind([.text(projection)])
        guard try statement.step() else { return nil }
        return LockHolder(job: statement.text(0), owner: statement.text(1), expiresAt: statement.int64(2),
                          host: statement.text(3), pid: Int32(truncatingIfNeeded: statement.int64(4)), redis: statement.text(5))
    }

    /// Every lock in the database (operators' view), expired ones included.
    public func locks() throws(StoreError) -> [(projection: String, holder: LockHolder)] {
        guard try hasSupportTable("refold_locks") else { return [] }
        let statement = try connection.prepare("SELECT projection FROM refold_locks ORDER BY projection")
        var names: [String] = []
        while try statement.step() { names.append(statement.text(0)) }
        var out: [(projection: String, holder: LockHolder)] = []
        for name in names {
            if let holder = try lockHolder(projection: name) { out.append((name, holder)) }
        }
        return out
    }

    /// Forgets the quarantine records a job wrote (its model was never swapped in).
    public func discardQuarantine(projection: String, job: String) throws(StoreError) {
        try connection.prepare("DELETE FROM refold_quarantine WHERE projection = ?1 AND job = ?2").run([.text(projection), .text(job)])
    }
}
