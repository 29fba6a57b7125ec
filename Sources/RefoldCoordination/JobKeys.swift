/// The Redis keys of one job. Every key carries the job id as its hash tag (`{job}`), so a
/// Redis Cluster keeps a whole job in one slot and every script runs there unchanged.
///
/// The order of `all` is the KEYS order every script of `lua/` expects (docs/PROTOCOL.md).
public struct JobKeys: Sendable, Equatable {
    /// The names of the 14 keys, in KEYS order.
    public static let suffixes = [
        "job", "specs", "states", "attempts", "tokens", "owners", "ready",
        "leases", "delayed", "results", "dead", "progress", "started", "signal",
    ]

    /// The sorted set listing jobs that may have claimable tasks (member: job id, score: created ms).
    /// It lives outside every job's slot, so scripts never touch it; clients maintain it.
    public static let index = "refold:jobs"

    public let jobID: String
    /// All 14 keys, in the order scripts expect them.
    public let all: [String]

    public init(jobID: String) {
        self.jobID = jobID
        self.all = Self.suffixes.map { "refold:{\(jobID)}:\($0)" }
    }

    public var job: String { all[0] }
    public var states: String { all[2] }
    public var owners: String { all[5] }
    public var results: String { all[9] }
    public var dead: String { all[10] }
    public var signal: String { all[13] }

    /// Whether `jobID` is acceptable: 1–100 of letters, digits, `.`, `_`, `-` (no braces, so the hash tag holds).
    public static func isValid(jobID: String) -> Bool {
        !jobID.isEmpty && jobID.utf8.count <= 100 && jobID.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}
