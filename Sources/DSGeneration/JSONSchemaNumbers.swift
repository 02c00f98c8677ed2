/// Numbers within bounds as grammar rules, exact (llama.cpp's `_generate_min_max_int` idea, extended to decimals):
/// an integer range becomes, per digit count, a few alternatives of digit classes; a decimal bound splits the
/// integer part into "at the bound" (the fraction is then bounded digit by digit) and "strictly inside" (any
/// fraction). Numbers are written as JSON allows, without an exponent, with at most 16 integer digits.
struct NumberRangeRules {
    /// 16 digits: every integer JSON parsers read exactly as a double is below 2^53 ≈ 9.007e15.
    static let maxDigits = 16
    static let largest: Int64 = 9_999_999_999_999_999

    /// A non-negative decimal: integer part and fraction digits (no trailing zeros).
    struct Decimal: Equatable {
        var integer: Int64
        var fraction: [UInt8]
    }

    /// Rules created for fraction tails, by key, so recursive tails (`"0"*` …) are named once.
    private(set) var rules: [(name: String, body: String)] = []
    private var tailNames: [String: String] = [:]
    let prefix: String

    init(prefix: String) { self.prefix = prefix }

    // MARK: Integers

    /// Integers in lo...hi (either side unbounded: ±largest).
    static func integers(_ lo: Int64?, _ hi: Int64?) -> String? {
        let low = max(lo ?? -largest, -largest), high = min(hi ?? largest, largest)
        guard low <= high else { return nil }
        var alternatives: [String] = []
        if low < 0 {
            let magnitudes = naturals(max(1, high < 0 ? -high : 1), -low)
            alternatives.append("\"-\" (\(magnitudes))")
        }
        if high >= 0 { alternatives.append(naturals(max(0, low), high)) }
        return alternatives.joined(separator: " | ")
    }

    /// Canonical decimals (no leading zeros) of a...b, 0 ≤ a ≤ b: one group per digit count.
    static func naturals(_ a: Int64, _ b: Int64) -> String {
        var groups: [String] = []
        let da = String(a).count, db = String(b).count
        for d in da...db {
            let floor: Int64 = d == 1 ? 0 : power10(d - 1)
            let lo = max(a, floor), hi = min(b, power10(d) - 1)
            if lo <= hi { groups.append(sameLength(Array(String(lo).utf8), Array(String(hi).utf8))) }
        }
        return groups.count == 1 ? groups[0] : groups.map { "(\($0))" }.joined(separator: " | ")
    }

    static func power10(_ n: Int) -> Int64 { (0..<n).reduce(Int64(1)) { r, _ in r * 10 } }

    private static func digitClass(_ lo: UInt8, _ hi: UInt8) -> String {
        lo == hi ? "\"\(Character(Unicode.Scalar(lo)))\"" : "[\(Character(Unicode.Scalar(lo)))-\(Character(Unicode.Scalar(hi)))]"
    }

    private static func anyDigits(_ n: Int) -> String { n == 0 ? "" : (n == 1 ? "[0-9]" : "[0-9]{\(n)}") }

    /// Digit strings of one length between x and y (x ≤ y): the common prefix, then the first differing digit
    /// at x's digit (rest ≥ x's rest), strictly between (rest free), or at y's digit (rest ≤ y's rest).
    static func sameLength(_ x: [UInt8], _ y: [UInt8]) -> String {
        var i = 0
        while i < x.count && x[i] == y[i] { i += 1 }
        let common = String(decoding: x[..<i], as: UTF8.self)
        let head = common.isEmpty ? "" : "\"\(common)\""
        guard i < x.count else { return head }
        let restLength = x.count - i - 1
        let xRest = Array(x[(i + 1)...]), yRest = Array(y[(i + 1)...])
        let xLowest = xRest.allSatisfy { $0 == 48 }, yHighest = yRest.allSatisfy { $0 == 57 }
        var alternatives: [String] = []
        if !xLowest {
            alternatives.append(join(digitClass(x[i], x[i]), sameLength(xRest, [UInt8](repeating: 57, count: restLength))))
        }
        let midLow = xLowest ? x[i] : x[i] + 1, midHigh = yHighest ? y[i] : y[i] - 1
        if midLow <= midHigh { alternatives.append(join(digitClass(midLow, midHigh), anyDigits(restLength))) }
        if !yHighest {
            alternatives.append(join(digitClass(y[i], y[i]), sameLength([UInt8](repeating: 48, count: restLength), yRest)))
        }
        let body = alternatives.count == 1 ? alternatives[0] : "(" + alternatives.joined(separator: " | ") + ")"
        return join(head, body)
    }

    private static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : (b.isEmpty ? a : a + " " + b) }

    // MARK: Decimals

    /// A double as a non-negative decimal and its sign (shortest round-trip digits, as Swift prints it).
    static func decimal(_ v: Double) -> (negative: Bool, Decimal)? {
        guard v.isFinite, abs(v) < 1e16 else { return nil }
        var s = String(describing: abs(v))
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(s[s.index(after: e)...])!
            s = String(s[..<e])
        }
        var digits = Array(s.replacingOccurrences(of: ".", with: "").utf8)
        var point = s.firstIndex(of: ".").map { s.distance(from: s.startIndex, to: $0) } ?? s.count
        point += exponent
        if point < 0 { digits = [UInt8](repeating: 48, count: -point) + digits; point = 0 }
        if point > digits.count { digits += [UInt8](repeating: 48, count: point - digits.count) }
        var fraction = Array(digits[point...])
        while fraction.last == 48 { fraction.removeLast() }
        let integer = Int64(String(decoding: digits[..<point], as: UTF8.self)) ?? 0
        return (v < 0, Decimal(integer: integer, fraction: fraction))
    }

    /// Numbers x with lower ≤ x ≤ upper (`<` where exclusive), as JSON numbers without exponent; nil if none.
    mutating func numbers(lower: Double?, lowerExclusive: Bool, upper: Double?, upperExclusive: Bool) -> String? {
        var alternatives: [String] = []
        let lo = lower.flatMap(Self.decimal), hi = upper.flatMap(Self.decimal)
        let zero = Decimal(integer: 0, fraction: [])
        // Non-negative part: max(lower, 0) … upper.
        if hi == nil || !hi!.negative {
            let from: (Decimal, Bool) = lo.map { $0.negative || $0.1 == zero ? (zero, $0.1 == zero && lowerExclusive) : ($0.1, lowerExclusive) }
                ?? (zero, false)
            if let r = magnitudes(from: from.0, exclusive: from.1, to: hi.map { ($0.1, upperExclusive) }) { alternatives.append(r) }
        }
        // Negative part, written "-" magnitude with magnitude > 0: from −upper (or 0, exclusive) to −lower.
        if lo == nil || (lo!.negative && lo!.1 != zero) {
            let from: (Decimal, Bool) = hi.map { $0.negative && $0.1 != zero ? ($0.1, upperExclusive) : (zero, true) } ?? (zero, true)
            if let r = magnitudes(from: from.0, exclusive: from.1, to: lo.map { ($0.1, lowerExclusive) }) { alternatives.append("\"-\" (\(r))") }
        }
        return alternatives.isEmpty ? nil : alternatives.map { "(\($0))" }.joined(separator: " | ")
    }

    /// Non-negative numbers from a to b (b nil: unbounded), each end inclusive unless marked.
    private mutating func magnitudes(from a: Decimal, exclusive aEx: Bool, to bound: (Decimal, Bool)?) -> String? {
        var alternatives: [String] = []
        guard let (b, bEx) = bound else {
            if let f = fraction(lower: a.fraction, lowerExclusive: aEx, upper: nil, upperExclusive: false) {
                alternatives.append("\"\(a.integer)\" \(f)")
            }
            if a.integer < Self.largest, let i = Self.integers(a.integer + 1, nil) { alternatives.append("(\(i)) \(anyFraction)") }
            return alternatives.isEmpty ? nil : alternatives.joined(separator: " | ")
        }
        if a.integer > b.integer { return nil }
        if a.integer == b.integer {
            guard let f = fraction(lower: a.fraction, lowerExclusive: aEx, upper: b.fraction, upperExclusive: bEx) else { return nil }
            return "\"\(a.integer)\" \(f)"
        }
        if let f = fraction(lower: a.fraction, lowerExclusive: aEx, upper: nil, upperExclusive: false) {
            alternatives.append("\"\(a.integer)\" \(f)")
        }
        if a.integer + 1 <= b.integer - 1, let i = Self.integers(a.integer + 1, b.integer - 1) {
            alternatives.append("(\(i)) \(anyFraction)")
        }
        if let f = fraction(lower: [], lowerExclusive: false, upper: b.fraction, upperExclusive: bEx) {
            alternatives.append("\"\(b.integer)\" \(f)")
        }
        return alternatives.isEmpty ? nil : alternatives.joined(separator: " | ")
    }

    private var anyFraction: String { "(\".\" [0-9]{1,16})?" }

    /// The optional `.digits` part of a number whose value's fraction 0.S lies within the bounds; nil if none.
    private mutating func fraction(lower: [UInt8], lowerExclusive: Bool, upper: [UInt8]?, upperExclusive: Bool) -> String? {
        if lower.isEmpty && !lowerExclusive && upper == nil { return anyFraction }
        let (empty, nonEmpty) = tail(lower, lowerExclusive, upper, upperExclusive)
        guard let nonEmpty else { return empty ? "" : nil }
        return empty ? "(\".\" (\(nonEmpty)))?" : "\".\" (\(nonEmpty))"
    }

    /// The digit strings S with lower ⋚ 0.S ⋚ upper (upper nil: unbounded above; upper [] is 0): whether the empty
    /// string is one, and an expression for the non-empty ones (nil if there are none). Digit by digit: a first
    /// digit strictly between the bounds' first digits frees the rest; one equal to a bound's digit recurses.
    private mutating func tail(_ lo: [UInt8], _ loEx: Bool, _ hi: [UInt8]?, _ hiEx: Bool) -> (Bool, String?) {
        if let hi, hi.isEmpty {
            // At most 0: only zeros, and only when the lower bound is 0 inclusive and the upper inclusive.
            guard !hiEx, lo.isEmpty, !loEx else { return (false, nil) }
            return (true, "\"0\"+")
        }
        let empty = lo.isEmpty && !loEx
        let l = lo.first ?? 48
        var alternatives: [String] = []
        if hi == nil && lo.isEmpty && !loEx { return (true, "[0-9]+") }
        guard let hi else {
            if l < 57 { alternatives.append("\(Self.digitClass(l + 1, 57)) [0-9]*") }
            alternatives.append(Self.join(Self.digitClass(l, l), tailRule(Array(lo.dropFirst()), loEx, nil, false)))
            return (empty, alternatives.joined(separator: " | "))
        }
        let h = hi.first ?? 48
        if l < h {
            if l + 1 <= h - 1 { alternatives.append("\(Self.digitClass(l + 1, h - 1)) [0-9]*") }
            alternatives.append(Self.join(Self.digitClass(l, l), tailRule(Array(lo.dropFirst()), loEx, nil, false)))
            let upperRest = tailRule([], false, Array(hi.dropFirst()), hiEx)
            if upperRest != "!" { alternatives.append(Self.join(Self.digitClass(h, h), upperRest)) }
        } else if l == h {
            let rest = tailRule(Array(lo.dropFirst()), loEx, Array(hi.dropFirst()), hiEx)
            if rest != "!" { alternatives.append(Self.join(Self.digitClass(l, l), rest)) }
        }
        return (empty, alternatives.isEmpty ? nil : alternatives.joined(separator: " | "))
    }

    /// A rule for the whole tail set (empty string included when it belongs), named once per bounds so that
    /// self-similar tails ("0"* then a non-zero digit) become right recursion; "!" when the set is empty.
    private mutating func tailRule(_ lo: [UInt8], _ loEx: Bool, _ hi: [UInt8]?, _ hiEx: Bool) -> String {
        if hi == nil && lo.isEmpty && !loEx { return "[0-9]*" }
        let key = "\(String(decoding: lo, as: UTF8.self))|\(loEx)|\(hi.map { String(decoding: $0, as: UTF8.self) } ?? "-")|\(hiEx)"
        if let name = tailNames[key] { return name }
        let name = "\(prefix)-frac-\(tailNames.count + 1)"
        tailNames[key] = name
        let index = rules.count
        rules.append((name, ""))
        let (empty, nonEmpty) = tail(lo, loEx, hi, hiEx)
        guard empty || nonEmpty != nil else {
            rules[index].body = "[^\\x00-\\U0010FFFF]"  // nothing matches (never referenced: callers drop "!")
            tailNames[key] = "!"
            return "!"
        }
        // The empty alternative first: llama.cpp's GBNF continues a rule on the next line after a trailing `|`.
        rules[index].body = (empty ? "| " : "") + (nonEmpty ?? "")
        return name
    }
}
