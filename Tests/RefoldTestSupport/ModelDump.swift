import Foundation
import RefoldRunner

/// A read model as canonical text, whatever the database: the live table (id, version, data
/// with keys sorted) and the quarantine list. Equal text means equal models, whatever each
/// database does to JSON formatting.
public enum ModelDump {
    public static func canonical(_ location: String, projection: String = "order_summary") throws -> String {
        guard let store = try Stores.readOnlyModels(location) else { throw TestSupportError("no database at \(location)") }
        let cursor = try store.cursor(projection: projection)
        var lines: [String] = []
        while let row = try cursor.next() {
            let object = try JSONSerialization.jsonObject(with: Data(row.data))
            let canonical = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines.append("\(String(decoding: row.id, as: UTF8.self))|\(row.version)|\(String(decoding: canonical, as: UTF8.self))")
        }
        for record in try store.quarantined(projection: projection) {
            lines.append("Q|\(record.aggregate)|\(record.version.map(String.init) ?? "-")|\(record.position)|\(record.code.rawValue)|\(record.reason)")
        }
        return lines.joined(separator: "\n")
    }
}
