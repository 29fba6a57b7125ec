/// A job as status.lua reports it: every field of its hash, typed, plus queue sizes and the
/// server's time.
public struct JobStatus: Sendable, Equatable {
    public let jobID: String
    public let state: JobState
    public let total: Int
    public let done: Int
    public let dead: Int
    public let retries: Int
    public let stalls: Int
    public let ready: Int
    public let leased: Int
    public let delayed: Int
    public let eventsTotal: Int64
    public let eventsDone: Int64
    public let createdMilliseconds: Int64
    public let sealedMilliseconds: Int64?
    public let finishedMilliseconds: Int64?
    public let serverMilliseconds: Int64
    public let maxAttempts: Int
    public let leaseMilliseconds: Int
    public let payload: String
    /// Why the job was cancelled or failed, if it was.
    public let reason: String
    /// Tasks handed back without an attempt spent (graceful stops, workers that cannot run them).
    public let releases: Int
    /// The last reason a worker gave for handing a task back, if any.
    public let releaseReason: String
    /// Every field of the job hash as stored (including ones added after the fork, like `report`).
    public let fields: [String: String]

    /// From the job hash's fields (and status.lua's `ready`, `leased`, `delayed`, `now_ms`).
    public init(jobID: String, fields: [String: String], state: JobState) {
        func int(_ name: String) -> Int { Int(fields[name] ?? "") ?? 0 }
        func int64(_ name: String) -> Int64 { Int64(fields[name] ?? "") ?? 0 }
        self.jobID = jobID
        self.state = state
        total = int("total")
        done = int("done")
        dead = int("dead")
        retries = int("retries")
        stalls = int("stalls")
        ready = int("ready")
        leased = int("leased")
        delayed = int("delayed")
        eventsTotal = int64("events_total")
        eventsDone = int64("events_done")
        createdMilliseconds = int64("created_ms")
        sealedMilliseconds = Int64(fields["sealed_ms"] ?? "")
        finishedMilliseconds = Int64(fields["finished_ms"] ?? "")
        serverMilliseconds = int64("now_ms")
        maxAttempts = int("max_attempts")
        leaseMilliseconds = int("lease_ms")
        payload = fields["payload"] ?? ""
        reason = fields["reason"] ?? ""
        releases = int("releases")
        releaseReason = fields["release_reason"] ?? ""
        self.fields = fields
    }

    /// True once the job is joined, failed or cancelled.
    public var isFinished: Bool { state.isFinished }
    /// Age of the job in ms by the server's clock (tells a stuck "building" job).
    public var ageMilliseconds: Int64 { serverMilliseconds - createdMilliseconds }
}
