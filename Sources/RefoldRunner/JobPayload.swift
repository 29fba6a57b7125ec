import Foundation
import RefoldJSON

/// What a job asks its workers to do: the JSON stored as the job's payload at fork.
///
/// `{"kind":"noop"}` — the coordination benchmark's empty tasks.
/// `{"kind":"rebuild", ...}` — a read-model rebuild (see `RebuildJobSpec`).
public enum JobPayload {
    /// The `kind` field of a payload, or nil when it is not a JSON object with one.
    public static func kind(of payload: String) -> String? {
        JSONTree(parsing: payload)?["kind"]?.string
    }
}
