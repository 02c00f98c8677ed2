import Foundation

/// A `pattern` (ECMA-262 regular expression subset) → a grammar expression for the JSON string content that
/// matches it. The whole string must match, as if the pattern were anchored (a string that matches the whole
/// pattern also contains a match, so this is never wider than the schema allows); `^` at the start and `$` at the
/// end are accepted and ignored. Supported: literals, escapes (\d \w \s and negations, \n \t \r \f \v \0, \xHH,
/// \uHHHH, escaped punctuation), classes `[a-z]` `[^…]` with those escapes, `.`, groups `( )` `(?: )` `(?<name> )`,
/// alternation, and `? * + {m} {m,} {m,n}` (lazy `?` suffixes match the same strings). Anything else — lookaround,
/// backreferences, word boundaries, `^`/`$` elsewhere — is an error naming it. Characters JSON must escape are
/// generated escaped (`\"`, `\\`, `\n`, …); negated classes and `.` leave out the other control characters.
struct PatternCompiler {
    struct Failure: Error { var message: String }

    private let text: [Unicode.Scalar]
    private var i = 0

    init(_ pattern: String) { text = Array(pattern.unicodeScalars) }

    static func compile(_ pattern: String) throws(Failure) -> String {
        var p = PatternCompiler(pattern)
        if p.text.first == "^" { p.i = 1 }
        let body = try p.alternation()
        guard p.i == p.text.count else { throw Failure(message: "unbalanced ')' at offset \(p.i)") }
        return body.isEmpty ? "\"\"" : body
    }

    private var current: Unicode.Scalar? { i < text.count ? text[i] : nil }

    private mutating func alternation() throws(Failure) -> String {
        var options = [try sequence()]
        while current == "|" {
            i += 1
            options.append(try sequence())
        }
        if options.count == 1 { return options[0] }
        return "(" + options.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " | ") + ")"
    }

    private mutating func sequence() throws(Failure) -> String {
        var items: [String] = []
        while let c = current, c != "|", c != ")" {
            let start = i
            var atom: String
            switch c {
            case "(":
                i += 1
                if current == "?" {
                    let next = i + 1 < text.count ? text[i + 1] : " "
                    if next == ":" {
                        i += 2
                    } else if next == "<", i + 2 < text.count, text[i + 2] != "=", text[i + 2] != "!" {
                        while let d = current, d != ">" { i += 1 }
                        i += 1
                    } else {
                        throw Failure(message: "lookaround and other (?…) groups are not supported (offset \(start))")
                    }
                }
                atom = try alternation()
                guard current == ")" else { throw Failure(message: "unclosed '(' at offset \(start)") }
                i += 1
                atom = "(" + (atom.isEmpty ? "\"\"" : atom) + ")"
            case "[":
                atom = Self.expression(for: try characterClass())
            case ".":
                i += 1
                // Any character but line terminators; other control characters left out.
                atom = Self.expression(for: CodePointSet(ranges: [9...9, 32...0x2027, 0x202A...0x10FFFF]).minusSurrogates)
            case "\\":
                atom = Self.expression(for: try escape(inClass: false))
            case "$":
                i += 1
                guard current == nil || current == "|" || current == ")" else {
                    throw Failure(message: "'$' is only supported at the end of the pattern (offset \(start))")
                }
                continue
            case "^":
                guard items.isEmpty else { throw Failure(message: "'^' is only supported at the start of the pattern (offset \(start))") }
                i += 1
                continue
            case "*", "+", "?", "{":
                throw Failure(message: "'\(c)' at offset \(start) has nothing before it to repeat")
            default:
                i += 1
                atom = Self.expression(for: CodePointSet(ranges: [c.value...c.value]))
            }
            items.append(try quantified(atom))
        }
        return items.joined(separator: " ")
    }

    private mutating func quantified(_ atom: String) throws(Failure) -> String {
        guard let c = current else { return atom }
        var suffix: String
        switch c {
        case "*", "+", "?":
            i += 1
            suffix = String(c)
        case "{":
            let start = i
            var j = i + 1, low = "", high: String? = nil
            while j < text.count, ("0"..."9").contains(text[j]) { low.unicodeScalars.append(text[j]); j += 1 }
            if j < text.count, text[j] == "," {
                high = ""
                j += 1
                while j < text.count, ("0"..."9").contains(text[j]) { high!.unicodeScalars.append(text[j]); j += 1 }
            }
            guard j < text.count, text[j] == "}", !low.isEmpty else {
                throw Failure(message: "malformed quantifier at offset \(start) (a literal '{' must be escaped as \\{)")
            }
            i = j + 1
            guard let lo = Int(low), lo <= GBNFParser.maxRepetition, (Int(high ?? "") ?? 0) <= GBNFParser.maxRepetition else {
                throw Failure(message: "repetition at offset \(start) is above \(GBNFParser.maxRepetition)")
            }
            if let h = high, let hi = Int(h), hi < lo { throw Failure(message: "repetition {\(lo),\(hi)} at offset \(start) is backwards") }
            suffix = high == nil ? "{\(lo)}" : "{\(lo),\(high!)}"
        default:
            return atom
        }
        if current == "?" { i += 1 }  // lazy: the same strings
        if current == "+" { throw Failure(message: "possessive quantifiers are not supported (offset \(i))") }
        return "(" + atom + ")" + suffix
    }

    private mutating func characterClass() throws(Failure) -> CodePointSet {
        let start = i
        i += 1
        var negated = false
        if current == "^" { negated = true; i += 1 }
        var set = CodePointSet(ranges: [])
        var first = true
        while true {
            guard let c = current else { throw Failure(message: "unclosed '[' at offset \(start)") }
            if c == "]" && !first { i += 1; break }
            first = false
            let low: CodePointSet
            if c == "\\" { low = try escape(inClass: true) } else { i += 1; low = CodePointSet(ranges: [c.value...c.value]) }
            if current == "-", i + 1 < text.count, text[i + 1] != "]", let lo = low.single {
                i += 1
                let highSet: CodePointSet
                if current == "\\" { highSet = try escape(inClass: true) } else { highSet = CodePointSet(ranges: [current!.value...current!.value]); i += 1 }
                guard let hi = highSet.single, hi >= lo else { throw Failure(message: "bad range in the class at offset \(start)") }
                set = set.union(CodePointSet(ranges: [lo...hi]))
            } else {
                set = set.union(low)
            }
        }
        return negated ? set.complement.minusSurrogates.minus(CodePointSet(ranges: [0...8, 11...12, 14...31, 127...127])) : set
    }

    private static let digits = CodePointSet(ranges: [48...57])
    private static let word = CodePointSet(ranges: [48...57, 65...90, 95...95, 97...122])
    private static let space = CodePointSet(ranges: [9...13, 32...32, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                                     0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF])

    private mutating func escape(inClass: Bool) throws(Failure) -> CodePointSet {
        let start = i
        i += 1
        guard let e = current else { throw Failure(message: "the pattern ends with a lone '\\'") }
        i += 1
        func one(_ v: UInt32) -> CodePointSet { CodePointSet(ranges: [v...v]) }
        let printableNonControl = CodePointSet(ranges: [9...10, 13...13, 32...0x10FFFF]).minusSurrogates
        switch e {
        case "d": return Self.digits
        case "D": return printableNonControl.minus(Self.digits)
        case "w": return Self.word
        case "W": return printableNonControl.minus(Self.word)
        case "s": return Self.space
        case "S": return printableNonControl.minus(Self.space)
        case "n": return one(10)
        case "t": return one(9)
        case "r": return one(13)
        case "f": return one(12)
        case "v": return one(11)
        case "0": return one(0)
        case "x", "u":
            let n = e == "x" ? 2 : 4
            guard i + n <= text.count else { throw Failure(message: "\\\(e) needs \(n) hexadecimal digits (offset \(start))") }
            var v: UInt32 = 0
            for k in 0..<n {
                guard let d = text[i + k].hexValue else { throw Failure(message: "\\\(e) needs \(n) hexadecimal digits (offset \(start))") }
                v = v << 4 | d
            }
            i += n
            return one(v)
        case "b" where inClass: return one(8)
        case "b", "B": throw Failure(message: "word boundaries (\\\(e)) are not supported (offset \(start))")
        case "1"..."9": throw Failure(message: "backreferences (\\\(e)) are not supported (offset \(start))")
        default:
            guard !(("a"..."z").contains(e) || ("A"..."Z").contains(e)) else {
                throw Failure(message: "unknown escape '\\\(e)' (offset \(start))")
            }
            return one(e.value)
        }
    }

    /// The JSON string text for one code point of `set`: unescaped where JSON allows, `\"` `\\` `\n` … where it
    /// must escape (other control characters as \u00XX).
    static func expression(for set: CodePointSet) -> String {
        let unsafe = CodePointSet(ranges: [0...31, 34...34, 92...92, 127...127])
        let plain = set.minus(unsafe)
        var alternatives: [String] = []
        if !plain.ranges.isEmpty { alternatives.append(plain.gbnfClass) }
        let named: [UInt32: String] = [8: "\\\\b", 9: "\\\\t", 10: "\\\\n", 12: "\\\\f", 13: "\\\\r", 34: "\\\\\\\"", 92: "\\\\\\\\"]
        for r in set.intersection(unsafe).ranges {
            for c in r {
                alternatives.append("\"" + (named[c] ?? String(format: "\\\\u%04x", c)) + "\"")
            }
        }
        if alternatives.isEmpty { return "[^\\x00-\\U0010FFFF]" }  // matches nothing
        return alternatives.count == 1 ? alternatives[0] : "(" + alternatives.joined(separator: " | ") + ")"
    }
}

/// A set of code points as sorted, disjoint ranges.
struct CodePointSet: Equatable {
    var ranges: [ClosedRange<UInt32>]

    init(ranges: [ClosedRange<UInt32>]) { self.ranges = CharClass.merge(ranges) }

    var single: UInt32? { ranges.count == 1 && ranges[0].count == 1 ? ranges[0].lowerBound : nil }

    func union(_ o: CodePointSet) -> CodePointSet { CodePointSet(ranges: ranges + o.ranges) }

    var complement: CodePointSet {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return CodePointSet(ranges: out)
    }

    func minus(_ o: CodePointSet) -> CodePointSet { intersection(o.complement) }

    func intersection(_ o: CodePointSet) -> CodePointSet {
        var out: [ClosedRange<UInt32>] = []
        for a in ranges {
            for b in o.ranges where a.lowerBound <= b.upperBound && b.lowerBound <= a.upperBound {
                out.append(max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound))
            }
        }
        return CodePointSet(ranges: out)
    }

    var minusSurrogates: CodePointSet { minus(CodePointSet(ranges: [0xD800...0xDFFF])) }

    /// `[...]` in GBNF, every bound written as an escape.
    var gbnfClass: String {
        func hex(_ c: UInt32) -> String { c <= 0xFFFF ? String(format: "\\u%04X", c) : String(format: "\\U%08X", c) }
        return "[" + ranges.map { $0.count == 1 ? hex($0.lowerBound) : hex($0.lowerBound) + "-" + hex($0.upperBound) }.joined() + "]"
    }
}
