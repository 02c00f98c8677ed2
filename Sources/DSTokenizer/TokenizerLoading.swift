import DSFormats
import Foundation

/// What every vocabulary source provides, before the lookup structures are built.
struct VocabularyParts {
    var source: String
    var preTokenizer: PreTokenizerKind
    /// Stored form of each token, UTF-8, concatenated; offsets has count + 1 entries.
    var textArena: [UInt8] = []
    var textOffsets: [Int32] = [0]
    var types: [TokenType] = []
    var merges = MergeList()
    var bos: TokenID?
    var eos: TokenID?
    var pad: TokenID?
    var addBOS = false
    var chatTemplate: String?

    mutating func appendToken(_ text: UnsafeRawBufferPointer, type: TokenType) {
        textArena.append(contentsOf: text)
        textOffsets.append(Int32(textArena.count))
        types.append(type)
    }
}

extension Tokenizer {
    /// Loads a tokenizer from a `.gguf` file, a `tokenizer.json`, or a directory holding one of them.
    public static func load(path: String) throws(TokenizerError) -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .invalidFile("\(path): no such file or directory")
        }
        if isDir.boolValue {
            let json = (path as NSString).appendingPathComponent("tokenizer.json")
            if FileManager.default.fileExists(atPath: json) { return try load(tokenizerJSON: json) }
            let ggufs = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                .filter { $0.hasSuffix(".gguf") }.sorted()
            if let first = ggufs.first { return try load(gguf: (path as NSString).appendingPathComponent(first)) }
            throw .invalidFile("\(path): directory holds neither tokenizer.json nor a .gguf file")
        }
        // Sniff rather than trust the extension.
        if let fh = FileHandle(forReadingAtPath: path), let head = try? fh.read(upToCount: 4) {
            try? fh.close()
            if head == Data("GGUF".utf8) { return try load(gguf: path) }
        }
        return try load(tokenizerJSON: path)
    }

    // embeddedDeepSeek(): EmbeddedVocabulary.swift (found beside the executable, never through Bundle.module).

    /// Loads a byte-level BPE vocabulary from GGUF tokenizer metadata.
    public static func load(gguf path: String) throws(TokenizerError) -> Tokenizer {
        let gguf: GGUFFile
        do { gguf = try GGUFFile(path: path) } catch { throw .invalidFile(error.description) }
        do {
            return try load(gguf: gguf)
        } catch let e as FormatError {
            throw .invalidFile(e.description)
        } catch let e as TokenizerError {
            throw e
        } catch {
            throw .invalidFile("\(path): \(error)")
        }
    }

    static func load(gguf: GGUFFile) throws -> Tokenizer {
        let path = gguf.path
        let model = try gguf.requireString("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw TokenizerError.unsupported(
                "\(path): tokenizer.ggml.model = \"\(model)\"; only byte-level BPE (\"gpt2\") is supported")
        }
        let pre: PreTokenizerKind
        if let preName = gguf["tokenizer.ggml.pre"]?.stringValue {
            guard let kind = PreTokenizerKind(llamaCppName: preName) else {
                throw TokenizerError.unsupported(
                    "\(path): tokenizer.ggml.pre = \"\(preName)\"; supported pre-tokenizers: deepseek-llm, gpt-2, default")
            }
            pre = kind
        } else if try isDeepSeekLLMVocabulary(gguf) {
            // GGUFs converted before llama.cpp wrote the tag (most DeepSeek LLM conversions of Dec 2023).
            pre = .deepseekLLM
            notice("\(path): no tokenizer.ggml.pre; the vocabulary is DeepSeek LLM's (tokens and merges match), using the deepseek-llm pre-tokenizer")
        } else {
            // What llama.cpp does ("missing pre-tokenizer type, using: 'default'"), so that ids match it.
            pre = .defaultBPE
            notice("\(path): tokenizer.ggml.pre is missing and the vocabulary is not DeepSeek LLM's; using llama.cpp's " +
                   "'default' pre-tokenizer as llama.cpp does (generation quality may be degraded; reconvert the model " +
                   "to record the right one)")
        }
        var parts = VocabularyParts(source: path, preTokenizer: pre)
        let tokens = try gguf.requireArray("tokenizer.ggml.tokens")
        guard tokens.elementType == .string else {
            throw FormatError(file: path, field: "tokenizer.ggml.tokens", message: "expected an array of strings")
        }
        var typeValues: [Int]?
        if gguf["tokenizer.ggml.token_type"] != nil {
            let arr = try gguf.requireArray("tokenizer.ggml.token_type")
            guard let ints = arr.integers(), ints.count == tokens.count else {
                throw FormatError(file: path, field: "tokenizer.ggml.token_type",
                                  message: "expected \(tokens.count) integers, found \(arr.count) × \(arr.elementType)")
            }
            typeValues = ints
        }
        parts.textArena.reserveCapacity(tokens.count * 8)
        parts.textOffsets.reserveCapacity(tokens.count + 1)
        parts.types.reserveCapacity(tokens.count)
        for i in 0..<tokens.count {
            let raw = typeValues.map { Int32(truncatingIfNeeded: $0[i]) } ?? 1
            guard let type = TokenType(rawValue: raw) else {
                throw FormatError(file: path, field: "tokenizer.ggml.token_type[\(i)]", message: "unknown token type \(raw)")
            }
            parts.appendToken(tokens.stringBytes(at: i), type: type)
        }
        let merges = try gguf.requireArray("tokenizer.ggml.merges")
        guard merges.elementType == .string else {
            throw FormatError(file: path, field: "tokenizer.ggml.merges", message: "expected an array of strings")
        }
        parts.merges.arena.reserveCapacity(merges.count * 8)
        parts.merges.bounds.reserveCapacity(merges.count)
        for i in 0..<merges.count {
            let m = merges.stringBytes(at: i)
            // "left right": split at the first space after the first byte (llama.cpp: find(' ', 1))
            guard m.count >= 3, let sp = m[1...].firstIndex(of: 0x20), sp < m.count - 1 else {
                throw FormatError(file: path, field: "tokenizer.ggml.merges[\(i)]",
                                  message: "expected \"left right\", found \"\(merges.string(at: i))\"")
            }
            parts.merges.append(left: UnsafeRawBufferPointer(rebasing: m[..<sp]),
                                right: UnsafeRawBufferPointer(rebasing: m[(sp + 1)...]))
        }
        func id(_ key: String) throws -> TokenID? {
            guard let v = try gguf.optionalInt(key) else { return nil }
            guard v >= 0 && v < tokens.count else {
                throw FormatError(file: path, field: key, message: "id \(v) is outside the vocabulary (0..<\(tokens.count))")
            }
            return TokenID(v)
        }
        parts.bos = try id("tokenizer.ggml.bos_token_id")
        parts.eos = try id("tokenizer.ggml.eos_token_id")
        parts.pad = try id("tokenizer.ggml.padding_token_id")
        parts.addBOS = try gguf.optionalBool("tokenizer.ggml.add_bos_token") ?? false
        parts.chatTemplate = gguf["tokenizer.chat_template"]?.stringValue
        return try build(parts, lastDuplicateWins: true)
    }

    /// Builds the lookup structures shared by all sources.
    static func build(_ parts: VocabularyParts, lastDuplicateWins: Bool) throws(TokenizerError) -> Tokenizer {
        let n = parts.types.count
        guard n > 0 else { throw .invalidFile("\(parts.source): the vocabulary is empty") }
        var table = ByteStringTable(capacity: n)
        var bytesArena: [UInt8] = []
        bytesArena.reserveCapacity(parts.textArena.count)
        var bytesOffsets: [Int32] = [0]
        bytesOffsets.reserveCapacity(n + 1)
        var added = AddedTokenMatcher()
        parts.textArena.withUnsafeBufferPointer { arena in
            let base = arena.baseAddress!
            for i in 0..<n {
                let s = Int(parts.textOffsets[i]), e = Int(parts.textOffsets[i + 1])
                let text = UnsafeRawBufferPointer(start: base + s, count: e - s)
                if lastDuplicateWins {
                    table.insertOrReplace(base + s, e - s, value: TokenID(i))
                } else {
                    table.insertIfAbsent(base + s, e - s, value: TokenID(i))
                }
                switch parts.types[i] {
                case .normal, .byte:
                    // Byte-level form back to raw bytes; entries outside the alphabet are kept literally.
                    if !ByteLevel.decode(text, appendingTo: &bytesArena) { bytesArena.append(contentsOf: text) }
                case .control, .unknown:
                    bytesArena.append(contentsOf: text)
                    added.add(Array(text), id: TokenID(i), isControl: true)
                case .userDefined:
                    bytesArena.append(contentsOf: text)
                    added.add(Array(text), id: TokenID(i), isControl: false)
                case .unused:
                    bytesArena.append(contentsOf: text)
                }
                bytesOffsets.append(Int32(bytesArena.count))
            }
        }
        // Every byte that can occur in valid UTF-8 needs a token; the 13 that cannot (C0, C1, F5–FF)
        // may be missing (DeepSeek maps their characters to added tokens 100002–100014 instead).
        var byteToken = [TokenID](repeating: -1, count: 256)
        for b in 0..<256 {
            let utf8 = ByteLevel.byteToUTF8[b]
            if let id = utf8.withUnsafeBufferPointer({ table.get($0.baseAddress!, $0.count) }) {
                byteToken[b] = id
            } else if !(b == 0xC0 || b == 0xC1 || b >= 0xF5) {
                throw .invalidFile(
                    "\(parts.source): the vocabulary has no token for byte 0x\(String(b, radix: 16, uppercase: true)) (\"\(String(decoding: utf8, as: UTF8.self))\"), which byte-level BPE needs")
            }
        }
        let model = BPEModel(vocabularyCount: n, byteToken: byteToken, merges: parts.merges) { p, len in
            table.get(p, len)
        }
        return Tokenizer(source: parts.source, preTokenizer: parts.preTokenizer, types: parts.types,
                         textArena: parts.textArena, textOffsets: parts.textOffsets, bytesArena: bytesArena,
                         bytesOffsets: bytesOffsets, model: model, merges: parts.merges, added: added, bos: parts.bos, eos: parts.eos,
                         pad: parts.pad, addBOSByDefault: parts.addBOS, chatTemplate: parts.chatTemplate)
    }
}

extension Tokenizer {
    /// FNV-1a 64 over DeepSeek LLM's token strings (each followed by a zero byte), a 0x01 byte, then its merges (each
    /// followed by a zero byte): llama.cpp's ggml-vocab-deepseek-llm.gguf, 102400 tokens, 99757 merges.
    static let deepSeekLLMVocabularyHash: UInt64 = 0xc6cc3f3688d6f6e8
    static let deepSeekLLMTokenCount = 102400

    /// Whether a GGUF's tokens and merges are exactly DeepSeek LLM's (size first, then the hash: ~20 ms).
    static func isDeepSeekLLMVocabulary(_ gguf: GGUFFile) throws -> Bool {
        guard case .array(let tokens)? = gguf["tokenizer.ggml.tokens"], tokens.elementType == .string,
              tokens.count == deepSeekLLMTokenCount,
              case .array(let merges)? = gguf["tokenizer.ggml.merges"], merges.elementType == .string else { return false }
        var h: UInt64 = 0xcbf29ce484222325
        func feed(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        for i in 0..<tokens.count {
            for b in tokens.stringBytes(at: i) { feed(b) }
            feed(0)
        }
        feed(1)
        for i in 0..<merges.count {
            for b in merges.stringBytes(at: i) { feed(b) }
            feed(0)
        }
        return h == deepSeekLLMVocabularyHash
    }

    /// A one-line notice on stderr (how the file was understood; not an error).
    static func notice(_ message: String) {
        FileHandle.standardError.write(Data("notice: \(message)\n".utf8))
    }
}
