import Synchronization

/// How a vocabulary entry is used (GGUF `tokenizer.ggml.token_type` numbering).
public enum TokenType: Int32, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// What to do with bytes that are not valid UTF-8.
public enum InvalidUTF8Policy: Sendable {
    /// Throw `TokenizerError.invalidUTF8` with the byte offset.
    case error
    /// Replace each invalid byte with U+FFFD, as llama.cpp does.
    case replace
}

public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidUTF8(offset: Int)
    case invalidFile(String)
    case unsupported(String)
    case invalidTokenID(TokenID, vocabularySize: Int)

    public var description: String {
        switch self {
        case .invalidUTF8(let offset): return "input is not valid UTF-8 at byte offset \(offset)"
        case .invalidFile(let s): return s
        case .unsupported(let s): return "unsupported tokenizer: \(s)"
        case .invalidTokenID(let id, let n): return "token id \(id) is outside the vocabulary (0..<\(n))"
        }
    }
}

/// A byte-level BPE tokenizer (DeepSeek LLM, and GPT-2 style vocabularies).
///
/// Immutable and `Sendable`; encoding borrows per-thread scratch state from a small pool, so
/// repeated calls allocate little and keep their piece caches warm.
public final class Tokenizer: Sendable {
    public let preTokenizer: PreTokenizerKind
    public let bosID: TokenID?
    public let eosID: TokenID?
    public let padID: TokenID?
    /// Whether the vocabulary asks for BOS by default (`add_bos_token`); `encode` still adds it only when asked.
    public let addBOSByDefault: Bool
    public let chatTemplate: String?
    /// The file this tokenizer came from (for messages).
    public let source: String

    let types: [TokenType]
    /// Stored form of each token (byte-level text for normal tokens), UTF-8, in one arena.
    let textArena: [UInt8]
    let textOffsets: [Int32]
    /// Decoded bytes of each token, in one arena.
    let bytesArena: [UInt8]
    let bytesOffsets: [Int32]
    let model: BPEModel
    let merges: MergeList
    let added: AddedTokenMatcher
    let pool = Mutex<[EncoderState]>([])

    init(source: String, preTokenizer: PreTokenizerKind, types: [TokenType], textArena: [UInt8],
         textOffsets: [Int32], bytesArena: [UInt8], bytesOffsets: [Int32], model: BPEModel,
         merges: MergeList, added: AddedTokenMatcher, bos: TokenID?, eos: TokenID?, pad: TokenID?, addBOSByDefault: Bool,
         chatTemplate: String?) {
        self.source = source
        self.preTokenizer = preTokenizer
        self.types = types
        self.textArena = textArena
        self.textOffsets = textOffsets
        self.bytesArena = bytesArena
        self.bytesOffsets = bytesOffsets
        self.model = model
        self.merges = merges
        self.added = added
        self.bosID = bos
        self.eosID = eos
        self.padID = pad
        self.addBOSByDefault = addBOSByDefault
        self.chatTemplate = chatTemplate
    }

    /// Number of ids, including special and padding entries (102400 for DeepSeek LLM).
    public var vocabularySize: Int { types.count }
    public var mergeCount: Int { model.mergeCount }

    public func tokenType(_ id: TokenID) -> TokenType { types[Int(id)] }

    /// The token as stored in the vocabulary (byte-level form for normal tokens: "Ġthe").
    public func tokenText(_ id: TokenID) -> String {
        let i = Int(id)
        return textArena.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[Int(textOffsets[i])..<Int(textOffsets[i + 1])]),
                   as: UTF8.self)
        }
    }

    /// The raw bytes a token stands for.
    public func tokenBytes(_ id: TokenID) -> ArraySlice<UInt8> {
        let i = Int(id)
        return bytesArena[Int(bytesOffsets[i])..<Int(bytesOffsets[i + 1])]
    }

    /// Id of an exact vocabulary entry in stored form, if any.
    public func id(forTokenText text: String) -> TokenID? {
        added.id(forExact: Array(text.utf8)) ?? vocabularyLookup(Array(text.utf8))
    }

    func vocabularyLookup(_ storedForm: [UInt8]) -> TokenID? {
        // Linear scan is fine for this rare query (CLI and tests); the hot path never needs it.
        for i in 0..<types.count {
            let s = Int(textOffsets[i]), e = Int(textOffsets[i + 1])
            if e - s == storedForm.count && textArena[s..<e].elementsEqual(storedForm) { return TokenID(i) }
        }
        return nil
    }

    // MARK: Encoding

    /// Encodes text. Special tokens written in the text (e.g. `<｜end▁of▁sentence｜>`) become their ids
    /// when `parseSpecial` is true; user-defined added tokens (DeepSeek's `ü` → 100014) always do.
    public func encode(_ text: String, addBOS: Bool = false, parseSpecial: Bool = true) -> [TokenID] {
        var text = text
        return text.withUTF8 { buf in
            var out: [TokenID] = []
            out.reserveCapacity(buf.count / 3 + 2)
            if addBOS, let bos = bosID { out.append(bos) }
            withEncoderState { state in encodeValid(buf, parseSpecial: parseSpecial, into: &out, state: &state) }
            return out
        }
    }

    /// Encodes raw bytes, which must be UTF-8 (or are repaired, with `.replace`).
    public func encode(bytes: UnsafeBufferPointer<UInt8>, addBOS: Bool = false, parseSpecial: Bool = true,
                       invalidUTF8: InvalidUTF8Policy = .error) throws(TokenizerError) -> [TokenID] {
        var out: [TokenID] = []
        if addBOS, let bos = bosID { out.append(bos) }
        if let bad = firstInvalidUTF8(bytes) {
            if invalidUTF8 == .error { throw .invalidUTF8(offset: bad) }
            let repaired = replaceInvalidUTF8(bytes)
            repaired.withUnsafeBufferPointer { buf in
                withEncoderState { encodeValid(buf, parseSpecial: parseSpecial, into: &out, state: &$0) }
            }
            return out
        }
        out.reserveCapacity(bytes.count / 3 + 2)
        withEncoderState { encodeValid(bytes, parseSpecial: parseSpecial, into: &out, state: &$0) }
        return out
    }

    public func encode(bytes: [UInt8], addBOS: Bool = false, parseSpecial: Bool = true,
                       invalidUTF8: InvalidUTF8Policy = .error) throws(TokenizerError) -> [TokenID] {
        try bytes.withUnsafeBufferPointer { (buf) throws(TokenizerError) in
            try encode(bytes: buf, addBOS: addBOS, parseSpecial: parseSpecial, invalidUTF8: invalidUTF8)
        }
    }

    func withEncoderState<R>(_ body: (inout EncoderState) -> R) -> R {
        var state = pool.withLock { $0.popLast() } ?? EncoderState()
        let r = body(&state)
        pool.withLock { if $0.count < 64 { $0.append(state) } }
        return r
    }

    /// The encode loop over valid UTF-8: added tokens first, then pre-tokenizer pieces through BPE.
    func encodeValid(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, into out: inout [TokenID],
                     state: inout EncoderState) {
        guard let base = text.baseAddress, text.count > 0 else { return }
        var segmentStart = 0
        added.scan(text, parseSpecial: parseSpecial) { start, end, id in
            if start > segmentStart {
                encodeSegment(base + segmentStart, start - segmentStart, into: &out, state: &state)
            }
            out.append(id)
            segmentStart = end
        }
        if segmentStart < text.count {
            encodeSegment(base + segmentStart, text.count - segmentStart, into: &out, state: &state)
        }
    }

    private func encodeSegment(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [TokenID],
                               state: inout EncoderState) {
        let segment = UnsafeBufferPointer(start: p, count: n)
        preTokenizer.split(segment, scratch: &state.scratch) { s, e in
            let len = e - s
            if len == 1 {
                out.append(model.byteToken[Int(p[s])])
            } else if state.cache.lookup(p + s, len, into: &out) {
                return
            } else {
                let before = out.count
                model.encode(p + s, len, into: &out, work: &state.work)
                out.withUnsafeBufferPointer {
                    state.cache.insert(p + s, len, ids: UnsafeBufferPointer(start: $0.baseAddress! + before, count: $0.count - before))
                }
            }
        }
    }

    // MARK: Decoding

    /// Bytes of the ids, concatenated. Control tokens (BOS/EOS) render as their text unless `skipSpecial`.
    public func decodeBytes(_ ids: [TokenID], skipSpecial: Bool = false) throws(TokenizerError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0, Int(id) < types.count else { throw .invalidTokenID(id, vocabularySize: types.count) }
            if skipSpecial && types[Int(id)] == .control { continue }
            out.append(contentsOf: tokenBytes(id))
        }
        return out
    }

    /// Decoded text; invalid UTF-8 (possible for an arbitrary id sequence) becomes U+FFFD.
    public func decode(_ ids: [TokenID], skipSpecial: Bool = false) throws(TokenizerError) -> String {
        String(decoding: try decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }
}

/// Per-thread encoding state.
struct EncoderState {
    var scratch = PreTokenizerScratch()
    var work = BPEWork()
    var cache = PieceCache()
}
