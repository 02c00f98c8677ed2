/// Character classes used by the pre-tokenizers, one bit each, looked up per code point.
///
/// The classes reproduce llama.cpp's behaviour (the reference our ids are checked against), which
/// differs from a textbook regex engine in one way: before matching, every non-ASCII whitespace code
/// point is replaced by U+000B, so such code points match `\s` and *no* bracket class, even where the
/// class range contains them (U+3000 is inside `　-。` and `ࠀ-一`, yet never matches them).
public struct CharClass: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `\s`: ASCII \t \n \v \f \r and space (std::wregex in the C locale), plus Unicode White_Space.
    public static let whitespace = CharClass(rawValue: 1)
    /// DeepSeek pattern 2's letter class (2729 code points; not `\p{L}`).
    public static let deepseekLetter = CharClass(rawValue: 2)
    /// DeepSeek pattern 3's punctuation class `[!-/:-~！-／：-～‘-‟　-。]` (note: includes A-Z, a-z).
    public static let deepseekPunct = CharClass(rawValue: 4)
    /// DeepSeek pattern 5's CJK class `[一-龥ࠀ-一가-퟿]`.
    public static let deepseekCJK = CharClass(rawValue: 8)
    /// `\p{N}`: general category Nd, Nl or No.
    public static let number = CharClass(rawValue: 16)
    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo (GPT-2 pre-tokenizer).
    public static let letter = CharClass(rawValue: 32)
    /// \r or \n.
    public static let newline = CharClass(rawValue: 64)
    /// llama.cpp's 'default' pre-tokenizer, regex 1 `[\p{P}\$\+<=>\^~\|]`: general category P* (in ASCII
    /// `!"#%&'()*,-./:;?@[\]_{}`) plus the ASCII symbols `$+<=>^~|`. Backtick and every other symbol are not in it.
    public static let defaultPunct = CharClass(rawValue: 128)

    /// Classes of one code point.
    @inline(__always)
    public static func of(_ cp: UInt32) -> CharClass {
        if cp < 0x10000 { return CharClass(rawValue: bmpTable[Int(cp)]) }
        return compute(cp)
    }

    /// Precomputed classes for the Basic Multilingual Plane (64 KiB, built once in ~2 ms).
    static let bmpTable: [UInt8] = (0..<0x10000).map { compute(UInt32($0)).rawValue }

    static func compute(_ cp: UInt32) -> CharClass {
        var c: CharClass = []
        if cp == 0x0D || cp == 0x0A { c.insert(.newline) }
        if (0x09...0x0D).contains(cp) || cp == 0x20 {
            c.insert(.whitespace)
            return c
        }
        guard let scalar = Unicode.Scalar(cp) else { return c }  // surrogates: no class
        let props = scalar.properties
        if cp >= 0x80 && props.isWhitespace {
            c.insert(.whitespace)
            return c  // replaced by U+000B before matching: no other class applies
        }
        switch props.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: c.insert(.number)
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: c.insert(.letter)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            c.insert(.defaultPunct)
        default: break
        }
        // $ + < = > ^ ~ | are ASCII symbols (Sc, Sm, Sk) that the default pattern lists explicitly.
        if cp == 0x24 || cp == 0x2B || (0x3C...0x3E).contains(cp) || cp == 0x5E || cp == 0x7C || cp == 0x7E {
            c.insert(.defaultPunct)
        }
        if inRanges(cp, deepseekLetterRanges) { c.insert(.deepseekLetter) }
        if inRanges(cp, deepseekPunctRanges) { c.insert(.deepseekPunct) }
        if inRanges(cp, deepseekCJKRanges) { c.insert(.deepseekCJK) }
        return c
    }

    static func inRanges(_ cp: UInt32, _ ranges: [ClosedRange<UInt32>]) -> Bool {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < cp { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count && ranges[lo].contains(cp)
    }

    // The DeepSeek LLM classes, written as escaped code points (never as literal characters: six of
    // them are not NFC-stable, see docs/tokenizer.md). Source: llama.cpp src/llama-vocab.cpp,
    // LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM. Sorted and non-overlapping for binary search.
    static let deepseekLetterRanges: [ClosedRange<UInt32>] = [
        0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF,
        0x1C4...0x293, 0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F,
        0x386...0x386, 0x388...0x38A, 0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481,
        0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5, 0x13A0...0x13F5, 0x13F8...0x13FD, 0x1C90...0x1CBA,
        0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77, 0x1D79...0x1D9A, 0x1E00...0x1F15,
        0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57, 0x1F59...0x1F59,
        0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC,
        0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC, 0x1FD0...0x1FD3, 0x1FD6...0x1FDB,
        0x1FE0...0x1FEC, 0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102, 0x2107...0x2107,
        0x210A...0x2113, 0x2115...0x2115, 0x2119...0x211D, 0x2124...0x2124, 0x2126...0x2126,
        0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134, 0x2139...0x2139, 0x213C...0x213F,
        0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B, 0x2C7E...0x2CE4,
        0x2CEB...0x2CEE, 0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F,
        0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF, 0xFB00...0xFB06, 0xFB13...0xFB17,
        0xFF21...0xFF3A, 0xFF41...0xFF5A, 0x10400...0x1044F, 0x104B0...0x104D3, 0x104D8...0x104FB,
        0x10C80...0x10CB2, 0x10CC0...0x10CF2, 0x118A0...0x118DF, 0x1E900...0x1E943,
    ]

    static let deepseekPunctRanges: [ClosedRange<UInt32>] = [
        0x21...0x2F, 0x3A...0x7E, 0x2018...0x201F, 0x3000...0x3002, 0xFF01...0xFF0F, 0xFF1A...0xFF5E,
    ]

    // `[一-龥ࠀ-一가-퟿]` = U+4E00–U+9FA5, U+0800–U+4E00, U+AC00–U+D7FF.
    static let deepseekCJKRanges: [ClosedRange<UInt32>] = [0x800...0x9FA5, 0xAC00...0xD7FF]
}
