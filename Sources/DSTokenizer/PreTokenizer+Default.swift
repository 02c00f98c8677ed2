/// llama.cpp's 'default' BPE pre-tokenizer (`LLAMA_VOCAB_PRE_TYPE_DEFAULT`), used by llama.cpp for every
/// BPE vocabulary whose GGUF has no `tokenizer.ggml.pre` (and for `pre = "default"`).
///
/// llama.cpp (src/llama-vocab.cpp, src/unicode.cpp `unicode_regex_split`) applies four regexes in sequence,
/// each to every fragment the previous ones left, keeping matches and gaps:
///
/// 1. `[\p{P}\$\+<=>\^~\|]+` — std::regex over the "collapsed" text, where each non-ASCII code point is
///    replaced by a marker byte for its category (whitespace by U+000B), so non-ASCII members are exactly
///    the category-P code points; ASCII members are `!"#$%&'()*+,-./:;<=>?@[\]^_{|}~` (not backtick).
/// 2. GPT-2's pattern, by `unicode_regex_split_custom_gpt2` bounded to each fragment. Since 1 has already
///    isolated every `'`, the contractions `'s`, `'t`, … never match: "it's" → `it` `'` `s`.
/// 3. `\p{N}+` (collapsed text again: ASCII 0-9 and non-ASCII category N), which splits the space off
///    GPT-2's ` ?\p{N}+` pieces: " 42" → ` ` `42`.
/// 4. `[0-9][0-9][0-9]` (std::wregex): ASCII digit runs cut into threes from the left: "1234567" →
///    `123` `456` `7`; other digits stay whole ("٣٤٥" is one piece).
extension PreTokenizerKind {
    func defaultBPE(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                    _ scratch: inout PreTokenizerScratch, _ emit: (Int, Int) -> Void) {
        let n = classify(p, start, end, &scratch)
        scratch.flags.withUnsafeBufferPointer { fb in
            scratch.offsets.withUnsafeBufferPointer { ob in
                scratch.boundsA.withUnsafeMutableBufferPointer { a in
                    scratch.boundsB.withUnsafeMutableBufferPointer { b in
                        let f = fb.baseAddress!
                        let off = ob.baseAddress!
                        var src = a.baseAddress!
                        var dst = b.baseAddress!
                        // Fragments are kept as a list of end positions (code point indices); every fragment is
                        // non-empty, so n + 1 entries always suffice.
                        src[0] = Int32(n)
                        var count = 1
                        count = Self.splitOptionalSpaceRun(f, src, count, dst, 0, CharClass.defaultPunct.rawValue)
                        swap(&src, &dst)
                        count = Self.splitGPT2(p, f, off, src, count, dst)
                        swap(&src, &dst)
                        count = Self.splitOptionalSpaceRun(f, src, count, dst, 0, CharClass.number.rawValue)
                        swap(&src, &dst)
                        count = Self.splitDigitTriples(f, off, src, count, dst)
                        var s = 0
                        for k in 0..<count {
                            let e = Int(dst[k])
                            emit(Int(off[s]), Int(off[e]))
                            s = e
                        }
                    }
                }
            }
        }
    }

    /// One pass of GPT-2's pattern over every fragment, each scanned on its own. Returns the new fragment count.
    static func splitGPT2(_ p: UnsafePointer<UInt8>, _ f: UnsafePointer<UInt8>, _ off: UnsafePointer<Int32>,
                          _ src: UnsafePointer<Int32>, _ count: Int, _ dst: UnsafeMutablePointer<Int32>) -> Int {
        var out = 0
        var s = 0
        for k in 0..<count {
            let e = Int(src[k])
            scanGPT2(p, f, off, s, e) { end in
                dst[out] = Int32(end)
                out += 1
            }
            s = e
        }
        return out
    }

    /// One pass of `[0-9][0-9][0-9]` over every fragment: leftmost matches, non-overlapping, gaps kept.
    static func splitDigitTriples(_ f: UnsafePointer<UInt8>, _ off: UnsafePointer<Int32>, _ src: UnsafePointer<Int32>,
                                  _ count: Int, _ dst: UnsafeMutablePointer<Int32>) -> Int {
        let number = CharClass.number.rawValue
        // The only one-byte code points with the number class are 0-9.
        @inline(__always) func isASCIIDigit(_ i: Int) -> Bool { f[i] & number != 0 && off[i + 1] - off[i] == 1 }
        var out = 0
        var s = 0
        for k in 0..<count {
            let e = Int(src[k])
            var i = s
            var last = s
            while i + 3 <= e {
                if isASCIIDigit(i) && isASCIIDigit(i + 1) && isASCIIDigit(i + 2) {
                    if i > last { dst[out] = Int32(i); out += 1 }
                    i += 3
                    dst[out] = Int32(i); out += 1
                    last = i
                } else {
                    i += 1
                }
            }
            if last < e { dst[out] = Int32(e); out += 1 }
            s = e
        }
        return out
    }
}
