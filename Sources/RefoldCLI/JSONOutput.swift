import Foundation
import RefoldCore

enum JSONOutput {
    /// Prints one JSON object on standard output (the whole of it, under `--json`).
    static func print(_ pairs: KeyValuePairs<String, JSONValue>) {
        Swift.print(JSONValue.object(pairs.map { ($0.key, $0.value) }).rendered())
    }

    static func print(_ value: JSONValue) {
        Swift.print(value.rendered())
    }
}
