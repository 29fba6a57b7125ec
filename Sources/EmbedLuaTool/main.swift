import Foundation

// Usage:
//   EmbedLuaTool embed OUTPUT.swift INCLUDE_DIR SCRIPT.lua...   (the build plugin)
//   EmbedLuaTool flatten OUTPUT_DIR INCLUDE_DIR SCRIPT.lua...   (scripts/flatten-lua.sh)
//
// Resolves `--- @include "name"` lines (BullMQ's convention) with lua/include/name.lua,
// recursively, each include at most once per script, and either writes the flattened scripts
// as Swift string literals (so the binary carries them) or as .lua files (so other languages
// load exactly what Refold runs; a test keeps the committed copies current).

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("EmbedLuaTool: \(message)\n".utf8))
    exit(1)
}

func read(_ path: String) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self)
}

/// The script with every include line replaced by the include's own (flattened) text.
func flatten(_ text: String, includes: String, seen: inout Set<String>, chain: [String]) -> String {
    var out: [Substring] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let prefix = "--- @include \""
        guard line.hasPrefix(prefix), line.hasSuffix("\""), line.count > prefix.count + 1 else {
            out.append(line)
            continue
        }
        let name = String(line.dropFirst(prefix.count).dropLast())
        if chain.contains(name) { fail("include cycle: \((chain + [name]).joined(separator: " -> "))") }
        if seen.contains(name) { continue }
        seen.insert(name)
        var body = flatten(read("\(includes)/\(name).lua"), includes: includes, seen: &seen, chain: chain + [name])
        if body.hasSuffix("\n") { body.removeLast() }
        out.append(Substring(body))
    }
    return out.joined(separator: "\n")
}

/// The flattened script, marked as generated (after a `#!lua` line, which must stay first).
func flattened(_ path: String, includes: String) -> String {
    var seen: Set<String> = []
    let name = URL(fileURLWithPath: path).lastPathComponent
    let body = flatten(read(path), includes: includes, seen: &seen, chain: [])
    let note = "-- Generated from lua/src/\(name) and lua/include/ (scripts/flatten-lua.sh); edit those, not this file.\n"
    if body.hasPrefix("#!") {
        let end = body.firstIndex(of: "\n").map { body.index(after: $0) } ?? body.endIndex
        return String(body[..<end]) + note + String(body[end...])
    }
    return note + body
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

func write(_ text: String, to path: String) {
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        fail("cannot write \(path): \(error)")
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3, ["embed", "flatten"].contains(arguments[0]) else {
    fail("usage: EmbedLuaTool embed OUTPUT.swift INCLUDE_DIR SCRIPT.lua... | EmbedLuaTool flatten OUTPUT_DIR INCLUDE_DIR SCRIPT.lua...")
}
let (mode, output, includes, scripts) = (arguments[0], arguments[1], arguments[2], arguments.dropFirst(3))

if mode == "flatten" {
    for path in scripts {
        write(flattened(path, includes: includes), to: "\(output)/\(URL(fileURLWithPath: path).lastPathComponent)")
    }
    exit(0)
}

var swift = """
    // Generated at build time by EmbedLuaTool from the package's lua/src and lua/include. Do not edit.
    import RefoldRedis

    enum EmbeddedLuaScripts {
        /// Every script of lua/src, flattened, by file name without ".lua", in name order.
        static let all: [RedisScript] = [

    """
for path in scripts {
    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    swift += "        RedisScript(name: \(literal(name)), source: \(literal(flattened(path, includes: includes)))),\n"
}
swift += "    ]\n}\n"
write(swift, to: output)
