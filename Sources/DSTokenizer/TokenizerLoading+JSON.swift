import DSFormats
import Foundation

/// Loading HF `tokenizers` files (`tokenizer.json`, and `tokenizer_config.json` beside it when present).
extension Tokenizer {
    public static func load(tokenizerJSON path: String) throws(TokenizerError) -> Tokenizer {
        let root: JSONValue
        do {
            let file = try MappedFile(path: path)
            root = try JSONValue.parse(file.bytes)
        } catch let e as FormatError {
            throw .invalidFile(e.description)
        } catch let e as JSONError {
            throw .invalidFile("\(path): not valid JSON (\(e.description))")
        } catch {
            throw .invalidFile("\(path): \(error)")
        }
        func fail(_ field: String, _ message: String) -> TokenizerError {
            .invalidFile("\(path) (field \(field)): \(message)")
        }
        guard root.object != nil else { throw .invalidFile("\(path): top level is not a JSON object") }
        guard let model = root["model"]?.object else { throw fail("model", "missing or not an object") }
        guard model["type"]?.string == "BPE" else {
            throw .unsupported("\(path): model.type = \(model["type"]?.string ?? "null"); only BPE is supported")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix", "dropout"] {
            if let v = model[key], !v.isNull {
                throw .unsupported("\(path): model.\(key) = \(v) is not supported (byte-level BPE has none)")
            }
        }
        if model["byte_fallback"]?.bool == true { throw .unsupported("\(path): model.byte_fallback = true") }
        if model["ignore_merges"]?.bool == true { throw .unsupported("\(path): model.ignore_merges = true") }
        // An empty Sequence is a no-op normalizer (some tokenizer.json files spell "none" that way).
        if let norm = root["normalizer"], !norm.isNull,
           !(norm["type"]?.string == "Sequence" && norm["normalizers"]?.array?.isEmpty == true) {
            throw .unsupported("\(path): normalizer \(norm["type"]?.string ?? "?") is not supported")
        }
        let pre = try preTokenizerKind(root["pre_tokenizer"], path: path)

        guard let vocab = model["vocab"]?.object else { throw fail("model.vocab", "missing or not an object") }
        var texts: [String?] = []
        var types: [TokenType] = []
        func place(_ id: Int, _ text: String, _ type: TokenType) {
            if id >= texts.count {
                texts.append(contentsOf: repeatElement(nil, count: id + 1 - texts.count))
                types.append(contentsOf: repeatElement(.normal, count: id + 1 - types.count))
            }
            texts[id] = text
            types[id] = type
        }
        texts.reserveCapacity(vocab.count)
        for (text, idValue) in vocab.members {
            guard let id = idValue.int, id >= 0, id < 1 << 24 else {
                throw fail("model.vocab[\"\(text)\"]", "id is not an integer in 0..<16777216")
            }
            place(id, text, .normal)
        }
        if let added = root["added_tokens"]?.array {
            for (k, t) in added.enumerated() {
                guard let id = t["id"]?.int, id >= 0, id < 1 << 24, let content = t["content"]?.string else {
                    throw fail("added_tokens[\(k)]", "needs an integer id and a string content")
                }
                place(id, content, t["special"]?.bool == true ? .control : .userDefined)
            }
        }
        var parts = VocabularyParts(source: path, preTokenizer: pre)
        for id in 0..<texts.count {
            guard var t = texts[id] else {
                throw fail("model.vocab", "ids are not contiguous: no token has id \(id) (vocabulary has \(texts.count) ids)")
            }
            t.withUTF8 { parts.appendToken(UnsafeRawBufferPointer($0), type: types[id]) }
        }
        guard let merges = model["merges"]?.array else { throw fail("model.merges", "missing or not an array") }
        parts.merges.bounds.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() {
            var left: String, right: String
            if var s = m.string {
                let ok: Bool = s.withUTF8 { u in
                    guard u.count >= 3, let sp = u[1...].firstIndex(of: 0x20), sp < u.count - 1 else { return false }
                    parts.merges.append(left: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: u[..<sp])),
                                        right: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: u[(sp + 1)...])))
                    return true
                }
                guard ok else { throw fail("model.merges[\(i)]", "expected \"left right\", found \"\(s)\"") }
                continue
            } else if let pair = m.array, pair.count == 2, let l = pair[0].string, let r = pair[1].string {
                left = l
                right = r
            } else {
                throw fail("model.merges[\(i)]", "expected a \"left right\" string or a [left, right] pair")
            }
            left.withUTF8 { l in
                right.withUTF8 { r in parts.merges.append(left: UnsafeRawBufferPointer(l), right: UnsafeRawBufferPointer(r)) }
            }
        }
        applyConfig(&parts, path: path, texts: texts)
        return try build(parts, lastDuplicateWins: false)
    }

    /// Special ids and the chat template: from tokenizer_config.json beside the file, else by well-known names.
    private static func applyConfig(_ parts: inout VocabularyParts, path: String, texts: [String?]) {
        var idByText: [String: Int] = [:]
        for (id, text) in texts.enumerated() where parts.types[id] != .normal { idByText[text!] = id }
        func tokenName(_ v: JSONValue?) -> String? { v?.string ?? v?["content"]?.string }
        var bosName: String?, eosName: String?, padName: String?
        let configPath = ((path as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("tokenizer_config.json")
        if let data = FileManager.default.contents(atPath: configPath),
           let config = try? JSONValue.parse(Array(data)) {
            bosName = tokenName(config["bos_token"])
            eosName = tokenName(config["eos_token"])
            padName = tokenName(config["pad_token"])
            parts.addBOS = config["add_bos_token"]?.bool ?? false
            parts.chatTemplate = config["chat_template"]?.string
        }
        func find(_ name: String?, _ fallbacks: [String]) -> TokenID? {
            for n in ([name].compactMap { $0 } + fallbacks) {
                if let id = idByText[n] { return TokenID(id) }
            }
            return nil
        }
        parts.bos = find(bosName, ["<｜begin▁of▁sentence｜>", "<s>", "<|begin_of_text|>", "<|endoftext|>"])
        parts.eos = find(eosName, ["<｜end▁of▁sentence｜>", "</s>", "<|end_of_text|>", "<|endoftext|>"])
        parts.pad = find(padName, []) ?? parts.eos
    }

    /// Recognises the pre-tokenizer pipelines we implement; anything else is refused by name.
    static func preTokenizerKind(_ value: JSONValue?, path: String) throws(TokenizerError) -> PreTokenizerKind {
        guard let pt = value, let type = pt["type"]?.string else {
            throw .unsupported("\(path): pre_tokenizer is missing")
        }
        if type == "ByteLevel" {
            if pt["add_prefix_space"]?.bool == true {
                throw .unsupported("\(path): pre_tokenizer ByteLevel with add_prefix_space = true")
            }
            if pt["use_regex"]?.bool ?? true { return .gpt2 }
            throw .unsupported("\(path): pre_tokenizer ByteLevel with use_regex = false and no Split before it")
        }
        guard type == "Sequence", let steps = pt["pretokenizers"]?.array else {
            throw .unsupported("\(path): pre_tokenizer type \(type)")
        }
        var patterns: [[Unicode.Scalar]] = []
        var sawByteLevel = false
        var sawDigits = false
        for (i, step) in steps.enumerated() {
            let stype = step["type"]?.string ?? "?"
            switch stype {
            case "Split":
                guard step["behavior"]?.string == "Isolated", step["invert"]?.bool != true else {
                    throw .unsupported("\(path): pre_tokenizer.pretokenizers[\(i)]: only Isolated, non-inverted Split is supported")
                }
                if let regex = step["pattern"]?["Regex"]?.string {
                    patterns.append(regexScalars(regex))
                } else if let literal = step["pattern"]?["String"]?.string {
                    // A literal string, not a regex: it can equal none of our patterns, so keep it unescaped and marked.
                    patterns.append(["\u{0}"] + Array(literal.unicodeScalars))
                } else {
                    throw .unsupported("\(path): pre_tokenizer.pretokenizers[\(i)]: Split needs a Regex or String pattern")
                }
            case "Digits":
                guard step["individual_digits"]?.bool == true else {
                    throw .unsupported("\(path): pre_tokenizer.pretokenizers[\(i)]: Digits without individual_digits")
                }
                patterns.append(Array("\\p{N}+".unicodeScalars))
                sawDigits = true
            case "ByteLevel":
                guard i == steps.count - 1, step["add_prefix_space"]?.bool != true, step["use_regex"]?.bool == false else {
                    throw .unsupported("\(path): pre_tokenizer.pretokenizers[\(i)]: ByteLevel must come last, without prefix space or regex")
                }
                sawByteLevel = true
            default:
                throw .unsupported("\(path): pre_tokenizer.pretokenizers[\(i)] of type \(stype)")
            }
        }
        // `Digits(individual_digits)` differs from `\p{N}+` only for multi-digit tokens, which the
        // DeepSeek vocabulary does not have; both spellings are accepted there. Not for the default
        // pre-tokenizer: its vocabularies may well have multi-digit tokens.
        if sawByteLevel && patterns == DeepSeekPatterns.escaped.map(regexScalars) { return .deepseekLLM }
        if sawByteLevel && !sawDigits && patterns == DefaultPatterns.escaped.map(regexScalars) { return .defaultBPE }
        throw .unsupported("\(path): this pre_tokenizer Sequence is neither the DeepSeek LLM one nor llama.cpp's " +
                           "'default' one; supported: deepseek-llm, default (Sequences of Isolated Splits + ByteLevel), " +
                           "gpt2 (ByteLevel with use_regex)")
    }

    /// A regex with `\uXXXX` / `\UXXXXXXXX` / `\x{…}` escapes resolved, as code points (never compared
    /// as `String`s: `String` equality is canonical equivalence, and the DeepSeek classes hold non-NFC code points).
    static func regexScalars(_ pattern: String) -> [Unicode.Scalar] {
        let s = Array(pattern.unicodeScalars)
        var out: [Unicode.Scalar] = []
        var i = 0
        func hexValue(_ from: Int, _ count: Int) -> UInt32? {
            guard from + count <= s.count else { return nil }
            return UInt32(String(String.UnicodeScalarView(s[from..<from + count])), radix: 16)
        }
        while i < s.count {
            if s[i] == "\\" && i + 1 < s.count {
                if s[i + 1] == "u", let v = hexValue(i + 2, 4), let sc = Unicode.Scalar(v) {
                    out.append(sc); i += 6; continue
                }
                if s[i + 1] == "U", let v = hexValue(i + 2, 8), let sc = Unicode.Scalar(v) {
                    out.append(sc); i += 10; continue
                }
                if s[i + 1] == "x", i + 2 < s.count, s[i + 2] == "{", let close = s[(i + 3)...].firstIndex(of: "}"),
                   let v = hexValue(i + 3, close - i - 3), let sc = Unicode.Scalar(v) {
                    out.append(sc); i = close + 1; continue
                }
                out.append(s[i]); out.append(s[i + 1]); i += 2; continue
            }
            out.append(s[i]); i += 1
        }
        return out
    }
}

/// The DeepSeek LLM pre-tokenizer regexes, escaped form (what `tokenizer.json` files written by dsllm hold).
///
/// Supplementary code points are written `\x{10400}`, not `\U00010400`: HF tokenizers' regex engine
/// (Oniguruma) has no `\U` escape and reads it as the letters "U0001…", which silently turns the letter
/// class into a range containing the digits and `:;<=>?@`. `Tokenizer.load` accepts both spellings.
public enum DeepSeekPatterns {
    public static let escaped: [String] = [
        "[\\u000D\\u000A]",
        "\\s?[A-Za-z\\u00B5\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u01BA\\u01BC-\\u01BF\\u01C4-\\u0293\\u0295-\\u02AF\\u0370-\\u0373\\u0376\\u0377\\u037B-\\u037D\\u037F\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03F5\\u03F7-\\u0481\\u048A-\\u052F\\u0531-\\u0556\\u10A0-\\u10C5\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA\\u1CBD-\\u1CBF\\u1D00-\\u1D2B\\u1D6B-\\u1D77\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45\\u1F48-\\u1F4D\\u1F50-\\u1F57\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE\\u1FC2-\\u1FC4\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4\\u1FF6-\\u1FFC\\u2102\\u2107\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128\\u212A-\\u212D\\u212F-\\u2134\\u2139\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184\\u2C00-\\u2C7B\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B\\uA722-\\uA76F\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF\\uFB00-\\uFB06\\uFB13-\\uFB17\\uFF21-\\uFF3A\\uFF41-\\uFF5A\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
        "\\s?[!-/:-~\\uFF01-\\uFF0F\\uFF1A-\\uFF5E\\u2018-\\u201F\\u3000-\\u3002]+",
        "\\s+$",
        "[\\u4E00-\\u9FA5\\u0800-\\u4E00\\uAC00-\\uD7FF]+",
        "\\p{N}+",
    ]
}

/// llama.cpp's 'default' pre-tokenizer regexes (src/llama-vocab.cpp, `LLAMA_VOCAB_PRE_TYPE_DEFAULT`), as HF
/// `Split` patterns. Each Split is Isolated and sees one fragment at a time, which is how llama.cpp applies
/// them; the GPT-2 pattern lacks the usual final `|\s+`, which makes no difference when gaps are kept.
public enum DefaultPatterns {
    public static let escaped: [String] = [
        "[\\p{P}\\$\\+<=>\\^~\\|]+",
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
        "\\p{N}+",
        "[0-9][0-9][0-9]",
    ]
}
