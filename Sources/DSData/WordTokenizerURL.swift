// spaCy's URL_MATCH (spacy/lang/tokenizer_exceptions.py, the tokenizer's `url_match`) matched by hand, for the
// English tokenizer port in WordTokenizer.swift. tools/codegen/gen_swift_tokenizer_tables.py checks that the regex in
// tools/codegen/datatrove_text_tables.json is exactly the one implemented here (only the TLD class is data).

// MARK: - url_match

extension EnglishWordTokenizer {
    /// spaCy's `URL_MATCH` (spacy/lang/tokenizer_exceptions.py) on s[a..<b], a whitespace-free string:
    ///   ^ (scheme://)? (\S+@)? (ipv4 | (label.)+ tld) (:port)? ([/?#]\S*)? $
    /// Only whether it matches matters, so each optional part is tried explicitly.
    func urlMatch(_ s: Buf, _ a: Int, _ b: Int) -> Bool {
        var hasDot = false  // both host forms contain a '.'
        for k in a..<b where s[k] == 0x2E {
            hasDot = true
            break
        }
        if !hasDot { return false }
        // (?:[\w\+\-\.]{2,}://)? — ':' is not in the class, so the scheme can only end at the first non-class char
        var q = a
        while q < b && (flags(s[q]) & T.pyWord != 0 || s[q] == 0x2B || s[q] == 0x2D || s[q] == 0x2E) { q += 1 }
        let schemeEnd = q - a >= 2 && q + 3 <= b && s[q] == 0x3A && s[q + 1] == 0x2F && s[q + 2] == 0x2F ? q + 3 : -1
        @inline(__always) func isStop(_ c: UInt32) -> Bool { c == 0x3A || c == 0x2F || c == 0x3F || c == 0x23 }
        for pass in 0..<2 {
            let start = pass == 0 ? a : schemeEnd
            if start < 0 { continue }
            // the host starts at `start` or after any '@' that has something before it: (?:\S+(?::\S*)?@)? is
            // (?:\S+@)? on a whitespace-free string. No host character is one of ':/?#', so the host ends at the
            // first of them (e), which only moves forward as h does.
            var h = start, e = start, k = start + 1
            while true {
                if e < h { e = h }
                while e < b && !isStop(s[e]) { e += 1 }
                if urlHost(s, h, e, b) { return true }
                while k < b && s[k] != 0x40 { k += 1 }
                if k >= b { break }
                h = k + 1
                k += 1
            }
        }
        return false
    }

    /// Host s[h..<e] followed by the optional port and path running to b.
    private func urlHost(_ s: Buf, _ h: Int, _ e: Int, _ b: Int) -> Bool {
        if h >= e { return false }
        if e < b && s[e] == 0x3A {  // (?::\d{2,5})? then [/?#] or the end
            var k = e + 1
            while k < b && k <= e + 6 && flags(s[k]) & T.pyDecimal != 0 { k += 1 }
            let r = k - e - 1
            if r < 2 || r > 5 { return false }
            if k < b && !(s[k] == 0x2F || s[k] == 0x3F || s[k] == 0x23) { return false }
        }
        return ipv4(s, h, e, b) || domain(s, h, e)
    }

    /// (?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+ tld{2,63}
    /// on exactly s[h..<e].
    private func domain(_ s: Buf, _ h: Int, _ e: Int) -> Bool {
        var p = h
        var labels = 0
        while true {
            var m = p
            while m < e {
                let c = s[m]
                if c == 0x2E { break }
                // a character no label or TLD can hold: give up at once (keeps many-'@' strings linear)
                if flags(c) & (T.urlHost | T.urlTLD) == 0 && c != 0x5F && c != 0x2D { return false }
                m += 1
            }
            let len = m - p
            if m == e {  // the TLD
                if labels == 0 || len < 2 || len > 63 { return false }
                for k in p..<e where flags(s[k]) & T.urlTLD == 0 { return false }
                return true
            }
            if len < 1 || len > 64 { return false }
            if flags(s[p]) & T.urlHost == 0 || flags(s[m - 1]) & T.urlHost == 0 { return false }
            var k = p + 1
            while k < m - 1 {
                let c = s[k]
                if flags(c) & T.urlHost == 0 && c != 0x5F && c != 0x2D { return false }
                k += 1
            }
            labels += 1
            p = m + 1
        }
    }

    /// The IPv4 alternative on s[h..<e] (e = end of host), with its three negative look-aheads.
    private func ipv4(_ s: Buf, _ h: Int, _ e: Int, _ b: Int) -> Bool {
        @inline(__always) func dec(_ k: Int) -> Bool { k < b && flags(s[k]) & T.pyDecimal != 0 }
        @inline(__always) func ch(_ k: Int, _ c: UInt32) -> Bool { k < b && s[k] == c }
        @inline(__always) func inRange(_ k: Int, _ lo: UInt32, _ hi: UInt32) -> Bool { k < b && s[k] >= lo && s[k] <= hi }
        func lit(_ k: Int, _ str: String) -> Bool {
            var k = k
            for u in str.unicodeScalars {
                if !ch(k, u.value) { return false }
                k += 1
            }
            return true
        }
        /// (?:\.\d{1,3}){count} as a prefix at k
        func dotDigits(_ k: Int, _ count: Int) -> Bool {
            var k = k
            for g in 0..<count {
                if !ch(k, 0x2E) { return false }
                var r = 0
                while dec(k + 1 + r) { r += 1 }
                if r == 0 || (g < count - 1 && r > 3) { return false }
                k += 1 + r
            }
            return true
        }
        // at most 4 octets of at most 3 digits, the first starting with [1-9]
        if e - h > 15 || !inRange(h, 0x31, 0x39) { return false }
        var dots = 0
        for k in h..<e where s[k] == 0x2E { dots += 1 }
        if dots != 3 { return false }
        if (lit(h, "10") && dotDigits(h + 2, 3)) || (lit(h, "127") && dotDigits(h + 3, 3)) { return false }
        if (lit(h, "169.254") || lit(h, "192.168")) && dotDigits(h + 7, 2) { return false }
        if lit(h, "172.")
            && ((ch(h + 4, 0x31) && inRange(h + 5, 0x36, 0x39)) || (ch(h + 4, 0x32) && dec(h + 5))
                || (ch(h + 4, 0x33) && inRange(h + 5, 0x30, 0x31)))
            && dotDigits(h + 6, 2) {
            return false
        }
        // exactly four dot-separated octets filling s[h..<e]
        var parts: [(Int, Int)] = []
        var p = h
        for k in h...e where k == e || s[k] == 0x2E {
            parts.append((p, k))
            p = k + 1
        }
        if parts.count != 4 { return false }
        for (idx, (x, y)) in parts.enumerated() {
            let l = y - x
            if l < 1 || l > 3 { return false }
            for k in x..<y where !dec(k) { return false }
            let c0 = s[x]
            switch idx {
            case 0:  // [1-9]\d?|1\d\d|2[01]\d|22[0-3]
                if l <= 2 { if !inRange(x, 0x31, 0x39) { return false } }
                else if !(c0 == 0x31 || (c0 == 0x32 && inRange(x + 1, 0x30, 0x31))
                    || (c0 == 0x32 && ch(x + 1, 0x32) && inRange(x + 2, 0x30, 0x33))) { return false }
            case 3:  // [1-9]\d?|1\d\d|2[0-4]\d|25[0-4]
                if l <= 2 { if !inRange(x, 0x31, 0x39) { return false } }
                else if !(c0 == 0x31 || (c0 == 0x32 && inRange(x + 1, 0x30, 0x34))
                    || (c0 == 0x32 && ch(x + 1, 0x35) && inRange(x + 2, 0x30, 0x34))) { return false }
            default:  // 1?\d{1,2}|2[0-4]\d|25[0-5]
                if l == 3 && !(c0 == 0x31 || (c0 == 0x32 && inRange(x + 1, 0x30, 0x34))
                    || (c0 == 0x32 && ch(x + 1, 0x35) && inRange(x + 2, 0x30, 0x35))) { return false }
            }
        }
        return true
    }
}
