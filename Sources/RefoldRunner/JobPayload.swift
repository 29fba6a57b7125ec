import Foundation

/// What a job asks its workers to do: the JSON stored as the job's payload at fork.
///
/// `{"kind":"noop"}` — the coordination benchmark's empty tasks.
/// `{"kind":"rebuild", ...}` — a read-model rebuild (see `RebuildJobSpec`).
public enum JobPayload {
    /// The `kind` field of a payload, or nil when it is not a JSON object with one.
    public static func kind(of payload: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
        return object["kind"] as? String
    }
}
