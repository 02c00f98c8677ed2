import DSFormats
import Foundation

/// The fixed rules a schema grammar draws on (llama.cpp's json-schema-to-grammar primitives, with its bounded
/// whitespace), JSON and GBNF literal writing, and the string formats.
enum SchemaPrimitives {
    /// Nothing, one space, or a line break and up to 20 spaces or tabs of indentation: never a run the model
    /// could loop on. Layout: every value inside a container is followed by `ws`, and `ws` follows `{`, `[`, `:`
    /// and `,` — never two in a row, and none before or after the root value.
    static let rules: [String: (body: String, uses: [String])] = [
        "ws": (#"| " " | "\n" [ \t]{0,20}"#, []),
        "boolean": (#""true" | "false""#, []),
        "null": (#""null""#, []),
        "integer": (#""-"? ("0" | [1-9] [0-9]{0,15})"#, []),
        // Exponent at most two digits: every number the grammar allows is a finite double.
        "number": (#""-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?"#, []),
        // One character of a JSON string: unescaped, or an escape (\u never a surrogate: each is one code point).
        "char": (#"[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))"#, []),
        "string": (#""\"" char* "\"""#, ["char"]),
        "value": ("object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]),
        "object": (#""{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}""#, ["ws", "string", "value"]),
        "array": (#""[" ws ( value ws ( "," ws value ws )* )? "]""#, ["ws", "value"]),
        // RFC 3339 full-date with the real month lengths and leap years (Gregorian: divisible by 4, centuries by 400).
        "date": (#"[0-9]{4} "-" ( ("01" | "03" | "05" | "07" | "08" | "10" | "12") "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | ("04" | "06" | "09" | "11") "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) ) | date-leap-year "-02-29""#, ["date-leap-year"]),
        "date-leap-year": (#"[0-9]{2} ( "0" [48] | [2468] [048] | [13579] [26] ) | ( "0" [048] | [2468] [048] | [13579] [26] ) "00""#, []),
        "time": (#"( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"#, []),
        "date-time": (#"date "T" time"#, ["date", "time"]),
        "uuid": (#"[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}"#, []),
    ]

    static let formats: Set<String> = ["date", "time", "date-time", "uuid"]

    /// JSON text of a value, compact (object keys in the schema's order).
    static func json(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d):
            if d.rounded() == d && abs(d) < 1e15 { return String(Int64(d)) }
            return String(describing: d)
        case .string(let s): return jsonString(s)
        case .array(let a): return "[" + a.map(json).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.members.map { jsonString($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A GBNF string literal matching exactly `text`.
    static func literal(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02X", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A rule-name fragment from free text (property names, $defs keys).
    static func ruleName(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
            if ok { out.unicodeScalars.append(c) } else if !out.hasSuffix("-") { out += "-" }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "x" : String(out.prefix(40))
    }

    /// JSON pointer token escaping (RFC 6901).
    static func pointerToken(_ s: String) -> String {
        s.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
