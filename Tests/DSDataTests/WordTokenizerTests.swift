@testable import DSData
import Foundation
import Testing

/// The Swift port of spaCy 3.8.18's English tokenizer + sentencizer (datatrove 0.10.1's word_tokenize /
/// split_into_sentences) against the golden cases written by tools/golden/make_data_golden.py, plus tricky inputs whose
/// expected tokens were taken from spaCy itself.
@Suite struct WordTokenizerTests {
    nonisolated(unsafe) static let golden: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Golden/datatrove-golden.json")
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    let tok = EnglishWordTokenizer.shared

    @Test func goldenTokenizerCases() {
        let cases = Self.golden["tokenizer_cases"] as! [[String: Any]]
        #expect(cases.count >= 30)
        for c in cases {
            let text = c["text"] as! String
            #expect(tok.words(text) == c["tokens"] as! [String], "\(text)")
        }
    }

    @Test func goldenSentenceCases() {
        let cases = Self.golden["sentence_cases"] as! [[String: Any]]
        #expect(cases.count >= 14)
        for c in cases {
            let text = c["text"] as! String
            #expect(tok.sentenceCount(text) == c["sentences"] as! Int, "\(text)")
        }
    }

    /// MinHash path: word tokens of simplify_text-normalized documents.
    @Test func goldenNormalizedTokens() {
        let steps = Self.golden["step_by_step"] as! [[String: Any]]
        #expect(!steps.isEmpty)
        for st in steps {
            #expect(tok.words(st["normalized"] as! String) == st["tokens"] as! [String], "\(st["id"]!)")
        }
    }

    /// (text, all spaCy tokens including whitespace tokens, sentence count), from spaCy 3.8.18 / datatrove 0.10.1.
    static let spacyCases: [(String, [String], Int)] = [
        ("x( :)y", ["x", "(", ":", ")", "y"], 1),  // a phrase-matcher span across chunks blocks the ":)" merge
        ("hi:) :-)) (^_^)x", ["hi", ":)", ":-))", "(", "^_^)x"], 1),
        ("e\u{301}te\u{301}, naïve café…", ["e\u{301}te\u{301}", ",", "naïve", "café", "…"], 1),
        ("5km² 10°C. 3+ 4-5 2^8 °F. US$5 5US$",
         ["5", "km²", "10", "°", "C", ".", "3", "+", "4", "-", "5", "2", "^", "8", "°", "F", ".", "US$", "5", "5", "US$"], 3),
        ("http://a.b/c, www.d.e user@mail.co.uk:8080/x 192.168.0.1 1.2.3.4:80/x 10.0.0.1",
         ["http://a.b", "/", "c", ",", "www.d.e", "user@mail.co.uk:8080/x", "192.168.0.1", "1.2.3.4:80/x", "10.0.0.1"], 1),
        ("Rock'n'roll isn't dead, y'all! CAN'T Won’t",
         ["Rock'n'roll", "is", "n't", "dead", ",", "y'", "all", "!", "CAN'T", "Wo", "n’t"], 2),
        ("a.  b\u{9}c\u{a}\u{a}d", ["a.", " ", "b", "\u{9}", "c", "\u{a}\u{a}", "d"], 1),
        ("«Quoted» „text“ ‹x› 「日本語」。", ["«", "Quoted", "»", "„", "text", "“", "‹x›", "「", "日本語", "」", "。"], 1),
        ("end.Start lower.Upper e.g. i.e. a.m. 10a.m. Ph.D. U.S.A.",
         ["end", ".", "Start", "lower", ".", "Upper", "e.g.", "i.e.", "a.m.", "10", "a.m.", "Ph.D.", "U.S.A."], 3),
        ("well--known x—y 1—2 a~b a:b a/b 1/2 a=b",
         ["well", "--", "known", "x", "—", "y", "1—2", "a", "~", "b", "a", ":", "b", "a", "/", "b", "1/2", "a", "=", "b"], 1),
        ("....hello.... ……", ["....", "hello", "....", "…", "…"], 1),
        ("😀😀 ☕\u{fe0f} ©2020 ®", ["😀", "😀", "☕", "\u{fe0f}", "©", "2020", "®"], 1),
        ("'s 's's cats' ’em ol' doin'", ["'s", "'s", "'s", "cats", "'", "’em", "ol'", "doin'"], 1),
        ("\u{3000}x\u{a0}y\u{2028}z", ["\u{3000}", "x", "\u{a0}", "y", "\u{2028}", "z"], 1),
    ]

    @Test func trickyInputsMatchSpacy() {
        for (text, all, sentences) in Self.spacyCases {
            #expect(tok.tokenTexts(text) == all, "\(text)")
            #expect(tok.words(text) == all.filter { !$0.unicodeScalars.allSatisfy(\.properties.isWhitespace) }, "\(text)")
            #expect(tok.sentenceCount(text) == sentences, "\(text)")
        }
    }

    /// datatrove retries without "IS_ALPHA" when spaCy fails on that token (steady-state behaviour).
    @Test func isAlphaFallback() {
        #expect(tok.tokenTexts("IS_ALPHA (IS_ALPHA) IS_ALPHAs") == ["IS_ALPHA", "(", "IS_ALPHA", ")", "IS_ALPHAs"])
        #expect(tok.words("IS_ALPHA (IS_ALPHA) IS_ALPHAs") == ["(", ")", "s"])
        #expect(tok.words("IS_IS_ALPHAALPHA x") == ["IS_IS_ALPHAALPHA", "x"])
        #expect(tok.sentenceCount("One IS_ALPHA. Two.") == 2)
    }

    @Test func urlMatchAgreesWithPythonRe() {
        let cases: [(String, Bool)] = [
            ("https://example.com/a?b=c", true), ("www.d.e", false), ("http://a.b", false),
            ("user@mail.co.uk:8080/x", true), ("192.168.0.1", false), ("1.2.3.4:80/x", true), ("10.0.0.1", false),
            ("172.16.0.1", false), ("172.15.0.1", true), ("223.1.1.1", true), ("224.1.1.1", false), ("1.2.3", false),
            ("e.g", false), ("U.S", false), ("3.14", false), ("a.b.c", false), ("example.com:123456", false),
            ("日本.jp", true), ("пример.рф", true), ("xn--80a.com", true), ("-a.com", false), ("a-.com", false),
            ("a_b.com", true), ("a@b@c.com", true), ("x://y.zz", false), ("é1://a.bc", true), ("a.b:1١/x", false),
        ]
        for (s, expected) in cases { #expect(tok.urlMatches(s) == expected, "\(s)") }
    }

    @Test func emptyAndWhitespace() {
        #expect(tok.words("") == [])
        #expect(tok.words(" \n\t ") == [])
        #expect(tok.sentenceCount("") == 1)
        #expect(tok.sentenceCount("   ") == 1)
        #expect(tok.words("cannot dont im 0km") == ["can", "not", "do", "nt", "i", "m", "0", "km"])
    }

    @Test func concurrentUseGivesSameResults() {
        let texts = (Self.golden["tokenizer_cases"] as! [[String: Any]]).map { $0["text"] as! String }
            + Self.spacyCases.map(\.0)
        let tok = self.tok
        let expected = texts.map { tok.words($0) }
        final class Failures: @unchecked Sendable {
            let lock = NSLock()
            var count = 0
        }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            for _ in 0..<20 {
                for (t, e) in zip(texts, expected) where tok.words(t) != e {
                    failures.lock.lock()
                    failures.count += 1
                    failures.lock.unlock()
                }
            }
        }
        #expect(failures.count == 0)
    }
}
