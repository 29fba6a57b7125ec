import Foundation

// Usage: EmbedLuaTool OUTPUT.swift SCRIPT.lua...
// Writes a Swift file holding each script's exact text, named after its file.

let arguments = CommandLine.arguments.dropFirst()
guard let outputPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedLuaTool OUTPUT.swift SCRIPT.lua...\n".utf8))
    exit(2)
}

/// A Swift string literal that holds exactly `text`.
func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

var swift = """
    // Generated at build time by EmbedLuaTool from the package's lua/ folder. Do not edit.
    import RefoldRedis

    enum EmbeddedLuaScripts {
        /// Every script of lua/, by file name without ".lua", in name order.
        static let all: [RedisScript] = [

    """
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("EmbedLuaTool: cannot read \(path)\n".utf8))
        exit(1)
    }
    let name = url.deletingPathExtension().lastPathComponent
    swift += "        RedisScript(name: \(literal(name)), source: \(literal(String(decoding: data, as: UTF8.self)))),\n"
}
swift += "    ]\n}\n"

do {
    try Data(swift.utf8).write(to: URL(fileURLWithPath: outputPath), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("EmbedLuaTool: cannot write \(outputPath): \(error)\n".utf8))
    exit(1)
}
