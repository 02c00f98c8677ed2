/// The parsed (not yet lowered) form of a GBNF grammar.
indirect enum GBNFNode: Equatable {
    /// One code point from a class (a literal's characters become one each).
    case character(CharClass)
    case rule(String, line: Int, column: Int)
    case sequence([GBNFNode])
    /// Alternatives (a parenthesised group or a rule body with `|`).
    case choice([GBNFNode])
    case repeated(GBNFNode, min: Int, max: Int?)
}

struct ParsedRule {
    var name: String
    var body: GBNFNode
    var line: Int, column: Int
}

/// llama.cpp's GBNF syntax: `name ::= alternatives` rules, `|`, sequences, `( )` groups, `* + ?`, `{m}` `{m,}` `{m,n}`
/// `{,n}` repetitions, string literals and `[...]` / `[^...]` classes with `\n \r \t \\ \" \[ \] \xHH \uHHHH
/// \UHHHHHHHH` escapes, `.` (any character), `#` comments. A rule ends at the end of its line, except inside
/// parentheses and when the next line starts with `|`. Errors name the line and column.
struct GBNFParser {
    private let text: [Unicode.Scalar]
    private var i = 0
    /// Line starts, for line/column of an offset.
    private let lineStarts: [Int]

    static let maxRepetition = 100_000

    init(_ source: String) {
        text = Array(source.unicodeScalars)
        var starts = [0]
        for (k, c) in text.enumerated() where c == "\n" { starts.append(k + 1) }
        lineStarts = starts
    }

    static func parse(_ source: String) throws(GrammarError) -> [ParsedRule] {
        var p = GBNFParser(source)
        return try p.rules()
    }

    private func position(_ offset: Int) -> (line: Int, column: Int) {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return (lo + 1, offset - lineStarts[lo] + 1)
    }

    private func error(_ message: String, at offset: Int? = nil) -> GrammarError {
        let (l, c) = position(offset ?? i)
        return GrammarError(line: l, column: c, message)
    }

    private var current: Unicode.Scalar? { i < text.count ? text[i] : nil }

    private static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_"
    }

    /// Skips blanks and comments; newlines too when `newlines`.
    private mutating func skipSpace(newlines: Bool) {
        while let c = current {
            if c == " " || c == "\t" || (newlines && (c == "\n" || c == "\r")) {
                i += 1
            } else if c == "#" {
                while let d = current, d != "\n" { i += 1 }
            } else {
                break
            }
        }
    }

    private mutating func rules() throws(GrammarError) -> [ParsedRule] {
        var out: [ParsedRule] = []
        var seen: [String: Int] = [:]
        while true {
            skipSpace(newlines: true)
            guard current != nil else { break }
            let start = i
            let name = name()
            guard !name.isEmpty else { throw error("expected a rule name, found '\(current!)'") }
            let (line, column) = position(start)
            if let previous = seen[name] { throw error("rule '\(name)' is defined twice (first on line \(previous))", at: start) }
            seen[name] = line
            skipSpace(newlines: false)
            guard text[i...].starts(with: "::=".unicodeScalars) else { throw error("expected '::=' after the rule name '\(name)'") }
            i += 3
            skipSpace(newlines: true)
            let body = try alternatives(nested: false)
            out.append(ParsedRule(name: name, body: body, line: line, column: column))
            if let c = current, c != "\n" && c != "\r" {
                throw error(c == ")" ? "unbalanced ')'" : "unexpected '\(c)' (a rule ends at the end of its line)")
            }
        }
        return out
    }

    private mutating func name() -> String {
        var s = ""
        while let c = current, Self.isNameCharacter(c) {
            s.unicodeScalars.append(c)
            i += 1
        }
        return s
    }

    private mutating func alternatives(nested: Bool) throws(GrammarError) -> GBNFNode {
        var options = [try sequence(nested: nested)]
        while true {
            if current == "|" {
                i += 1
                skipSpace(newlines: true)
                options.append(try sequence(nested: nested))
                continue
            }
            // Lenient continuation: a top-level rule may go on with a line that starts with `|`.
            if !nested, current == "\n" || current == "\r" {
                let save = i
                skipSpace(newlines: true)
                if current == "|" { continue }
                i = save
            }
            break
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    private mutating func sequence(nested: Bool) throws(GrammarError) -> GBNFNode {
        var items: [GBNFNode] = []
        while let c = current {
            let start = i
            switch c {
            case "\"":
                i += 1
                var chars: [GBNFNode] = []
                while true {
                    guard let d = current, d != "\n" else { throw error("unterminated string literal", at: start) }
                    if d == "\"" { i += 1; break }
                    chars.append(.character(.single(try character())))
                }
                items.append(.sequence(chars))
            case "[":
                items.append(.character(try characterClass()))
            case ".":
                i += 1
                items.append(.character(.any))
            case "(":
                i += 1
                skipSpace(newlines: true)
                let inner = try alternatives(nested: true)
                skipSpace(newlines: true)
                guard current == ")" else { throw error("expected ')' to close the group opened at column \(position(start).column)") }
                i += 1
                items.append(inner)
            case "*", "+", "?", "{":
                guard let last = items.popLast() else { throw error("'\(c)' has nothing before it to repeat") }
                items.append(try repetition(of: last))
            case "<":
                throw error("token references (<...>) are not supported; write the token's text as a string literal")
            case "|", ")", "\n", "\r":
                return items.count == 1 ? items[0] : .sequence(items)
            default:
                guard Self.isNameCharacter(c) else { throw error("unexpected character '\(c)'") }
                let n = name()
                let (line, column) = position(start)
                items.append(.rule(n, line: line, column: column))
            }
            skipSpace(newlines: nested)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func repetition(of item: GBNFNode) throws(GrammarError) -> GBNFNode {
        let c = current!
        i += 1
        switch c {
        case "*": return .repeated(item, min: 0, max: nil)
        case "+": return .repeated(item, min: 1, max: nil)
        case "?": return .repeated(item, min: 0, max: 1)
        default: break
        }
        let start = i - 1
        skipSpace(newlines: false)
        let low = try integer() ?? 0
        skipSpace(newlines: false)
        var high: Int? = low
        if current == "," {
            i += 1
            skipSpace(newlines: false)
            high = try integer()
            skipSpace(newlines: false)
        }
        guard current == "}" else { throw error("expected '}' to close the repetition opened at column \(position(start).column)") }
        i += 1
        if let high, high < low { throw error("repetition {\(low),\(high)}: the maximum is below the minimum", at: start) }
        if max(low, high ?? 0) > Self.maxRepetition {
            throw error("repetition counts above \(Self.maxRepetition) are not supported", at: start)
        }
        return .repeated(item, min: low, max: high)
    }

    private mutating func integer() throws(GrammarError) -> Int? {
        var v: Int?
        while let c = current, c >= "0" && c <= "9" {
            v = (v ?? 0) * 10 + Int(c.value - 48)
            if v! > 1_000_000 { throw error("repetition count is too large") }
            i += 1
        }
        return v
    }

    /// One character of a literal or class, with escapes.
    private mutating func character() throws(GrammarError) -> UInt32 {
        let start = i
        let c = current!
        i += 1
        guard c == "\\" else { return c.value }
        guard let e = current else { throw error("unfinished escape at the end of the grammar", at: start) }
        i += 1
        switch e {
        case "n": return 10
        case "r": return 13
        case "t": return 9
        case "\\", "\"", "[", "]", "-", "^": return e.value
        case "x": return try hex(digits: 2, start: start)
        case "u": return try hex(digits: 4, start: start)
        case "U": return try hex(digits: 8, start: start)
        default: throw error("unknown escape '\\\(e)' (known: \\n \\r \\t \\\\ \\\" \\[ \\] \\xHH \\uHHHH \\UHHHHHHHH)", at: start)
        }
    }

    private mutating func hex(digits: Int, start: Int) throws(GrammarError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<digits {
            guard let c = current, let d = c.hexValue else {
                throw error("escape needs \(digits) hexadecimal digits", at: start)
            }
            v = v << 4 | d
            i += 1
        }
        guard v <= 0x10FFFF, !(0xD800...0xDFFF).contains(v) else { throw error("escape is not a Unicode scalar value", at: start) }
        return v
    }

    private mutating func characterClass() throws(GrammarError) -> CharClass {
        let start = i
        i += 1
        var negated = false
        if current == "^" { negated = true; i += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        while true {
            guard let c = current, c != "\n" else { throw error("unterminated character class", at: start) }
            if c == "]" { i += 1; break }
            let low = try character()
            if current == "-", i + 1 < text.count, text[i + 1] != "]" {
                i += 1
                let high = try character()
                guard high >= low else { throw error("character range is backwards (\\u\(String(low, radix: 16))-\\u\(String(high, radix: 16)))", at: start) }
                ranges.append(low...high)
            } else {
                ranges.append(low...low)
            }
        }
        return CharClass(ranges: ranges, negated: negated)
    }
}

extension Unicode.Scalar {
    var hexValue: UInt32? {
        switch self {
        case "0"..."9": return value - 48
        case "a"..."f": return value - 87
        case "A"..."F": return value - 55
        default: return nil
        }
    }
}
