import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The holder of a model's lock (one writer per model: a rebuild, a catch-up, the live service).
public struct LockHolder: Sendable, Equatable {
    public init(job: String, owner: String, expiresAt: Int64, host: String, pid: Int32, redis: String) {
        self.job = job; self.owner = owner; self.expiresAt = expiresAt; self.host = host; self.pid = pid; self.redis = redis
    }

    public let job: String
    public let owner: String
    /// Seconds since the epoch when the lock lapses unless renewed.
    public let expiresAt: Int64
    public let host: String
    public let pid: Int32
    /// The Redis the holder's job lives in (no password), so operators can reach it.
    public let redis: String

    /// True when the holder ran on this host and its process is gone (killed, crashed).
    public var holderIsDeadHere: Bool {
        guard host == ProcessInfo.processInfo.hostName, pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Whether this lock keeps `job` from taking it now: held by another job, unexpired, and
    /// not by a process known to be dead.
    public func blocks(job: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> Bool {
        self.job != job && expiresAt > now && !holderIsDeadHere
    }

    /// "another rebuild … is running" with how to reach its job.
    public func busyMessage(projection: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        let reach = redis.isEmpty ? "" : " --redis \(redis)"
        let valid = "lock valid for \(max(0, expiresAt - now)) s more"
        if job.hasPrefix("live-") {
            return "the live service keeps \(projection) current (\(owner), \(valid)); it applies new events itself — stop it first (SIGTERM), or send it a request (docs/PROTOCOL.md, \"request.lua\")."
        }
        if job.hasPrefix("inline-") {
            return "another rebuild of \(projection) is running in one process (\(owner)\(host.isEmpty ? "" : " on \(host)"), \(valid)); wait for it to finish — `refold status --read-models <this database>` shows it."
        }
        if job.hasPrefix("catchup-") {
            return "a catch-up of \(projection) is running (job \(job), \(owner), \(valid)); wait for it to finish\(redis.isEmpty ? "" : ", or stop it with `refold cancel \(job)\(reach)`")."
        }
        return "another rebuild of \(projection) is running (job \(job), \(owner), \(valid)); wait for it to finish, or see it with `refold status \(job)\(reach)` and stop it with `refold cancel \(job)\(reach)`."
    }
}
