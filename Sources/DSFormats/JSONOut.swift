/// JSON to write (JSONValue is JSON read): keys keep the order they are written in (OpenAI's field order, the order
/// Python's json.dumps keeps), non-finite numbers become null. `text` is compact (the HTTP wire, JSONL lines,
/// safetensors headers); `text(layout:)` also writes json.dumps's spaced separators and indented levels, so files
/// read by people or compared with Python tools' output keep their familiar shape.
public indirect enum JSONOut: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// Written as Swift prints the Double (shortest round-trip digits: 0.5, 1e-05, 10000.0).
    case number(Double)
    /// Written as Swift prints the Float: a Float field keeps its own shortest digits (1e-06, not 9.99…e-07).
    case float(Float)
    case string(String)
    case array([JSONOut])
    case object([(String, JSONOut)])

    /// Separators and line breaks.
    public struct Layout: Sendable {
        /// ", " and ": " between members (json.dumps's default) instead of "," and ":".
        public var spaced: Bool
        /// Nesting levels written one member per line, indented two spaces a level (as json.dumps(indent=2)); values
        /// nested deeper stay on one line.
        public var indentedLevels: Int

        public init(spaced: Bool, indentedLevels: Int) {
            self.spaced = spaced
            self.indentedLevels = indentedLevels
        }

        public static let compact = Layout(spaced: false, indentedLevels: 0)
        public static let spaced = Layout(spaced: true, indentedLevels: 0)
        /// The first `levels` levels one member per line, deeper values spaced on one line.
        public static func indented(levels: Int) -> Layout { Layout(spaced: true, indentedLevels: levels) }
    }

    /// Compact JSON: no spaces, one line.
    public var text: String { text(layout: .compact) }

    public func text(layout: Layout) -> String {
        var s = ""
        write(into: &s, layout: layout, depth: 0)
        return s
    }

    private func write(into s: inout String, layout: Layout, depth: Int) {
        switch self {
        case .null: s += "null"
        case .bool(let b): s += b ? "true" : "false"
        case .int(let i): s += String(i)
        case .number(let d): s += d.isFinite ? "\(d)" : "null"
        case .float(let f): s += f.isFinite ? "\(f)" : "null"
        case .string(let t): s += jsonQuoted(t)
        case .array(let a):
            writeMembers(a, open: "[", close: "]", into: &s, layout: layout, depth: depth) { v, s in
                v.write(into: &s, layout: layout, depth: depth + 1)
            }
        case .object(let o):
            writeMembers(o, open: "{", close: "}", into: &s, layout: layout, depth: depth) { member, s in
                s += jsonQuoted(member.0)
                s += layout.spaced ? ": " : ":"
                member.1.write(into: &s, layout: layout, depth: depth + 1)
            }
        }
    }

    private func writeMembers<Member>(_ members: [Member], open: String, close: String, into s: inout String, layout: Layout,
                                      depth: Int, _ writeMember: (Member, inout String) -> Void) {
        s += open
        if members.isEmpty {
            s += close
            return
        }
        let indented = depth < layout.indentedLevels
        let lineStart = "\n" + String(repeating: "  ", count: depth + 1)
        for (i, m) in members.enumerated() {
            if i > 0 { s += indented ? "," : layout.spaced ? ", " : "," }
            if indented { s += lineStart }
            writeMember(m, &s)
        }
        if indented { s += "\n" + String(repeating: "  ", count: depth) }
        s += close
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped, everything else (non-ASCII included)
/// as it is.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
