import Foundation

/// The quality filters of datatrove 0.10.1 with their default thresholds, decision for decision: Gopher quality,
/// Gopher repetition, and C4's line filter (which may also rewrite the text). Each returns nil (keep) or the
/// datatrove reason string of the first rule that fails. Lengths are Unicode scalars (Python code points), ratios
/// are float64 divisions compared as datatrove compares them.
public enum QualityFilterKind: String, Sendable, CaseIterable {
    case gopherQuality = "gopher-quality"
    case gopherRepetition = "gopher-repetition"
    case c4
}

/// Python string helpers on scalars.
enum PyText {
    static func scalarCount(_ s: String) -> Int { s.unicodeScalars.count }

    /// str.splitlines(): \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029; no empty final line.
    static func splitlines(_ s: String) -> [Substring] {
        var out: [Substring] = []
        let u = s.unicodeScalars
        var start = u.startIndex, i = u.startIndex
        while i < u.endIndex {
            let v = u[i].value
            switch v {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                out.append(Substring(u[start..<i]))
                var next = u.index(after: i)
                if v == 0x0D, next < u.endIndex, u[next].value == 0x0A { next = u.index(after: next) }
                i = next
                start = i
            default:
                i = u.index(after: i)
            }
        }
        if start < u.endIndex { out.append(Substring(u[start..<u.endIndex])) }
        return out
    }

    static func strip<S: StringProtocol>(_ s: S, leading: Bool = true, trailing: Bool = true) -> Substring {
        var u = Substring(s).unicodeScalars[...]
        if leading { while let f = u.first, TextNormalizer.isSpace(f.value) { u = u.dropFirst() } }
        if trailing { while let l = u.last, TextNormalizer.isSpace(l.value) { u = u.dropLast() } }
        return Substring(u)
    }

    /// str.split() with no argument: runs of whitespace separate, none at the ends.
    static func splitWhitespace<S: StringProtocol>(_ s: S) -> [Substring] {
        var out: [Substring] = []
        let u = Substring(s).unicodeScalars
        var i = u.startIndex
        while i < u.endIndex {
            while i < u.endIndex, TextNormalizer.isSpace(u[i].value) { i = u.index(after: i) }
            guard i < u.endIndex else { break }
            let start = i
            while i < u.endIndex, !TextNormalizer.isSpace(u[i].value) { i = u.index(after: i) }
            out.append(Substring(u[start..<i]))
        }
        return out
    }

    /// str.count(sub): non-overlapping occurrences, left to right (ASCII or single-scalar needles).
    static func count(_ s: String, _ needle: String) -> Int {
        let h = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
        guard !n.isEmpty, h.count >= n.count else { return 0 }
        var c = 0, i = 0
        while i + n.count <= h.count {
            var match = true
            for k in 0..<n.count where h[i + k] != n[k] { match = false; break }
            if match { c += 1; i += n.count } else { i += 1 }
        }
        return c
    }

    /// str.isalpha() for one scalar: general category L*.
    static func isAlpha(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return (s.value | 0x20) >= 0x61 && (s.value | 0x20) <= 0x7A }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func endsWith<S: StringProtocol>(_ s: S, _ suffix: String) -> Bool {
        Array(Substring(s).unicodeScalars.suffix(suffix.unicodeScalars.count)) == Array(suffix.unicodeScalars)
    }

    static func startsWith<S: StringProtocol>(_ s: S, _ prefix: String) -> Bool {
        Array(Substring(s).unicodeScalars.prefix(prefix.unicodeScalars.count)) == Array(prefix.unicodeScalars)
    }
}

public struct GopherQuality: Sendable {
    public var minDocWords = 50, maxDocWords = 100_000
    public var minAvgWordLength = 3.0, maxAvgWordLength = 10.0
    public var maxSymbolWordRatio = 0.1, maxBulletLinesRatio = 0.9, maxEllipsisLinesRatio = 0.3, maxNonAlphaWordsRatio = 0.8
    public var minStopWords = 2
    public var stopWords = Set(DatatroveTables.gopherStopWords)
    public var disabled: Set<String> = []
    public init() {}

    public static let reasons = ["gopher_short_doc", "gopher_long_doc", "gopher_below_avg_threshold", "gopher_above_avg_threshold",
                                 "gopher_too_many_hashes", "gopher_too_many_ellipsis", "gopher_too_many_bullets",
                                 "gopher_too_many_end_ellipsis", "gopher_below_alpha_threshold", "gopher_enough_stop_words"]

    func on(_ r: String) -> Bool { !disabled.contains(r) }

    public func reason(_ text: String, words: [String]) -> String? {
        let nWords = Double(words.count)
        let nonSymbol = words.filter { w in w.unicodeScalars.contains { !DatatroveTables.punctuationSet.contains($0.value) } }
        if on("gopher_short_doc"), nonSymbol.count < minDocWords { return "gopher_short_doc" }
        if on("gopher_long_doc"), nonSymbol.count > maxDocWords { return "gopher_long_doc" }
        let avg = Double(nonSymbol.reduce(0) { $0 + $1.unicodeScalars.count }) / Double(nonSymbol.count)
        if on("gopher_below_avg_threshold"), avg < minAvgWordLength { return "gopher_below_avg_threshold" }
        if on("gopher_above_avg_threshold"), avg > maxAvgWordLength { return "gopher_above_avg_threshold" }
        if on("gopher_too_many_hashes"), Double(PyText.count(text, "#")) / nWords > maxSymbolWordRatio { return "gopher_too_many_hashes" }
        if on("gopher_too_many_ellipsis"), Double(PyText.count(text, "...") + PyText.count(text, "…")) / nWords > maxSymbolWordRatio {
            return "gopher_too_many_ellipsis"
        }
        let lines = PyText.splitlines(text)
        if on("gopher_too_many_bullets") {
            let bullets = lines.filter { l in let s = PyText.strip(l, trailing: false); return PyText.startsWith(s, "•") || PyText.startsWith(s, "-") }
            if Double(bullets.count) / Double(lines.count) > maxBulletLinesRatio { return "gopher_too_many_bullets" }
        }
        if on("gopher_too_many_end_ellipsis") {
            let ends = lines.filter { l in let s = PyText.strip(l, leading: false); return PyText.endsWith(s, "...") || PyText.endsWith(s, "…") }
            if Double(ends.count) / Double(lines.count) > maxEllipsisLinesRatio { return "gopher_too_many_end_ellipsis" }
        }
        if on("gopher_below_alpha_threshold") {
            let alpha = words.filter { $0.unicodeScalars.contains(where: PyText.isAlpha) }.count
            if Double(alpha) / nWords < maxNonAlphaWordsRatio { return "gopher_below_alpha_threshold" }
        }
        if on("gopher_enough_stop_words"), stopWords.intersection(words).count < minStopWords { return "gopher_enough_stop_words" }
        return nil
    }
}

public struct GopherRepetition: Sendable {
    public var dupLineFrac = 0.3, dupParaFrac = 0.3, dupLineCharFrac = 0.2, dupParaCharFrac = 0.2
    public var topNGrams: [(Int, Double)] = [(2, 0.2), (3, 0.18), (4, 0.16)]
    public var dupNGrams: [(Int, Double)] = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]
    public var disabled: Set<String> = []
    public init() {}

    public static let reasons = ["empty", "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
                                 "top_2_gram", "top_3_gram", "top_4_gram"] + (5...10).map { "duplicated_\($0)_n_grams" }

    func on(_ r: String) -> Bool { !disabled.contains(r) }

    static func duplicates<S: Hashable & StringProtocol>(_ xs: [S]) -> (count: Int, chars: Int) {
        var seen = Set<S>()
        var count = 0, chars = 0
        for x in xs where !seen.insert(x).inserted {
            count += 1
            chars += x.unicodeScalars.count
        }
        return (count, chars)
    }

    /// re.split(pattern of `minRun`+ "\n"): pieces between runs of at least `minRun` newlines.
    static func splitNewlines(_ s: Substring, minRun: Int) -> [Substring] {
        var out: [Substring] = []
        let u = s.unicodeScalars
        var start = u.startIndex, i = u.startIndex
        while i < u.endIndex {
            if u[i] == "\n" {
                var j = i, run = 0
                while j < u.endIndex, u[j] == "\n" { j = u.index(after: j); run += 1 }
                if run >= minRun {
                    out.append(Substring(u[start..<i]))
                    start = j
                }
                i = j
            } else {
                i = u.index(after: i)
            }
        }
        out.append(Substring(u[start..<u.endIndex]))
        return out
    }

    public func reason(_ text: String, words: [String]) -> String? {
        if text.isEmpty { return on("empty") ? "empty" : nil }
        let length = Double(text.unicodeScalars.count)
        let paragraphs = Self.splitNewlines(PyText.strip(text), minRun: 2)
        let (pd, pc) = Self.duplicates(paragraphs)
        if on("dup_para_frac"), Double(pd) / Double(paragraphs.count) > dupParaFrac { return "dup_para_frac" }
        if on("dup_para_char_frac"), Double(pc) / length > dupParaCharFrac { return "dup_para_char_frac" }
        let lines = Self.splitNewlines(Substring(text), minRun: 1)
        let (ld, lc) = Self.duplicates(lines)
        if on("dup_line_frac"), Double(ld) / Double(lines.count) > dupLineFrac { return "dup_line_frac" }
        if on("dup_line_char_frac"), Double(lc) / length > dupLineCharFrac { return "dup_line_char_frac" }
        // Words as small integers (equal ids ⟺ equal words) and as UTF-8, with their lengths in code points.
        var ids = [Int32](), vocabulary: [String: Int32] = [:]
        ids.reserveCapacity(words.count)
        for w in words {
            if let i = vocabulary[w] { ids.append(i) } else { let i = Int32(vocabulary.count); vocabulary[w] = i; ids.append(i) }
        }
        let lengths = words.map { $0.unicodeScalars.count }
        for (n, frac) in topNGrams where words.count >= n {
            // Counter.most_common(1): the highest count, ties to the earliest first occurrence. Words hold no spaces,
            // so n-grams joined with " " are equal exactly when their word ids are.
            var counts: [NGramKey: (count: Int, first: Int)] = [:]
            for i in 0...(words.count - n) {
                let key = NGramKey(ids, at: i, n: n)
                if let c = counts[key] { counts[key] = (c.count + 1, c.first) } else { counts[key] = (1, i) }
            }
            var best: (count: Int, first: Int) = (0, Int.max)
            for c in counts.values where c.count > best.count || (c.count == best.count && c.first < best.first) { best = c }
            let chars = (best.first..<(best.first + n)).reduce(n - 1) { $0 + lengths[$1] }
            if on("top_\(n)_gram"), Double(chars * best.count) / length > frac { return "top_\(n)_gram" }
        }
        // find_all_duplicate joins n-grams WITHOUT a separator ("ab"+"c" equals "a"+"bc"), so n-grams are compared
        // by their concatenated bytes: a polynomial hash of the bytes (composable word by word, independent of where
        // the words split), confirmed byte for byte when it repeats.
        let utf8 = words.map { Array($0.utf8) }
        let base: UInt64 = 0x100_0000_01b3
        var wordHash = [UInt64](repeating: 0, count: words.count), wordPower = [UInt64](repeating: 1, count: words.count)
        for (i, bytes) in utf8.enumerated() {
            var h: UInt64 = 0, p: UInt64 = 1
            for b in bytes { h = h &* base &+ UInt64(b) &+ 1; p = p &* base }
            (wordHash[i], wordPower[i]) = (h, p)
        }
        func sameConcatenation(_ x: Int, _ y: Int, _ n: Int) -> Bool {
            var a: [UInt8] = [], b: [UInt8] = []
            for k in 0..<n { a += utf8[x + k]; b += utf8[y + k] }
            return a == b
        }
        for (n, frac) in dupNGrams where on("duplicated_\(n)_n_grams") {
            var first: [UInt64: Int32] = [:], others: [UInt64: [Int32]] = [:]   // `others`: hash collisions only
            var repeated = 0, i = 0
            first.reserveCapacity(words.count)
            while i < words.count - n + 1 {
                var h: UInt64 = 0
                for k in i..<(i + n) { h = h &* wordPower[k] &+ wordHash[k] }
                var found = false
                if let s = first[h] {
                    found = sameConcatenation(Int(s), i, n) || (others[h] ?? []).contains { sameConcatenation(Int($0), i, n) }
                    if !found { others[h, default: []].append(Int32(i)) }
                } else {
                    first[h] = Int32(i)
                }
                if found {
                    repeated += (i..<(i + n)).reduce(0) { $0 + lengths[$1] }
                    i += n
                } else {
                    i += 1
                }
            }
            if Double(repeated) / length > frac { return "duplicated_\(n)_n_grams" }
        }
        return nil
    }
}

/// Up to 4 word ids, exact (top n-grams use n ≤ 4).
struct NGramKey: Hashable {
    let a: UInt64, b: UInt64
    init(_ ids: [Int32], at i: Int, n: Int) {
        func id(_ k: Int) -> UInt64 { k < n ? UInt64(UInt32(bitPattern: ids[i + k])) : 0xFFFF_FFFF }
        a = id(0) << 32 | id(1)
        b = id(2) << 32 | id(3)
    }
}

public struct C4LineFilter: Sendable {
    public var minSentences = 5, minWordsPerLine = 3, maxWordLength = 1000
    public var disabled: Set<String> = []
    public init() {}

    public static let reasons = ["lorem_ipsum", "curly_bracket", "too_few_sentences"]
    /// Line-level removals (counted, the document stays).
    public static let lineRules = ["c4_line_too_long_word", "c4_line_no_terminal_punct", "c4_line_too_few_words", "c4_line_javascript",
                                   "c4_line_policy"]

    func on(_ r: String) -> Bool { !disabled.contains(r) }

    /// CITATION_REGEX `\[\d*]|\[edit]|\[citation needed]` removed.
    static func removeCitations(_ line: Substring) -> String {
        let u = Array(line.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            if u[i] == "[" {
                var j = i + 1
                while j < u.count, TextNormalizer.isDecimalDigit(u[j]) { j += 1 }
                if j < u.count, u[j] == "]" { i = j + 1; continue }
                for lit in ["edit]", "citation needed]"] {
                    let l = Array(lit.unicodeScalars)
                    if i + 1 + l.count <= u.count, Array(u[(i + 1)..<(i + 1 + l.count)]) == l { j = i + 1 + l.count; break }
                }
                if j > i + 1, u[j - 1] == "]" { i = j; continue }
            }
            out.append(u[i])
            i += 1
        }
        return String(out)
    }

    /// Returns (reason, nil) to drop the document, or (nil, new text) to keep it; `lineDrops` counts removed lines.
    public func apply(_ text: String, lineDrops: inout [String: Int]) -> (reason: String?, text: String?) {
        var sentences = 0
        var kept: [String] = []
        for raw in PyText.splitlines(text) {
            let stripped = PyText.strip(raw)
            let words = PyText.splitWhitespace(stripped)
            if on("c4_line_too_long_word"), maxWordLength != -1, words.contains(where: { $0.unicodeScalars.count > maxWordLength }) {
                lineDrops["c4_line_too_long_word", default: 0] += 1; continue
            }
            let line = on("c4_line_citations") ? Self.removeCitations(stripped) : String(stripped)
            let ends = [".", "?", "!", "\"", "'"].contains { PyText.endsWith(line, $0) }
            if on("c4_line_no_terminal_punct"), !ends || PyText.endsWith(line, "...") {
                lineDrops["c4_line_no_terminal_punct", default: 0] += 1; continue
            }
            if words.count < minWordsPerLine { lineDrops["c4_line_too_few_words", default: 0] += 1; continue }
            let lower = line.lowercased()
            if on("lorem_ipsum"), lower.contains("lorem ipsum") { return ("lorem_ipsum", nil) }
            if on("c4_line_javascript"), lower.contains("javascript") { lineDrops["c4_line_javascript", default: 0] += 1; continue }
            if on("curly_bracket"), line.unicodeScalars.contains("{") { return ("curly_bracket", nil) }
            if on("c4_line_policy"), DatatroveTables.c4PolicySubstrings.contains(where: { lower.contains($0) }) {
                lineDrops["c4_line_policy", default: 0] += 1; continue
            }
            if minSentences != -1 { sentences += EnglishWordTokenizer.shared.sentenceCount(line) }
            kept.append(line)
        }
        if on("too_few_sentences"), sentences < minSentences { return ("too_few_sentences", nil) }
        return (nil, String(PyText.strip(kept.joined(separator: "\n"))))
    }
}
