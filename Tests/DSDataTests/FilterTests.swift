@testable import DSData
import Foundation
import Testing

/// Gopher quality, Gopher repetition and C4 decisions against datatrove 0.10.1 on the golden corpus, per rule.
@Suite struct FilterTests {
    static func expected(_ d: [String: Any], _ key: String) -> String? {
        let v = d[key] as! String
        return v == "pass" ? nil : v
    }

    func compare(_ key: String, _ decide: (String, [String]) -> String?) {
        var wrong: [String] = []
        for (i, d) in Golden.docs.enumerated() {
            let text = Golden.texts[i]
            let got = decide(text, EnglishWordTokenizer.shared.words(text))
            if got != Self.expected(d, key) { wrong.append("\(d["id"]!): \(got ?? "pass") vs \(Self.expected(d, key) ?? "pass")") }
        }
        #expect(wrong.isEmpty, "\(key): \(wrong)")
    }

    @Test func gopherQualityMatchesDatatrove() {
        compare("gopher_quality") { GopherQuality().reason($0, words: $1) }
        var max300 = GopherQuality()
        max300.maxDocWords = 300
        compare("gopher_quality_max300") { max300.reason($0, words: $1) }
    }

    @Test func gopherRepetitionMatchesDatatrove() {
        compare("gopher_repetition") { GopherRepetition().reason($0, words: $1) }
    }

    @Test func c4MatchesDatatroveIncludingRewrittenText() {
        var wrong: [String] = []
        for (i, d) in Golden.docs.enumerated() {
            var drops: [String: Int] = [:]
            let (reason, text) = C4LineFilter().apply(Golden.texts[i], lineDrops: &drops)
            if reason != Self.expected(d, "c4") { wrong.append("\(d["id"]!): \(reason ?? "pass")") }
            if reason == nil, let t = d["c4_text"] as? String, t != text { wrong.append("\(d["id"]!): text differs") }
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test func everyReasonOccursInTheGolden() {
        // The golden corpus is built to trip each rule; make sure the comparison above covers them all.
        let seen = Set(Golden.docs.flatMap { d in ["gopher_quality", "gopher_repetition", "c4"].map { d[$0] as! String } })
        for r in GopherQuality.reasons where r != "gopher_long_doc" { #expect(seen.contains(r), "\(r)") }
        for r in GopherRepetition.reasons where r != "empty" { #expect(seen.contains(r), "\(r)") }
        for r in C4LineFilter.reasons { #expect(seen.contains(r), "\(r)") }
    }
}
