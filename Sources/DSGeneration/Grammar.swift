/// A context-free grammar over Unicode code points, in llama.cpp's flat layout: every rule is a run of
/// alternatives, each a sequence of elements, separated by `.alternative` and closed by `.end`. Repetitions,
/// optionals and groups of the GBNF source are already lowered to helper rules (right-recursive, so the matcher's
/// stacks stay bounded), so the matcher only ever sees characters, rule references and the two markers.
public final class Grammar: Sendable, Equatable, CustomStringConvertible {
    /// The GBNF text this grammar was parsed from (also what two grammars are compared by).
    public let source: String
    /// Rule names by index (helper rules are named after their parent: `item_3`).
    public let ruleNames: [String]
    /// Where each rule's first alternative starts in `elements`.
    let ruleStarts: [Int32]
    let elements: [GrammarElement]
    let classes: [CharClass]
    let rootRule: Int32

    init(source: String, ruleNames: [String], ruleStarts: [Int32], elements: [GrammarElement], classes: [CharClass], root: Int32) {
        self.source = source
        self.ruleNames = ruleNames
        self.ruleStarts = ruleStarts
        self.elements = elements
        self.classes = classes
        self.rootRule = root
    }

    /// Parses GBNF (llama.cpp's grammar syntax); the start rule is `root`.
    public convenience init(gbnf: String) throws(GrammarError) {
        let parsed = try GBNFParser.parse(gbnf)
        try self.init(source: gbnf, lowering: parsed)
    }

    public static func == (a: Grammar, b: Grammar) -> Bool { a === b || a.source == b.source }
    public var description: String { source }

    /// Starts of every alternative of rule `r` (the element after each `.alternative` marker, and the first).
    func alternativeStarts(of r: Int32) -> [Int32] {
        var starts = [ruleStarts[Int(r)]]
        var i = Int(ruleStarts[Int(r)])
        while true {
            switch elements[i] {
            case .end: return starts
            case .alternative: starts.append(Int32(i + 1))
            default: break
            }
            i += 1
        }
    }
}

/// One element of the flat encoding.
enum GrammarElement: Equatable, Sendable {
    /// End of a rule's last alternative.
    case end
    /// End of an alternative that has a successor.
    case alternative
    case rule(Int32)
    /// One code point from `classes[index]`.
    case character(Int32)

    var isTerminal: Bool { if case .character = self { return true }; return false }
    var endsAlternative: Bool { self == .end || self == .alternative }
}

/// A set of code points: sorted, disjoint ranges, possibly negated; ASCII answered from a 128-bit table.
struct CharClass: Hashable, Sendable {
    let ranges: [ClosedRange<UInt32>]
    let negated: Bool
    private let asciiLow: UInt64, asciiHigh: UInt64
    /// How the class treats every non-ASCII scalar: all in, all out, or some of each — when each stack of a state is
    /// all-or-nothing, every multi-byte character leads to the same next state and the vocabulary walk can skip
    /// the grammar inside multi-byte sequences.
    let nonASCII: Coverage

    enum Coverage: UInt8, Hashable, Sendable { case none, all, mixed }

    init(ranges: [ClosedRange<UInt32>], negated: Bool) {
        let merged = CharClass.merge(ranges)
        self.ranges = merged
        self.negated = negated
        var low: UInt64 = 0, high: UInt64 = 0
        for c in UInt32(0)..<128 where CharClass.contains(merged, c) != negated {
            if c < 64 { low |= 1 << UInt64(c) } else { high |= 1 << UInt64(c - 64) }
        }
        asciiLow = low
        asciiHigh = high
        // Scalars above ASCII: 0x80…0xD7FF and 0xE000…0x10FFFF (surrogates are never characters).
        func inClass(_ lo: UInt32, _ hi: UInt32) -> (some: Bool, every: Bool) {
            let touching = merged.filter { $0.lowerBound <= hi && $0.upperBound >= lo }
            let some = !touching.isEmpty
            let every = touching.contains { $0.lowerBound <= lo && $0.upperBound >= hi }
            return negated ? (!every, !some) : (some, every)
        }
        let (someLow, everyLow) = inClass(0x80, 0xD7FF), (someHigh, everyHigh) = inClass(0xE000, 0x10FFFF)
        nonASCII = everyLow && everyHigh ? .all : (!someLow && !someHigh ? .none : .mixed)
    }

    static func single(_ c: UInt32) -> CharClass { CharClass(ranges: [c...c], negated: false) }
    /// `.`: any code point.
    static let any = CharClass(ranges: [], negated: true)

    @inline(__always) func matches(_ c: UInt32) -> Bool {
        if c < 64 { return asciiLow & (1 << UInt64(c)) != 0 }
        if c < 128 { return asciiHigh & (1 << UInt64(c - 64)) != 0 }
        return CharClass.contains(ranges, c) != negated
    }

    /// Whether some code point in lo...hi is in the class (a partial UTF-8 sequence can still complete to one).
    func intersects(_ lo: UInt32, _ hi: UInt32) -> Bool {
        if !negated { return ranges.contains { $0.lowerBound <= hi && $0.upperBound >= lo } }
        // Negated: true unless lo...hi is covered by the (merged, sorted) excluded ranges.
        var next = lo
        for r in ranges where r.upperBound >= next {
            if r.lowerBound > next { return true }
            if r.upperBound >= hi { return false }
            next = r.upperBound + 1
        }
        return next <= hi
    }

    static func contains(_ ranges: [ClosedRange<UInt32>], _ c: UInt32) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < c { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count && ranges[lo].lowerBound <= c
    }

    static func merge(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }
}

/// A grammar that cannot be used: where (1-based line and column of the GBNF text, when known) and why.
public struct GrammarError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(line: Int? = nil, column: Int? = nil, _ message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        guard let line else { return "grammar: \(message)" }
        return "grammar line \(line), column \(column ?? 1): \(message)"
    }
}
