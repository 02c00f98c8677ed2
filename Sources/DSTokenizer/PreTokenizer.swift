/// The pre-tokenizers we support, as hand-written scanners over code-point classes.
///
/// Foundation's regex on Linux is orders of magnitude too slow for this hot path, so each pattern
/// is implemented directly; `PreTokenizerTests` checks the scanners against the regex semantics.
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// DeepSeek LLM: six regexes applied in sequence, each splitting every fragment the previous
    /// ones left, keeping matches and gaps ("Isolated"):
    /// 1 `[\r\n]`  2 `\s?[letters]+`  3 `\s?[punct]+`  4 `\s+$`  5 `[CJK]+`  6 `\p{N}+`.
    case deepseekLLM = "deepseek-llm"
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2 = "gpt2"
    /// llama.cpp's fallback for BPE vocabularies without `tokenizer.ggml.pre` (`LLAMA_VOCAB_PRE_TYPE_DEFAULT`):
    /// four regexes in sequence, Isolated like DeepSeek's: 1 `[\p{P}\$\+<=>\^~\|]+`, 2 GPT-2's pattern (without
    /// the final `|\s+`, which changes nothing when gaps are kept), 3 `\p{N}+`, 4 `[0-9][0-9][0-9]`. Because 1
    /// isolates every apostrophe, GPT-2's contractions never match; see PreTokenizer+Default.swift.
    case defaultBPE = "default"

    /// The `tokenizer.ggml.pre` value llama.cpp gives this pre-tokenizer.
    public var llamaCppName: String {
        switch self {
        case .deepseekLLM: "deepseek-llm"
        case .gpt2: "gpt-2"
        case .defaultBPE: "default"
        }
    }

    /// The kind a `tokenizer.ggml.pre` value names (llama.cpp's spelling, and `gpt2`), or nil.
    public init?(llamaCppName name: String) {
        switch name {
        case "deepseek-llm": self = .deepseekLLM
        case "gpt-2", "gpt2": self = .gpt2
        case "default": self = .defaultBPE
        default: return nil
        }
    }
}

/// Reusable buffers for pre-tokenizing; one per thread, so the encode loop allocates nothing.
struct PreTokenizerScratch {
    var flags: [UInt8] = []
    /// Byte offset of each code point, plus one entry for the end.
    var offsets: [Int32] = []
    var boundsA: [Int32] = []
    var boundsB: [Int32] = []

    mutating func reserve(_ n: Int) {
        if flags.count < n + 1 {
            let cap = max(n + 1, flags.count * 2, 256)
            flags = [UInt8](repeating: 0, count: cap)
            offsets = [Int32](repeating: 0, count: cap)
            boundsA = [Int32](repeating: 0, count: cap + 1)
            boundsB = [Int32](repeating: 0, count: cap + 1)
        }
    }
}

/// Decodes one UTF-8 sequence at `i` (input already validated). Returns the code point and its length.
@inline(__always)
func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 < 0xE0 { return (((b0 & 0x1F) << 6) | (UInt32(p[i + 1]) & 0x3F), 2) }
    if b0 < 0xF0 {
        return (((b0 & 0x0F) << 12) | ((UInt32(p[i + 1]) & 0x3F) << 6) | (UInt32(p[i + 2]) & 0x3F), 3)
    }
    return (((b0 & 0x07) << 18) | ((UInt32(p[i + 1]) & 0x3F) << 12) | ((UInt32(p[i + 2]) & 0x3F) << 6)
        | (UInt32(p[i + 3]) & 0x3F), 4)
}

extension PreTokenizerKind {
    /// Splits valid UTF-8 `text` (containing no special tokens) into pieces, calling `emit` with each
    /// piece's byte range, in order. The pieces cover the text exactly.
    func split(_ text: UnsafeBufferPointer<UInt8>, scratch: inout PreTokenizerScratch,
               _ emit: (Int, Int) -> Void) {
        guard let base = text.baseAddress, text.count > 0 else { return }
        switch self {
        case .deepseekLLM:
            // Pattern 1 isolates every \r and \n, and no later pattern can cross one, so each line is
            // processed on its own: bounded scratch memory and independent chunks for threads.
            var start = 0
            var i = 0
            let n = text.count
            while i < n {
                let b = base[i]
                if b == 0x0A || b == 0x0D {
                    if i > start { deepseekLine(base, start, i, &scratch, emit) }
                    emit(i, i + 1)
                    start = i + 1
                }
                i += 1
            }
            if start < n { deepseekLine(base, start, n, &scratch, emit) }
        case .gpt2:
            gpt2(base, 0, text.count, &scratch, emit)
        case .defaultBPE:
            defaultBPE(base, 0, text.count, &scratch, emit)
        }
    }

    /// Fills scratch.flags/offsets for text[start..<end]; returns the number of code points.
    @inline(__always)
    func classify(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                  _ scratch: inout PreTokenizerScratch) -> Int {
        scratch.reserve(end - start)
        return scratch.flags.withUnsafeMutableBufferPointer { flags in
            scratch.offsets.withUnsafeMutableBufferPointer { offsets in
                let table = CharClass.bmpTable
                return table.withUnsafeBufferPointer { t in
                    var i = start
                    var n = 0
                    while i < end {
                        let b = p[i]
                        offsets[n] = Int32(i)
                        if b < 0x80 {
                            flags[n] = t[Int(b)]
                            i += 1
                        } else {
                            let (cp, len) = decodeScalar(p, i)
                            flags[n] = cp < 0x10000 ? t[Int(cp)] : CharClass.compute(cp).rawValue
                            i += len
                        }
                        n += 1
                    }
                    offsets[n] = Int32(end)
                    return n
                }
            }
        }
    }

    private func deepseekLine(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                              _ scratch: inout PreTokenizerScratch, _ emit: (Int, Int) -> Void) {
        let n = classify(p, start, end, &scratch)
        let ws = CharClass.whitespace.rawValue
        scratch.flags.withUnsafeBufferPointer { fb in
            scratch.boundsA.withUnsafeMutableBufferPointer { a in
                scratch.boundsB.withUnsafeMutableBufferPointer { b in
                    let f = fb.baseAddress!
                    var src = a.baseAddress!
                    var dst = b.baseAddress!
                    // Fragments are kept as a list of end positions (code point indices).
                    src[0] = Int32(n)
                    var count = 1
                    count = Self.splitOptionalSpaceRun(f, src, count, dst, ws, CharClass.deepseekLetter.rawValue)
                    swap(&src, &dst)
                    count = Self.splitOptionalSpaceRun(f, src, count, dst, ws, CharClass.deepseekPunct.rawValue)
                    swap(&src, &dst)
                    count = Self.splitTrailingSpace(f, src, count, dst, ws)
                    swap(&src, &dst)
                    count = Self.splitOptionalSpaceRun(f, src, count, dst, 0, CharClass.deepseekCJK.rawValue)
                    swap(&src, &dst)
                    count = Self.splitOptionalSpaceRun(f, src, count, dst, 0, CharClass.number.rawValue)
                    scratch.offsets.withUnsafeBufferPointer { off in
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

    /// One pass of `\s?[X]+` over every fragment (`[X]+` when `ws` is 0). Returns the new fragment count.
    @inline(__always)
    static func splitOptionalSpaceRun(_ f: UnsafePointer<UInt8>, _ src: UnsafePointer<Int32>, _ count: Int,
                                      _ dst: UnsafeMutablePointer<Int32>, _ ws: UInt8, _ cls: UInt8) -> Int {
        var out = 0
        var s = 0
        for k in 0..<count {
            let e = Int(src[k])
            var i = s
            var last = s
            while i < e {
                let fi = f[i]
                var j: Int
                if fi & cls != 0 {
                    j = i + 1
                } else if fi & ws != 0 && i + 1 < e && f[i + 1] & cls != 0 {
                    j = i + 2
                } else {
                    i += 1
                    continue
                }
                while j < e && f[j] & cls != 0 { j += 1 }
                if i > last { dst[out] = Int32(i); out += 1 }
                dst[out] = Int32(j); out += 1
                last = j
                i = j
            }
            if last < e { dst[out] = Int32(e); out += 1 }
            s = e
        }
        return out
    }

    /// One pass of `\s+$`: splits off a fragment's trailing whitespace.
    @inline(__always)
    static func splitTrailingSpace(_ f: UnsafePointer<UInt8>, _ src: UnsafePointer<Int32>, _ count: Int,
                                   _ dst: UnsafeMutablePointer<Int32>, _ ws: UInt8) -> Int {
        var out = 0
        var s = 0
        for k in 0..<count {
            let e = Int(src[k])
            var t = e
            while t > s && f[t - 1] & ws != 0 { t -= 1 }
            if t > s && t < e { dst[out] = Int32(t); out += 1 }
            dst[out] = Int32(e); out += 1
            s = e
        }
        return out
    }

    /// GPT-2's pattern over the whole text (one fragment).
    private func gpt2(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                      _ scratch: inout PreTokenizerScratch, _ emit: (Int, Int) -> Void) {
        let n = classify(p, start, end, &scratch)
        scratch.flags.withUnsafeBufferPointer { fb in
            scratch.offsets.withUnsafeBufferPointer { off in
                let o = off.baseAddress!
                var last = 0
                Self.scanGPT2(p, fb.baseAddress!, o, 0, n) { e in
                    emit(Int(o[last]), Int(o[e]))
                    last = e
                }
            }
        }
    }

    /// GPT-2's pattern over the code points `s..<e` of one fragment, scanned as llama.cpp's
    /// `unicode_regex_split_custom_gpt2` does: nothing outside the fragment is looked at (no contraction,
    /// space prefix or `(?!\S)` lookahead crosses its end). Calls `add` with the end of each piece.
    @inline(__always)
    static func scanGPT2(_ p: UnsafePointer<UInt8>, _ f: UnsafePointer<UInt8>, _ off: UnsafePointer<Int32>,
                         _ s: Int, _ e: Int, _ add: (Int) -> Void) {
        let ws = CharClass.whitespace.rawValue
        let letter = CharClass.letter.rawValue
        let number = CharClass.number.rawValue
        @inline(__always) func byte(_ i: Int) -> UInt8 {
            // ASCII byte of code point i, or 0 when it is not a one-byte code point
            i < e && off[i + 1] - off[i] == 1 ? p[Int(off[i])] : 0
        }
        var pos = s
        while pos < e {
            let c = byte(pos)
            if c == UInt8(ascii: "'") && pos + 1 < e {
                let c1 = byte(pos + 1)
                if c1 == UInt8(ascii: "s") || c1 == UInt8(ascii: "t") || c1 == UInt8(ascii: "m")
                    || c1 == UInt8(ascii: "d") {
                    pos += 2; add(pos); continue
                }
                if pos + 2 < e {
                    let c2 = byte(pos + 2)
                    if (c1 == UInt8(ascii: "r") && c2 == UInt8(ascii: "e"))
                        || (c1 == UInt8(ascii: "v") && c2 == UInt8(ascii: "e"))
                        || (c1 == UInt8(ascii: "l") && c2 == UInt8(ascii: "l")) {
                        pos += 3; add(pos); continue
                    }
                }
            }
            let space = c == 0x20
            let f2: UInt8 = space ? (pos + 1 < e ? f[pos + 1] : 0) : f[pos]
            let f2Defined = !space || pos + 1 < e
            if f2 & letter != 0 {
                if space { pos += 1 }
                while pos < e && f[pos] & letter != 0 { pos += 1 }
                add(pos); continue
            }
            if f2 & number != 0 {
                if space { pos += 1 }
                while pos < e && f[pos] & number != 0 { pos += 1 }
                add(pos); continue
            }
            if f2 & (ws | letter | number) == 0 && f2Defined {
                if space { pos += 1 }
                while pos < e && f[pos] & (ws | letter | number) == 0 { pos += 1 }
                add(pos); continue
            }
            var k = pos
            while k < e && f[k] & ws != 0 { k += 1 }
            let spaces = k - pos
            if spaces > 1 && k < e {
                pos = k - 1; add(pos); continue
            }
            if spaces > 0 {
                pos = k; add(pos); continue
            }
            pos += 1
            add(pos)
        }
    }
}
