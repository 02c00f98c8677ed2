@testable import DSTokenizer
import Foundation
import Testing

/// Checks the hand-written scanners against the regex semantics: each kind's patterns run as
/// real regexes (ICU, through NSRegularExpression), in sequence over fragments, with llama.cpp's
/// rule that non-ASCII whitespace is replaced by U+000B before matching.
@Suite struct PreTokenizerTests {
    /// The escaped patterns with `\s` spelled out as the class llama.cpp's std::wregex matches.
    static let referencePatterns: [NSRegularExpression] = DeepSeekPatterns.escaped.map { p in
        let explicit = p.replacingOccurrences(of: "\\s", with: "[\\t\\n\\u000B\\f\\r ]")
        return try! NSRegularExpression(pattern: explicit)
    }

    /// `\s` and `\S` spelled out (ICU's `\s` would differ on U+000B and U+0085; in the text under test every
    /// non-ASCII whitespace code point is already U+000B).
    static let whitespaceClass = "[\\t\\n\\u000B\\f\\r ]"
    static let notWhitespace = "[^\\t\\n\\u000B\\f\\r ]"
    /// GPT-2's pattern as llama.cpp's 'default' pre-tokenizer lists it (no final `|\s+`).
    static let gpt2WithoutFallback = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\t\\n\\u000B\\f\\r \\p{L}\\p{N}]+|"
        + "\(whitespaceClass)+(?!\(notWhitespace))"
    /// GPT-2, the gpt2 kind: one pattern over the whole text.
    static let gpt2ReferencePatterns = [try! NSRegularExpression(pattern: gpt2WithoutFallback + "|\(whitespaceClass)+")]
    /// llama.cpp's 'default' kind: ICU's `\p{P}` and `\p{N}` are general categories P and N, as llama.cpp's
    /// collapsed classes are; `[0-9]` is ASCII in both.
    static let defaultReferencePatterns: [NSRegularExpression] = [
        DefaultPatterns.escaped[0], gpt2WithoutFallback, DefaultPatterns.escaped[2], DefaultPatterns.escaped[3],
    ].map { try! NSRegularExpression(pattern: $0) }

    /// Reference split: returns pieces as arrays of scalars.
    static func referenceSplit(_ text: String, _ patterns: [NSRegularExpression] = referencePatterns) -> [[Unicode.Scalar]] {
        let scalars = Array(text.unicodeScalars)
        let substituted = scalars.map { s -> Unicode.Scalar in
            s.value > 0x7F && s.properties.isWhitespace ? "\u{0B}" : s
        }
        var fragments: [Range<Int>] = [0..<scalars.count]
        for re in patterns {
            var next: [Range<Int>] = []
            for f in fragments where !f.isEmpty {
                // Work in UTF-16 for NSRegularExpression, then map back to scalar indices.
                var utf16Offsets: [Int] = []
                var u16 = 0
                let piece = String(String.UnicodeScalarView(substituted[f]))
                for s in piece.unicodeScalars { utf16Offsets.append(u16); u16 += s.utf16.count }
                utf16Offsets.append(u16)
                let ns = piece as NSString
                var last = 0
                for m in re.matches(in: piece, range: NSRange(location: 0, length: ns.length)) {
                    let s = utf16Offsets.firstIndex(of: m.range.location)!
                    let e = utf16Offsets.firstIndex(of: m.range.location + m.range.length)!
                    if s > last { next.append(f.lowerBound + last..<f.lowerBound + s) }
                    next.append(f.lowerBound + s..<f.lowerBound + e)
                    last = e
                }
                if last < f.count { next.append(f.lowerBound + last..<f.upperBound) }
            }
            fragments = next
        }
        return fragments.map { Array(scalars[$0]) }
    }

    static func scannerSplit(_ text: String, _ kind: PreTokenizerKind = .deepseekLLM) -> [[Unicode.Scalar]] {
        var pieces: [[Unicode.Scalar]] = []
        var scratch = PreTokenizerScratch()
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buf in
            kind.split(buf, scratch: &scratch) { s, e in
                pieces.append(Array(String(decoding: bytes[s..<e], as: UTF8.self).unicodeScalars))
            }
        }
        return pieces
    }

    /// Code points at the edges of every class, plus ordinary ones.
    static let interesting: [UInt32] = {
        var cps: [UInt32] = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x20, 0x21, 0x2F, 0x30, 0x39, 0x3A, 0x40, 0x41, 0x5A,
                             0x5F, 0x61, 0x7A, 0x7E, 0x7F, 0x85, 0xA0, 0xB2, 0xB5, 0xBD, 0xC0, 0xD7, 0xF7, 0x1BB, 0x294,
                             0x2B0, 0x300, 0x37E, 0x387, 0x3A2, 0x3F6, 0x482, 0x561, 0x5D0, 0x627, 0x660, 0x7FF, 0x800,
                             0x905, 0x966, 0xE01, 0x1680, 0x2000, 0x200B, 0x2018, 0x201F, 0x2020, 0x2028, 0x202F, 0x205F,
                             0x2126, 0x212A, 0x2160, 0x2460, 0x3000, 0x3001, 0x3002, 0x3003, 0x3042, 0x4E00, 0x4E01, 0x9FA5,
                             0x9FA6, 0xAC00, 0xD7A3, 0xD7FF, 0xFF01, 0xFF10, 0xFF19, 0xFF1A, 0xFF21, 0xFF5E, 0xFF5F,
                             0x1D400, 0x1D7CE, 0x1F600, 0x10400, 0x1E900, 0x20000]
        for lo in CharClass.deepseekLetterRanges { cps += [lo.lowerBound, lo.upperBound, lo.upperBound + 1] }
        return cps
    }()

    @Test func scannerMatchesRegexSemantics() {
        var rng = SeededRandom(seed: 11)
        let common = Array("aZ 09 ,.!?-_ \t".unicodeScalars).map(\.value)
        for round in 0..<1500 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...24, using: &rng) {
                let pool = Bool.random(using: &rng) ? Self.interesting : common
                if let s = Unicode.Scalar(pool.randomElement(using: &rng)!) { view.append(s) }
            }
            let text = String(view)
            let expected = Self.referenceSplit(text)
            let got = Self.scannerSplit(text)
            #expect(got == expected, "round \(round): \(text.unicodeScalars.map { String($0.value, radix: 16) })")
            if got != expected { return }
        }
    }

    @Test func letterClassHas2729CodePoints() {
        let n = CharClass.deepseekLetterRanges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 }
        #expect(n == 2729)
        // The non-NFC members must be in the class as themselves (not their NFC forms only).
        for cp: UInt32 in [0x1F7D, 0x1FBE, 0x1FD3, 0x1FDB, 0x2126, 0x212A] {
            #expect(CharClass.of(cp).contains(.deepseekLetter), "U+\(String(cp, radix: 16))")
        }
        // Whitespace never belongs to a bracket class (llama.cpp substitutes U+000B first).
        #expect(CharClass.of(0x3000) == .whitespace)
        #expect(!CharClass.of(0x2000).contains(.deepseekCJK))
    }

    @Test func gpt2Contractions() {
        var pieces: [String] = []
        var scratch = PreTokenizerScratch()
        let text = "I'll say it's 42  ok\n\n x"
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buf in
            PreTokenizerKind.gpt2.split(buf, scratch: &scratch) { s, e in
                pieces.append(String(decoding: bytes[s..<e], as: UTF8.self))
            }
        }
        #expect(pieces == ["I", "'ll", " say", " it", "'s", " 42", " ", " ok", "\n\n", " x"])
    }

    /// Code points for the GPT-2 and 'default' kinds: every ASCII punctuation and symbol (backtick included),
    /// contraction letters, digits, and non-ASCII punctuation, numbers, letters, marks, symbols and whitespace.
    static let gpt2Interesting: [UInt32] = Array(0x20...0x7E) + [0x09, 0x0A, 0x0B, 0x0D, 0x00, 0x1C, 0x7F, 0x85, 0xA0,
        0xA1, 0xA7, 0xAB, 0xAC, 0xB2, 0xB4, 0xB6, 0xB7, 0xBB, 0xBD, 0xBF, 0xE9, 0x2B0, 0x300, 0x308, 0x37E, 0x387, 0x3B1,
        0x430, 0x5BE, 0x5D0, 0x60C, 0x61F, 0x663, 0x664, 0x966, 0x964, 0x1680, 0x2003, 0x200B, 0x200D, 0x2014, 0x2018,
        0x2019, 0x201C, 0x2022, 0x2026, 0x2028, 0x203B, 0x20AC, 0x2160, 0x2192, 0x2460, 0x3000, 0x3001, 0x3002, 0x300C,
        0x3010, 0x3042, 0x4E00, 0x7A76, 0xAC00, 0xFE0F, 0xFF01, 0xFF11, 0xFF5E, 0x1D7CE, 0x1F44B, 0x1F600, 0x20000]

    /// The GPT-2 scanner (whole text) and the 'default' one (four passes, GPT-2 bounded to each fragment)
    /// against their regexes run by ICU.
    @Test(arguments: [PreTokenizerKind.gpt2, .defaultBPE])
    func gpt2AndDefaultScannersMatchRegexSemantics(kind: PreTokenizerKind) {
        var rng = SeededRandom(seed: 29)
        let common = Array("ab st re ve ll d m' 0123456789 ,.!?`$ \t\n".unicodeScalars).map(\.value)
        let patterns = kind == .gpt2 ? Self.gpt2ReferencePatterns : Self.defaultReferencePatterns
        for round in 0..<1500 {
            var view = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...24, using: &rng) {
                let pool = Bool.random(using: &rng) ? Self.gpt2Interesting : common
                if let s = Unicode.Scalar(pool.randomElement(using: &rng)!) { view.append(s) }
            }
            let text = String(view)
            let expected = Self.referenceSplit(text, patterns)
            let got = Self.scannerSplit(text, kind)
            #expect(got == expected, "\(kind) round \(round): \(text.unicodeScalars.map { String($0.value, radix: 16) })")
            if got != expected { return }
        }
    }

    /// The consequences of the 'default' sequence that are easy to miss, on one line.
    @Test func defaultSequenceIsolatesApostrophesAndCutsDigitsInThrees() {
        let pieces = Self.scannerSplit("it's  1234567 \u{663}\u{664}\u{665} a`b$c", .defaultBPE)
            .map { String(String.UnicodeScalarView($0)) }
        #expect(pieces == ["it", "'", "s", " ", " ", "123", "456", "7", " ", "\u{663}\u{664}\u{665}", " a", "`", "b", "$", "c"])
    }
}
