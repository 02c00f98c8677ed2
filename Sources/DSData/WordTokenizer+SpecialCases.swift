import Foundation

// MARK: - Special cases after tokenization

extension EnglishWordTokenizer {
    /// `_apply_special_cases` (faster_heuristics): find every token span equal to a phrase-matcher pattern, keep the
    /// longest ones first (ties: leftmost first) unless their first or last token was covered by a span looked at
    /// before, and replace each kept span by its special case when the span's text (whitespace included) is a key.
    func applySpecialCases(_ s: Buf, _ toks: inout [Tok]) {
        let n = toks.count
        if n < 2 { return }
        var matches: [(start: Int, end: Int)] = []
        for i in 0..<(n - 1) {
            let t1 = toks[i + 1]
            if t1.len > maxSecondLen { continue }
            let t0 = toks[i]
            let bit = Self.pairBit(s[Int(t0.end) - 1], s[Int(t1.start)])
            if pairBits[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { continue }
            if t0.len > maxFirstLen { continue }
            guard let ids = patternsByFirst[Self.hash(s, Int(t0.start), Int(t0.end))] else { continue }
            for id in ids {
                let pat = patterns[id]
                if i + pat.count > n { continue }
                var ok = true
                for (j, ptok) in pat.enumerated() {
                    let t = toks[i + j]
                    if t.len != ptok.count { ok = false; break }
                    var k = 0
                    while k < ptok.count && s[Int(t.start) + k] == ptok[k] { k += 1 }
                    if k != ptok.count { ok = false; break }
                }
                if ok { matches.append((i, i + pat.count)) }
            }
        }
        if matches.isEmpty { return }
        // visit longest first, equal length: smaller start first
        matches.sort { ($0.end - $0.start, $1.start) > ($1.end - $1.start, $0.start) }
        var covered = [Bool](repeating: false, count: n)
        var kept: [(start: Int, end: Int)] = []
        for m in matches {
            if !covered[m.start] && !covered[m.end - 1] { kept.append(m) }
            for k in m.start..<m.end { covered[k] = true }
        }
        kept.sort { $0.start < $1.start }
        var out: [Tok] = []
        out.reserveCapacity(n)
        var i = 0
        var ki = 0
        while i < n {
            if ki < kept.count && kept[ki].start == i {
                let (a, b) = kept[ki]
                ki += 1
                let e = special(s, Int(toks[a].start), Int(toks[b - 1].end))
                if e >= 0 {
                    emitSpecial(e, at: Int(toks[a].start), into: &out)
                } else {
                    out += toks[a..<b]
                }
                i = b
            } else {
                out.append(toks[i])
                i += 1
            }
        }
        toks = out
    }
}
